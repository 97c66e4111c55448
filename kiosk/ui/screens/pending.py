"""pending: the kiosk has the resident's verification (sealed, in its outbox) but the bureau
has not answered yet. The receipt names it by its pending reference; the resident need not
come back: the kiosk delivers it when the connection returns."""

from __future__ import annotations

from kivy.properties import StringProperty

from kiosk.ui.widgets import load_kv
from kiosk.ui.widgets.frame import KioskScreen


class PendingScreen(KioskScreen):
    reference = StringProperty("")  # personal

    def refresh(self, flow, runner) -> None:
        super().refresh(flow, runner)
        self.reference = flow.ctx.pending_reference or ""

    def clear(self) -> None:
        super().clear()
        self.reference = ""


SCREEN = PendingScreen
load_kv(__file__)
