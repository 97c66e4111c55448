"""receipt: done. The reference is on screen too (and is what to note when the printer
failed: the flow's message says so)."""

from __future__ import annotations

from kivy.properties import StringProperty

from kiosk.ui.widgets import load_kv
from kiosk.ui.widgets.frame import KioskScreen


class ReceiptScreen(KioskScreen):
    reference = StringProperty("")  # personal

    def refresh(self, flow, runner) -> None:
        super().refresh(flow, runner)
        decision = flow.ctx.decision
        self.reference = (decision.reference or "") if decision is not None else ""

    def clear(self) -> None:
        super().clear()
        self.reference = ""


SCREEN = ReceiptScreen
load_kv(__file__)
