"""idle_warning: "Are you still there?" with the seconds left before the full reset. Any
touch on this screen means "yes, continue"."""

from __future__ import annotations

import math

from kivy.app import App
from kivy.properties import StringProperty

from kiosk.ui.widgets import load_kv
from kiosk.ui.widgets.frame import KioskScreen


class IdleWarningScreen(KioskScreen):
    seconds = StringProperty("")

    def update(self, flow, runner) -> None:
        remaining = flow.idle_remaining()
        self.seconds = "" if remaining is None else str(math.ceil(remaining))

    def on_touch_down(self, touch):
        if super().on_touch_down(touch):
            return True
        if self.collide_point(*touch.pos):
            App.get_running_app().tap("continue")
            return True
        return False


SCREEN = IdleWarningScreen
load_kv(__file__)
