"""printing: the kiosk is busy (the receipt is printing); the idle timer pauses."""

from __future__ import annotations

from kiosk.ui.widgets import load_kv
from kiosk.ui.widgets.frame import BusyScreen


class PrintingScreen(BusyScreen):
    pass


SCREEN = PrintingScreen
load_kv(__file__)
