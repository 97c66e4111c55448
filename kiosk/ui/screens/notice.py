"""notice: A request failed: the flow's message and the way back."""

from __future__ import annotations

from kiosk.ui.widgets import load_kv
from kiosk.ui.widgets.frame import KioskScreen


class NoticeScreen(KioskScreen):
    pass


SCREEN = NoticeScreen
load_kv(__file__)
