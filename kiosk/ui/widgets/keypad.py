"""The document-number keypad: digits, and letter keys only for documents whose numbers have
letters (kiosk/ui/docentry.py says which, at which position). Keys that cannot come next are
greyed out and do nothing, so the resident sees what the number still needs."""

from __future__ import annotations

from kivy.app import App
from kivy.properties import StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.widget import Widget

from kiosk.ui import docentry
from kiosk.ui.widgets import load_kv
from kiosk.ui.widgets.buttons import KeyButton


class Keypad(BoxLayout):
    doc_type = StringProperty("hkid")
    raw = StringProperty("")  # what has been typed (personal: cleared with the screen)

    def on_kv_post(self, _base_widget):
        digits = self.ids.digits
        for ch in "123456789":
            digits.add_widget(self._key(ch))
        digits.add_widget(Widget())
        digits.add_widget(self._key("0"))
        digits.add_widget(Widget())
        self._letters()
        self._enable()

    def _key(self, ch: str) -> KeyButton:
        return KeyButton(raw=ch, tid=f"key.{ch}", on_release=lambda _b, c=ch: self.press(c))

    def on_doc_type(self, *_):
        if "letters" in self.ids:
            self._letters()
            self._enable()

    def on_raw(self, *_):
        if "letters" in self.ids:
            self._enable()

    def press(self, ch: str) -> None:
        self.raw = docentry.accept(self.doc_type, self.raw, ch)
        App.get_running_app().touched()

    def delete(self, *_):
        """The last character typed goes (the screen's Delete key)."""
        self.raw = self.raw[:-1]
        App.get_running_app().touched()

    def clear_entry(self, *_):
        """Everything typed goes (the screen's Clear key)."""
        self.raw = ""
        App.get_running_app().touched()

    def _letters(self) -> None:
        box: GridLayout = self.ids.letters
        box.clear_widgets()
        letters = docentry.LETTER_KEYS[docentry.DocumentType(self.doc_type)]
        box.cols = 7 if len(letters) > 4 else 1
        # a letter key as wide as a digit key, but 26 letters get narrower keys
        box.size_hint_x = (1.5 if box.cols > 1 else 1 / 3) if letters else 0
        box.opacity = 1 if letters else 0
        for ch in letters:
            box.add_widget(self._key(ch))

    def _enable(self) -> None:
        allowed = docentry.allowed(self.doc_type, self.raw)
        for key in [*self.ids.letters.children, *self.ids.digits.children]:
            if isinstance(key, KeyButton):
                key.disabled = key.raw not in allowed


load_kv(__file__)
