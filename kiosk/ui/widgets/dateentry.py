"""Date of birth for an 80-year-old: year, month and day each with its own big − and + keys
(hold a key to run through the years), the value in large digits between them. No calendar
to page through, no tiny targets. The screen shows the chosen date written out below."""

from __future__ import annotations

import calendar
import datetime as dt

from kivy.app import App
from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk.ui.widgets import load_kv

DEFAULT = dt.date(1950, 1, 1)  # most pensioners were born within 15 years of it
EARLIEST_YEAR = 1900


class Stepper(BoxLayout):
    caption_key = StringProperty("")
    part = StringProperty("")  # year | month | day (names the keys: date.year.up ...)
    value = NumericProperty(1)
    minimum = NumericProperty(1)
    maximum = NumericProperty(12)
    wrap = BooleanProperty(True)  # month and day go round; the year stops at its ends

    def step(self, delta: int) -> None:
        value = int(self.value) + delta
        if value > self.maximum:
            value = self.minimum if self.wrap else int(self.maximum)
        elif value < self.minimum:
            value = self.maximum if self.wrap else int(self.minimum)
        self.value = value
        App.get_running_app().touched()


class DateEntry(BoxLayout):
    year = NumericProperty(DEFAULT.year)
    month = NumericProperty(DEFAULT.month)
    day = NumericProperty(DEFAULT.day)
    last_year = NumericProperty(dt.date.today().year)

    def on_month(self, *_):
        self._clamp()

    def on_year(self, *_):
        self._clamp()

    def days_in_month(self) -> int:
        return calendar.monthrange(int(self.year), int(self.month))[1]

    def _clamp(self) -> None:
        self.day = min(int(self.day), self.days_in_month())

    @property
    def date(self) -> dt.date:
        return dt.date(int(self.year), int(self.month), int(self.day))

    def set_date(self, day: dt.date) -> None:
        self.year, self.month = day.year, day.month
        self.day = day.day

    def reset(self) -> None:
        self.set_date(DEFAULT)


load_kv(__file__)
