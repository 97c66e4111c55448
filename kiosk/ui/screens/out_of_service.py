"""out_of_service: The kiosk cannot serve: a device or the back end is down."""

from __future__ import annotations

from kiosk.ui.widgets import load_kv
from kiosk.ui.widgets.frame import KioskScreen


class OutOfServiceScreen(KioskScreen):
    pass


SCREEN = OutOfServiceScreen
load_kv(__file__)
