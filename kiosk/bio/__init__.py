"""`kiosk bio`: the biometric pipeline from the command line (compare, evaluate)."""
