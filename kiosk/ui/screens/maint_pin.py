"""maint_pin: the technician PIN on a keypad of its own (digits only). The digits stay in the
keypad until confirmed, are then handed to the flow (which checks them off the UI thread) and
forgotten; the screen shows dots, never digits, and how many attempts are left or for how long
entry is locked."""

from __future__ import annotations

from kivy.app import App
from kivy.properties import DictProperty, StringProperty
from kivy.uix.gridlayout import GridLayout

from kiosk import formats
from kiosk.flow import events as ev
from kiosk.flow.maintenance import PIN_DIGITS
from kiosk.i18n import N_
from kiosk.ui.screens.maint_common import maint_view
from kiosk.ui.widgets import load_kv
from kiosk.ui.widgets.buttons import KeyButton
from kiosk.ui.widgets.frame import KioskScreen


class PinPad(GridLayout):
    """1-9, then Clear, 0, Delete; `raw` is what was typed (at most the longest PIN)."""

    raw = StringProperty("")

    def on_kv_post(self, _base_widget):
        for ch in "123456789":
            self.add_widget(self._key(ch))
        self.add_widget(
            KeyButton(key=N_("maint_pin.clear"), tid="key.clear", on_release=self.clear)
        )
        self.add_widget(self._key("0"))
        self.add_widget(
            KeyButton(key=N_("maint_pin.delete"), tid="key.delete", on_release=self.delete)
        )

    def _key(self, ch: str) -> KeyButton:
        return KeyButton(raw=ch, tid=f"key.{ch}", on_release=lambda _b, c=ch: self.press(c))

    def press(self, ch: str) -> None:
        if len(self.raw) < PIN_DIGITS[1]:
            self.raw += ch
        App.get_running_app().touched()

    def delete(self, *_):
        self.raw = self.raw[:-1]
        App.get_running_app().touched()

    def clear(self, *_):
        self.raw = ""
        App.get_running_app().touched()


class MaintPinScreen(KioskScreen):
    dots = StringProperty("")
    info_key = StringProperty("")
    info_params = DictProperty({})
    language_name = StringProperty("")

    def on_kv_post(self, _base_widget):
        self.ids.pad.bind(raw=self._show)

    def _show(self, *_):
        self.dots = " ".join("●" * len(self.ids.pad.raw))

    def refresh(self, flow, runner) -> None:
        super().refresh(flow, runner)
        view = maint_view(flow)
        self.language_name = formats.language_name(flow.ctx.language)
        if not view.pin_set:
            self.info_key, params = N_("maint_pin.no_pin_hint"), {}
        elif view.locked_minutes:
            self.info_key, params = N_("maint_pin.locked_for"), {"minutes": view.locked_minutes}
        elif view.checking:
            self.info_key, params = N_("maint_pin.checking"), {}
        else:
            self.info_key, params = N_("maint_pin.attempts"), {"attempts": view.attempts_left}
        if params != dict(self.info_params):
            self.info_params = params

    def confirm(self) -> None:
        pin, self.ids.pad.raw = self.ids.pad.raw, ""  # handed over, not kept
        App.get_running_app().post(ev.PinEntered(pin))

    def on_state_leave(self, flow, runner) -> None:
        self.ids.pad.raw = ""

    def clear(self) -> None:
        super().clear()
        self.ids.pad.raw = ""


SCREEN = MaintPinScreen
load_kv(__file__)
