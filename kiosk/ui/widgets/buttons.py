"""Big buttons. A button either names a flow action (`action`, with `choice` as the tapped
value: Tapped(action, choice)) or is handled by its owner (keypad keys, date steppers) through
`on_release`. `tid` names a button for tests and scenario drivers.

Kinds: one `primary` action per screen (>= 160 px high on the panel), `choice` tiles for equal
options, `secondary` for the rest, `key` for keypads and steppers, `status` for the status bar.
"""

from __future__ import annotations

from kivy.app import App
from kivy.clock import Clock
from kivy.properties import (
    BooleanProperty,
    ListProperty,
    NumericProperty,
    ObjectProperty,
    OptionProperty,
    StringProperty,
)
from kivy.uix.behaviors import ButtonBehavior

from kiosk.ui import theme
from kiosk.ui.widgets import load_kv
from kiosk.ui.widgets.text import KLabel


class BigButton(ButtonBehavior, KLabel):
    kind = OptionProperty("secondary", options=list(theme.BUTTON_PX))
    action = StringProperty("")
    choice = ObjectProperty(None, allownone=True)
    tid = StringProperty("")
    selected = BooleanProperty(False)
    fit_width = BooleanProperty(False)  # as wide as its text (status bar)
    tall = NumericProperty(1.0)  # height as a multiple of its kind's
    colours = ListProperty(theme.BUTTON_COLOURS["secondary"])
    repeat = BooleanProperty(False)  # held down: on_release again and again (steppers)
    repeat_delay = NumericProperty(0.6)
    repeat_interval = NumericProperty(0.12)

    def __init__(self, **kwargs):
        self._repeater = None
        super().__init__(**kwargs)
        self._colours()

    def on_fit_width(self, *_):
        self.wrap = not self.fit_width
        if self.fit_width:
            self.size_hint_x = None
            self._fit()

    def on_texture_size(self, *_):
        if self.fit_width:
            self._fit()

    def _fit(self) -> None:
        app = App.get_running_app()
        self.width = self.texture_size[0] + 2 * theme.SPACING_PX * (app.px if app else 1)

    def on_kind(self, *_):
        self._colours()

    def on_selected(self, *_):
        self._colours()

    def _colours(self) -> None:
        self.colours = theme.BUTTON_COLOURS["selected" if self.selected else self.kind]

    @property
    def ground_rgba(self):
        return self.colours[2] if self.state == "down" else self.colours[1]

    def on_release(self):
        if self.action:
            App.get_running_app().tap(self.action, self.choice)

    # Holding a stepper key repeats it, so a year forty years back is one long press.
    def on_press(self):
        if self.repeat:
            self._cancel_repeat()
            self._repeater = Clock.schedule_once(self._start_repeat, self.repeat_delay)

    def on_touch_up(self, touch):
        if touch.grab_current is self:
            self._cancel_repeat()
        return super().on_touch_up(touch)

    def _start_repeat(self, _dt):
        self._repeater = Clock.schedule_interval(self._repeat, self.repeat_interval)

    def _repeat(self, _dt):
        if self.state != "down":
            self._cancel_repeat()
            return False
        self.dispatch("on_release")
        return True

    def _cancel_repeat(self) -> None:
        if self._repeater is not None:
            self._repeater.cancel()
            self._repeater = None


class PrimaryButton(BigButton):
    pass


class ChoiceButton(BigButton):
    pass


class KeyButton(BigButton):
    pass


class StatusButton(BigButton):
    pass


load_kv(__file__)
