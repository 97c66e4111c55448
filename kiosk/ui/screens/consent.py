"""consent: Consent to the biometric check."""

from __future__ import annotations

from kiosk.ui.widgets import load_kv
from kiosk.ui.widgets.frame import KioskScreen


class ConsentScreen(KioskScreen):
    pass


SCREEN = ConsentScreen
load_kv(__file__)
