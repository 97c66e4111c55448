"""attract: what the kiosk offers, cycling through the four languages; any touch starts."""

from __future__ import annotations

from kivy.properties import StringProperty

from kiosk.ui.widgets import load_kv
from kiosk.ui.widgets.frame import KioskScreen


class AttractScreen(KioskScreen):
    language = StringProperty("zh_Hant_HK")  # the language the loop shows now

    def update(self, flow, runner) -> None:
        self.language = flow.attract_language()


SCREEN = AttractScreen
load_kv(__file__)
