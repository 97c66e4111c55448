"""finger_capture: which finger, on the sensor, and how the reading goes."""

from __future__ import annotations

from kivy.properties import NumericProperty, StringProperty

from kiosk.ui.widgets import load_kv
from kiosk.ui.widgets.frame import BusyScreen
from kiosk.ui.widgets.hands import FINGER_KEYS


class FingerCaptureScreen(BusyScreen):
    finger_key = StringProperty("")
    step_key = StringProperty("")
    progress = NumericProperty(0.0)

    def refresh(self, flow, runner) -> None:
        super().refresh(flow, runner)
        self.finger_key = FINGER_KEYS.get(flow.ctx.finger_position or 0, "")

    def update(self, flow, runner) -> None:
        progress = runner.progress
        if progress is not None:
            self.step_key, self.progress = progress[0], float(progress[1])

    def on_state_leave(self, flow, runner) -> None:
        super().on_state_leave(flow, runner)
        self.step_key, self.progress = "", 0.0

    def clear(self) -> None:
        super().clear()
        self.finger_key = self.step_key = ""
        self.progress = 0.0


SCREEN = FingerCaptureScreen
load_kv(__file__)
