"""staff_review: Sent to staff for review; the receipt can be printed."""

from __future__ import annotations

from kiosk.ui.widgets import load_kv
from kiosk.ui.widgets.frame import KioskScreen


class StaffReviewScreen(KioskScreen):
    pass


SCREEN = StaffReviewScreen
load_kv(__file__)
