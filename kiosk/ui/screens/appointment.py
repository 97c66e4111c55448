"""appointment: Every rung used: an appointment is requested."""

from __future__ import annotations

from kiosk.ui.widgets import load_kv
from kiosk.ui.widgets.frame import KioskScreen


class AppointmentScreen(KioskScreen):
    pass


SCREEN = AppointmentScreen
load_kv(__file__)
