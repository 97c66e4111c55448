"""consent: consent to the biometric check, with the notice of the jurisdiction the kiosk
stands in (which law protects the data, and that it goes to Jiangmen)."""

from __future__ import annotations

from kivy.properties import StringProperty

from kiosk.flow.context import CONSENT_NOTICES
from kiosk.ui.widgets import load_kv
from kiosk.ui.widgets.frame import KioskScreen


class ConsentScreen(KioskScreen):
    notice_key = StringProperty("")  # the law that applies where the kiosk stands

    def refresh(self, flow, runner) -> None:
        super().refresh(flow, runner)
        self.notice_key = CONSENT_NOTICES[flow.settings.jurisdiction]


SCREEN = ConsentScreen
load_kv(__file__)
