"""language: Choose the language (each button in its own language)."""

from __future__ import annotations

from kiosk.ui.widgets import load_kv
from kiosk.ui.widgets.frame import KioskScreen


class LanguageScreen(KioskScreen):
    pass


SCREEN = LanguageScreen
load_kv(__file__)
