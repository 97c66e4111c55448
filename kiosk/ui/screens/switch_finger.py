"""switch_finger: The face could not be confirmed: fingerprint next."""

from __future__ import annotations

from kiosk.ui.widgets import load_kv
from kiosk.ui.widgets.frame import KioskScreen


class SwitchFingerScreen(KioskScreen):
    pass


SCREEN = SwitchFingerScreen
load_kv(__file__)
