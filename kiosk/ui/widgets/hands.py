"""Finger choice: both hands drawn as the resident sees them, held palm down in front of the
screen (left hand on the left). Fingers with an enrolled reference are blue and can be
touched; the others are grey and do nothing. ISO/IEC 19794-2 positions: 1 right thumb ...
5 right little, 6 left thumb ... 10 left little."""

from __future__ import annotations

from kivy.app import App
from kivy.properties import BooleanProperty, ListProperty, NumericProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.widget import Widget

from kiosk.i18n import N_
from kiosk.ui.widgets import load_kv

FINGER_KEYS = {
    1: N_("finger.1"),
    2: N_("finger.2"),
    3: N_("finger.3"),
    4: N_("finger.4"),
    5: N_("finger.5"),
    6: N_("finger.6"),
    7: N_("finger.7"),
    8: N_("finger.8"),
    9: N_("finger.9"),
    10: N_("finger.10"),
}

# Each finger's place in its hand's box as (x, y, w, h) fractions, for the right hand from
# the thumb outwards; the left hand is its mirror image.
_RIGHT = {
    1: (0.02, 0.20, 0.17, 0.34),  # thumb, low at the side
    2: (0.24, 0.40, 0.16, 0.52),
    3: (0.43, 0.40, 0.16, 0.58),
    4: (0.62, 0.40, 0.16, 0.52),
    5: (0.81, 0.40, 0.15, 0.40),
}


def finger_box(position: int) -> tuple[float, float, float, float]:
    if position <= 5:
        return _RIGHT[position]
    x, y, w, h = _RIGHT[position - 5]
    return (1 - x - w, y, w, h)


class Finger(ButtonBehavior, Widget):
    position = NumericProperty(1)
    enrolled = BooleanProperty(False)
    chosen = BooleanProperty(False)

    @property
    def tid(self) -> str:
        return f"finger.{self.position}"

    def on_release(self):
        if self.enrolled:
            App.get_running_app().tap("choose", int(self.position))


class Hand(FloatLayout):
    right = BooleanProperty(True)
    palm_x = NumericProperty(0)
    enrolled = ListProperty([])
    chosen = NumericProperty(0)

    def on_kv_post(self, _base_widget):
        for position in range(1, 6) if self.right else range(6, 11):
            x, y, w, h = finger_box(position)
            finger = Finger(
                position=position, pos_hint={"x": x, "y": y}, size_hint=(w, h), disabled=True
            )
            self.add_widget(finger)
        self._mark()

    def on_enrolled(self, *_):
        self._mark()

    def on_chosen(self, *_):
        self._mark()

    def _mark(self) -> None:
        for finger in self.children:
            if isinstance(finger, Finger):
                finger.enrolled = finger.position in self.enrolled
                finger.disabled = not finger.enrolled
                finger.chosen = finger.position == self.chosen


class HandChooser(BoxLayout):
    enrolled = ListProperty([])
    chosen = NumericProperty(0)


load_kv(__file__)
