"""face_capture: the live picture with the face-guide oval, the liveness prompt of the
moment (what the capture reports as progress) and the flow's coaching line."""

from __future__ import annotations

from kivy.properties import NumericProperty, StringProperty

from kiosk.ui.widgets import load_kv
from kiosk.ui.widgets.frame import KioskScreen


class FaceCaptureScreen(KioskScreen):
    step_key = StringProperty("")
    progress = NumericProperty(0.0)

    def update(self, flow, runner) -> None:
        progress = runner.progress
        if progress is not None:
            self.step_key, self.progress = progress[0], float(progress[1])

    def show_frame(self, frame) -> None:
        self.ids.preview.show_frame(frame)

    def on_state_leave(self, flow, runner) -> None:
        self.ids.preview.clear()  # a frame of a face is biometric data
        self.step_key, self.progress = "", 0.0

    def clear(self) -> None:
        super().clear()
        self.ids.preview.clear()
        self.step_key, self.progress = "", 0.0


SCREEN = FaceCaptureScreen
load_kv(__file__)
