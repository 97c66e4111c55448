"""confirm_name: the masked name the back end found ("陳*明 — is this you?")."""

from __future__ import annotations

from kivy.properties import StringProperty

from kiosk.ui.widgets import load_kv
from kiosk.ui.widgets.frame import KioskScreen


class ConfirmNameScreen(KioskScreen):
    name_zh = StringProperty("")  # personal
    name_en = StringProperty("")  # personal

    def refresh(self, flow, runner) -> None:
        super().refresh(flow, runner)
        self.name_zh = flow.ctx.masked_name_zh or ""
        self.name_en = flow.ctx.masked_name_en or ""

    def clear(self) -> None:
        super().clear()
        self.name_zh = self.name_en = ""


SCREEN = ConfirmNameScreen
load_kv(__file__)
