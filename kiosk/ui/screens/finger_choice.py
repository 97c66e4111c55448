"""finger_choice: both hands with the enrolled fingers highlighted, and a named button for
each enrolled finger (easier to read than a drawing)."""

from __future__ import annotations

from kivy.properties import ListProperty, NumericProperty

from kiosk.ui.widgets import load_kv
from kiosk.ui.widgets.buttons import BigButton
from kiosk.ui.widgets.frame import KioskScreen
from kiosk.ui.widgets.hands import FINGER_KEYS

MAX_NAMED = 4  # more enrolled fingers than this: the drawing alone (the column would overflow)


class FingerChoiceScreen(KioskScreen):
    enrolled = ListProperty([])
    chosen = NumericProperty(0)

    def refresh(self, flow, runner) -> None:
        super().refresh(flow, runner)
        session = flow.ctx.session
        enrolled = sorted(session.enrolled_fingers) if session is not None else []
        self.chosen = flow.ctx.finger_position or 0
        if enrolled != list(self.enrolled):
            self.enrolled = enrolled

    def on_enrolled(self, *_):
        column = self.ids.named
        column.clear_widgets()
        if len(self.enrolled) > MAX_NAMED:
            return
        for position in self.enrolled:
            column.add_widget(
                BigButton(
                    key=FINGER_KEYS[position],
                    action="choose",
                    choice=position,
                    tid=f"finger.{position}",
                )
            )

    def clear(self) -> None:
        super().clear()
        self.enrolled = []
        self.chosen = 0


SCREEN = FingerChoiceScreen
load_kv(__file__)
