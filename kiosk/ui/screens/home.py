"""home: The two services, help and language."""

from __future__ import annotations

from kiosk.ui.widgets import load_kv
from kiosk.ui.widgets.frame import KioskScreen


class HomeScreen(KioskScreen):
    pass


SCREEN = HomeScreen
load_kv(__file__)
