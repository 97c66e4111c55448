"""try_again: the check did not match; how many tries are left on this rung."""

from __future__ import annotations

from kivy.properties import DictProperty

from kiosk.api import contract as c
from kiosk.ui.widgets import load_kv
from kiosk.ui.widgets.frame import KioskScreen


class TryAgainScreen(KioskScreen):
    attempts = DictProperty({"count": ""})

    def refresh(self, flow, runner) -> None:
        super().refresh(flow, runner)
        session = flow.ctx.session
        if session is None:
            self.attempts = {"count": ""}
            return
        left = session.attempts_left
        finger = session.next_modality is c.Modality.FINGERPRINT
        self.attempts = {"count": str(left.fingerprint if finger else left.face)}

    def clear(self) -> None:
        super().clear()
        self.attempts = {"count": ""}


SCREEN = TryAgainScreen
load_kv(__file__)
