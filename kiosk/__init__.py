"""The Jiangmen pension kiosk application."""

__version__ = "0.1.0"
