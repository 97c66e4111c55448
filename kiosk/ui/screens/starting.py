"""starting: the kiosk is busy (opening a verification session); the idle timer pauses."""

from __future__ import annotations

from kiosk.ui.widgets import load_kv
from kiosk.ui.widgets.frame import BusyScreen


class StartingScreen(BusyScreen):
    pass


SCREEN = StartingScreen
load_kv(__file__)
