"""identifying: the kiosk is busy (looking the resident up); the idle timer pauses."""

from __future__ import annotations

from kiosk.ui.widgets import load_kv
from kiosk.ui.widgets.frame import BusyScreen


class IdentifyingScreen(BusyScreen):
    pass


SCREEN = IdentifyingScreen
load_kv(__file__)
