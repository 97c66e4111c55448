"""The reference back end of the Jiangmen pension kiosk: the bureau's API, served for real."""

__version__ = "0.1.0"
