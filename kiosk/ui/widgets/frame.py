"""The frame every resident screen is drawn in, and the screen base class.

    ┌ StatusBar: language · larger text · help ───────────────────────────┐
    │ Title                                                               │
    │ Prompt                                                              │
    │ (the screen's own content)                                          │
    │ MessageLine (the flow's message, when there is one)                 │
    │ [secondary] [secondary]                                [ PRIMARY ]  │
    └─────────────────────────────────────────────────────────────────────┘

A screen's kv puts its widgets straight into a `Frame`: buttons go to the bottom row
(secondary ones left, the primary one right), everything else into the content area.
"""

from __future__ import annotations

from kivy.app import App
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import Screen
from kivy.uix.widget import Widget

from kiosk import formats
from kiosk.ui import theme
from kiosk.ui.widgets import load_kv
from kiosk.ui.widgets.buttons import BigButton, PrimaryButton, StatusButton
from kiosk.ui.widgets.text import KLabel


class KioskScreen(Screen):
    """One flow state. The app calls these hooks on the Kivy thread:

    - `on_state_enter(flow, runner)` when the flow enters this state;
    - `refresh(flow, runner)` after every event the flow handled while it is shown;
    - `update(flow, runner)` on every pump (countdowns, capture progress, camera frames);
    - `on_state_leave(flow, runner)` when the flow leaves it;
    - `clear()` on the flow's ClearPersonalData: forget every personal thing shown.
    """

    message_key = StringProperty("")
    ground_rgba = theme.BACKGROUND

    def on_state_enter(self, flow, runner) -> None:
        pass

    def on_state_leave(self, flow, runner) -> None:
        pass

    def refresh(self, flow, runner) -> None:
        self.message_key = flow.ctx.message_key or ""

    def update(self, flow, runner) -> None:
        pass

    def clear(self) -> None:
        self.message_key = ""


class BusyScreen(KioskScreen):
    """The kiosk is working (the flow's busy states): a turning arc while shown."""

    def _indicators(self):
        from kiosk.ui.widgets.busy import BusyIndicator

        return [w for w in self.walk(restrict=True) if isinstance(w, BusyIndicator)]

    def on_state_enter(self, flow, runner) -> None:
        for w in self._indicators():
            w.start()

    def on_state_leave(self, flow, runner) -> None:
        for w in self._indicators():
            w.stop()


class StatusBar(BoxLayout):
    """The languages (each named in itself, which says what they are), care mode (larger
    text), the voice level and help: on every screen where the resident may use them (the
    flow's GLOBAL actions)."""

    show_help = BooleanProperty(True)
    ground_rgba = theme.STATUS

    def on_kv_post(self, _base_widget):
        app = App.get_running_app()
        box = self.ids.languages
        for language in app.languages:
            button = StatusButton(
                raw=formats.language_name(language),
                lang=language,
                action="status.language",
                choice=language,
                tid=f"status.language.{language}",
            )
            button.selected = app.language == language
            app.bind(
                language=lambda _a, value, b=button, lg=language: setattr(
                    b, "selected", value == lg
                )
            )
            box.add_widget(button)
            button.bind(width=self._fit_languages)
        self._fit_languages()

    def _fit_languages(self, *_):
        box = self.ids.languages
        box.width = sum(c.width for c in box.children) + box.spacing * max(0, len(box.children) - 1)


class FrameBody(BoxLayout):
    pass


class FrameContent(BoxLayout):
    pass


class FrameActions(BoxLayout):
    """Secondary buttons on the left, the primary one on the right."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._spacer = Widget()
        super().add_widget(self._spacer)

    PRIMARY_WIDTH = 0.36  # of the panel's width
    SECONDARY_WIDTH = 0.22

    def add_widget(self, widget, *args, **kwargs):
        if isinstance(widget, BigButton):
            widget.size_hint_x = None
        if isinstance(widget, PrimaryButton):
            return super().add_widget(widget, index=0)
        # Left of the spacer, after the buttons already there.
        index = self.children.index(self._spacer) + 1
        return super().add_widget(widget, index=index)

    def do_layout(self, *args):
        px = App.get_running_app().px
        buttons = [w for w in self.children if isinstance(w, BigButton)]
        primary = [w for w in buttons if isinstance(w, PrimaryButton)]
        others = [w for w in buttons if not isinstance(w, PrimaryButton)]
        primary_width = theme.PANEL_WIDTH_PX * self.PRIMARY_WIDTH * px
        for w in primary:
            w.width = primary_width
        if others:
            # As wide as the panel allows, narrower when there are many.
            room = self.width - self.padding[0] - self.padding[2] - len(primary) * primary_width
            room -= self.spacing * len(self.children)
            each = min(theme.PANEL_WIDTH_PX * self.SECONDARY_WIDTH * px, room / len(others))
            for w in others:
                w.width = each
        heights = [theme.BUTTON_PX["primary"] * px, *(w.height for w in buttons)]
        self.height = max(heights) if buttons else 0
        super().do_layout(*args)


class FrameFoot(Widget):
    pass


class Frame(BoxLayout):
    title_key = StringProperty("")
    title_role = StringProperty("title")
    prompt_key = StringProperty("")
    message_key = StringProperty("")
    lang = StringProperty("")  # "" = the app's language (the attract loop sets its own)
    status = BooleanProperty(True)
    show_help = BooleanProperty(True)

    def add_widget(self, widget, *args, **kwargs):
        if isinstance(widget, StatusBar) and not self.status:
            self._bar = widget  # kept aside: the screen has no status bar
            return None
        if isinstance(widget, (StatusBar, FrameBody, FrameActions, FrameFoot)):
            return super().add_widget(widget, *args, **kwargs)
        if isinstance(widget, BigButton):
            return self._find(FrameActions).add_widget(widget, *args, **kwargs)
        return self._find(FrameContent).add_widget(widget, *args, **kwargs)

    def on_status(self, *_):
        bar = next((w for w in self.children if isinstance(w, StatusBar)), None)
        if not self.status and bar is not None:
            self._bar = bar
            self.remove_widget(bar)
        elif self.status and bar is None and getattr(self, "_bar", None) is not None:
            super().add_widget(self._bar, index=len(self.children))

    def _find(self, cls):
        for w in self.walk(restrict=True):
            if isinstance(w, cls):
                return w
        raise LookupError(f"{cls.__name__} not built yet")


class Title(KLabel):
    pass


load_kv(__file__)
