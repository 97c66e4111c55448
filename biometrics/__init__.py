"""Biometric computation shared by the kiosk, the back end and `kiosk bio`: frames and images
in, numbers out. No UI, no network, no device access."""
