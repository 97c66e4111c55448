"""processing: the kiosk is busy (the back end decides); the idle timer pauses."""

from __future__ import annotations

from kiosk.ui.widgets import load_kv
from kiosk.ui.widgets.frame import BusyScreen


class ProcessingScreen(BusyScreen):
    pass


SCREEN = ProcessingScreen
load_kv(__file__)
