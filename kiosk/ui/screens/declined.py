"""declined: Consent declined: the counter and appointments instead."""

from __future__ import annotations

from kiosk.ui.widgets import load_kv
from kiosk.ui.widgets.frame import KioskScreen


class DeclinedScreen(KioskScreen):
    pass


SCREEN = DeclinedScreen
load_kv(__file__)
