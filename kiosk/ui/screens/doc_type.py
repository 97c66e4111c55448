"""doc_type: Which identity document the resident brought."""

from __future__ import annotations

from kiosk.ui.widgets import load_kv
from kiosk.ui.widgets.frame import KioskScreen


class DocTypeScreen(KioskScreen):
    pass


SCREEN = DocTypeScreen
load_kv(__file__)
