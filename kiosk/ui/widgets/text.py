"""Text by message key.

`KLabel.key` names the text; the label shows `kiosk.i18n.text(key, language, **params)` in its
own `lang` or, when that is empty, the app's current language, and is drawn in that
language's font. `raw` is for what is not a message: personal data and numbers, which a
screen sets and its `clear()` empties again.
"""

from __future__ import annotations

from kivy.properties import (
    BooleanProperty,
    DictProperty,
    NumericProperty,
    OptionProperty,
    StringProperty,
)
from kivy.uix.label import Label

from kiosk.ui import theme
from kiosk.ui.widgets import load_kv


class KLabel(Label):
    key = StringProperty("")
    params = DictProperty({})
    raw = StringProperty("")
    lang = StringProperty("")  # "" = the app's language
    role = OptionProperty("body", options=list(theme.ROLE_PX))
    tone = OptionProperty("text", options=list(theme.TONES))
    # Larger in care mode (most text); keypad legends are large already and stay put.
    care_scaled = BooleanProperty(True)
    # Wrapped at the label's width less `inset` on each side; or one line as long as the text
    # (set in Python, not by kv rules: a rule and a subclass's rule binding the same property
    # would both stay bound).
    wrap = BooleanProperty(True)
    inset = NumericProperty(0)

    def on_size(self, *_):
        self._wrap()

    def on_wrap(self, *_):
        self._wrap()

    def on_inset(self, *_):
        self._wrap()

    def _wrap(self) -> None:
        if self.wrap:
            self.text_size = (max(1, self.width - 2 * self.inset), None)
        else:
            self.text_size = (None, None)


class FlowLabel(KLabel):
    """As tall as its text, wrapped at its width."""


class MessageLine(FlowLabel):
    """The flow's message for the current screen (coaching, an error); gone when empty."""

    ground_rgba = theme.MESSAGE


class EntryLabel(FlowLabel):
    """What the resident entered or must check (a number, a name, a reference), boxed."""

    ground_rgba = theme.WHITE


load_kv(__file__)
