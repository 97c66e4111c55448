"""The kiosk is working: a turning arc (busy screens) and a progress meter (captures)."""

from __future__ import annotations

from kivy.animation import Animation
from kivy.properties import NumericProperty
from kivy.uix.widget import Widget

from kiosk.ui.widgets import load_kv


class BusyIndicator(Widget):
    angle = NumericProperty(0)

    def start(self) -> None:
        self.stop()
        self._anim = Animation(angle=360, duration=1.6)
        self._anim.bind(on_complete=lambda *_: self._again())
        self._anim.start(self)

    def _again(self) -> None:
        self.angle = 0
        if getattr(self, "_anim", None) is not None:
            self._anim.start(self)

    def stop(self) -> None:
        anim = getattr(self, "_anim", None)
        self._anim = None
        if anim is not None:
            anim.cancel(self)


class ProgressMeter(Widget):
    value = NumericProperty(0.0)  # 0..1


load_kv(__file__)
