"""Adapters between drivers (real or simulated) and the flow's ports (kiosk/flow/ports.py)."""
