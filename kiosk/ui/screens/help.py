"""help: Help: call staff, or go back where the resident was."""

from __future__ import annotations

from kiosk.ui.widgets import load_kv
from kiosk.ui.widgets.frame import KioskScreen


class HelpScreen(KioskScreen):
    pass


SCREEN = HelpScreen
load_kv(__file__)
