"""The resident's kiosk: a Kivy App that draws the flow (kiosk/flow) one screen per state.

The app owns a `Runner` and is its owner thread: it pumps the runner's event queue on the
Kivy clock, sends a `Tick` every half second, and turns touches into events (`Tapped`,
`Touched`, `DocumentEntered`, `BirthDateEntered`). Worker threads only ever post events to the
runner; every widget is touched on the Kivy thread alone. The UI decides nothing: it shows the
screen named by `flow.state` and what `flow.ctx` holds, and forgets everything personal when
the flow says `ClearPersonalData`.

Construct it with everything injected (the runner, its devices, a camera frame source), so
the same app serves the kiosk, the tour, the scenarios and the tests. Configure Kivy first
(kiosk.ui.configure_kivy): this module opens the window when imported.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.screenmanager import NoTransition, ScreenManager

from kiosk import i18n
from kiosk.flow import effects as fx
from kiosk.flow import events as ev
from kiosk.flow import maintenance as mt
from kiosk.flow.context import VOLUME_KEYS
from kiosk.flow.machine import SCREENS
from kiosk.flow.runner import Runner
from kiosk.ui import theme
from kiosk.ui.widgets import fonts

log = logging.getLogger(__name__)

FrameSource = Callable[[], np.ndarray | None]


class ScreenStack(ScreenManager):
    """Every touch anywhere restarts the flow's idle timer (after the widgets had it). A press
    held still for `mt.ENTRY_PRESS_S` in the top-left corner of any screen opens maintenance
    mode (the flow first ends the resident's session)."""

    _hold = None  # (touch uid, clock event) of a press in the corner

    def on_touch_down(self, touch):
        handled = super().on_touch_down(touch)
        if not getattr(touch, "is_mouse_scrolling", False):
            app = App.get_running_app()
            app.touched()
            if self._in_corner(touch) and not app.flow.maint.active:
                self._cancel_hold()
                event = Clock.schedule_once(self._held, mt.ENTRY_PRESS_S)
                self._hold = (touch.uid, event)
        return handled

    def on_touch_move(self, touch):
        if self._hold is not None and self._hold[0] == touch.uid and not self._in_corner(touch):
            self._cancel_hold()
        return super().on_touch_move(touch)

    def on_touch_up(self, touch):
        if self._hold is not None and self._hold[0] == touch.uid:
            self._cancel_hold()
        return super().on_touch_up(touch)

    def _in_corner(self, touch) -> bool:
        side = mt.ENTRY_CORNER_PX * App.get_running_app().px
        return touch.x <= side and touch.y >= Window.height - side

    def _held(self, _dt) -> None:
        self._hold = None
        App.get_running_app().tap(mt.ENTRY)

    def _cancel_hold(self) -> None:
        if self._hold is not None:
            self._hold[1].cancel()
            self._hold = None


class LazyScreens(dict):
    """state -> Screen, each built (and added to the manager) when first asked for."""

    def __init__(self, manager, create):
        super().__init__()
        self._manager, self._create = manager, create

    def __missing__(self, state: str):
        screen = self._create(state)
        self[state] = screen
        self._manager.add_widget(screen)
        return screen


class FlowApp(App):
    language = StringProperty(i18n.DEFAULT_LANGUAGE)
    care_mode = BooleanProperty(False)
    volume = StringProperty("normal")  # the flow's voice level: normal / quiet / off
    px = NumericProperty(1.0)  # panel pixels -> window pixels (window height / 1080)
    tx = NumericProperty(1.0)  # text scale: px, and x1.25 in care mode
    state = StringProperty("")  # the state whose screen is shown

    def __init__(
        self,
        runner: Runner,
        *,
        frame_source: FrameSource | None = None,
        speaker=None,
        key_sink: Callable[[str], None] | None = None,
        start_runner: bool = True,
        pump_interval: float = 1 / 30,
        tick_interval: float | None = 0.5,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.title = "Jiangmen pension self-service"
        self.runner = runner
        self.flow = runner.flow
        self.frame_source = frame_source
        self.speaker = speaker  # kiosk.ui.speaker.KivySpeaker; its level follows the flow's
        self.key_sink = key_sink  # a keyboard-wedge scanner's decoder: every key goes there
        self.languages = tuple(self.flow.settings.languages)
        self.language = self.flow.ctx.language
        self.screens: dict = {}
        self._start_runner = start_runner
        self._pump_interval = pump_interval
        self._tick_interval = tick_interval
        self._clocks = []

    # ------------------------------------------------------------------ Kivy

    def build(self):
        from kiosk.ui import screens  # registers the kv rules: after the window exists

        fonts.register()
        Window.clearcolor = theme.BACKGROUND
        Window.bind(size=self._rescale, on_request_close=self._on_request_close)
        if self.key_sink is not None:
            Window.bind(on_textinput=self._on_text, on_key_down=self._on_key)
        self._rescale()
        self.manager = ScreenStack(transition=NoTransition())
        self.screens = LazyScreens(self.manager, screens.create)
        self.screens[self.flow.state]  # the first screen now; the others once it is drawn
        previous = self.runner.on_effect

        def on_effect(effect: fx.Effect) -> None:
            if previous is not None:
                previous(effect)
            self._on_effect(effect)

        self.runner.on_effect = on_effect
        return self.manager

    def on_start(self):
        if self._start_runner:
            self.runner.start()
        self.sync()
        self._clocks.append(Clock.schedule_interval(self._build_one, 0))
        self._clocks.append(Clock.schedule_interval(self._pump, self._pump_interval))
        if self._tick_interval:
            self._clocks.append(Clock.schedule_interval(self._tick, self._tick_interval))

    def on_stop(self):
        for event in self._clocks:
            event.cancel()
        self._clocks.clear()

    def _on_request_close(self, _window, *args, source=None, **kwargs):
        # Esc (and the keyboard's close shortcuts) must never end the kiosk; a locked-down
        # kiosk refuses every close request.
        return source == "keyboard" or not self.on_request_close_allowed()

    def on_request_close_allowed(self) -> bool:
        return True

    # A wedge scanner types; the kiosk has no text field, so every key goes to its decoder.
    def _on_text(self, _window, text) -> None:
        for ch in text:
            self.key_sink(ch)

    def _on_key(self, _window, key, _scancode, _codepoint, _modifiers):
        if key in (13, 271):  # Enter, keypad Enter: what a scanner ends a scan with
            self.key_sink("enter")
        return False

    def on_care_mode(self, *_):
        self._rescale()

    def _rescale(self, *_):
        self.px = theme.scale(Window.height)
        self.tx = self.px * (theme.CARE_MODE_TEXT if self.care_mode else 1.0)

    # ------------------------------------------------------------------ used by kv rules

    def tr(self, key: str, language: str, params=None) -> str:
        return i18n.text(key, language, **(params or {}))

    def family(self, language: str) -> str:
        return fonts.family(language)

    def volume_key(self, level: str) -> str:
        return VOLUME_KEYS[level]

    # ------------------------------------------------------------------ touches to events

    def tap(self, action: str, value=None) -> None:
        self.post(ev.Tapped(action, value))

    def touched(self) -> None:
        self.post(ev.Touched())

    def enter_document(self, number: str) -> None:
        self.post(ev.DocumentEntered(number))

    def enter_birth_date(self, date) -> None:
        self.post(ev.BirthDateEntered(date))

    def post(self, event: ev.Event) -> None:
        """Kivy thread: the flow handles the event now; the screen follows."""
        self.runner.dispatch(event)
        self.sync()

    # ------------------------------------------------------------------ flow to screens

    def _pump(self, _dt) -> None:
        if self.runner.pump():
            self.sync()
        screen = self.screens[self.state]
        screen.update(self.flow, self.runner)
        if self.frame_source is not None and self.state in ("face_capture", "qr_scan"):
            frame = self.frame_source()
            if frame is not None:
                screen.show_frame(frame)

    def _build_one(self, _dt):
        """Builds one screen not yet built per frame, after the first is on the glass: the
        kiosk shows its start screen sooner and every screen is ready long before needed."""
        for state in SCREENS:
            if state not in self.screens:
                self.screens[state]
                return True
        return False

    def _tick(self, _dt) -> None:
        self.post(ev.Tick())

    def sync(self) -> None:
        """Shows the flow's state: its screen, its language, care mode, its data."""
        flow = self.flow
        self.language = flow.ctx.language
        self.care_mode = flow.ctx.care_mode
        self.volume = flow.ctx.volume
        if self.speaker is not None:
            self.speaker.level = flow.ctx.volume
        if flow.state != self.state:
            old = self.screens.get(self.state)
            if old is not None:
                old.on_state_leave(flow, self.runner)
            self.state = flow.state
            self.screens[self.state].on_state_enter(flow, self.runner)
            self.manager.current = self.state
        screen = self.screens[self.state]
        screen.refresh(flow, self.runner)
        screen.update(flow, self.runner)

    def _on_effect(self, effect: fx.Effect) -> None:
        if isinstance(effect, fx.ClearPersonalData):
            for screen in self.screens.values():
                screen.clear()
        elif isinstance(effect, fx.RestartApp):  # from maintenance mode
            self.exit_code = effect.exit_code
            Clock.schedule_once(lambda _dt: self.stop())

    @property
    def current_screen(self):
        return self.screens.get(self.state)
