"""A finger on the glass, scripted: touches dispatched to the window as MotionEvents at a
button's centre, one frame at a time on the Kivy clock. Used by `kiosk scenario` and by the UI
tests, so both tap through exactly what a resident would see and touch."""

from __future__ import annotations

import datetime as dt
import time
import traceback


def walk_visible(root):
    """Every widget under `root` that is drawn (an invisible parent hides its children)."""
    stack = [root]
    while stack:
        w = stack.pop()
        if w.opacity <= 0:
            continue
        yield w
        stack.extend(w.children)


class Touch:
    """One touch: `down()` then, a frame later, `up()`, through the event loop."""

    def __init__(self, x: float, y: float):
        from kivy.base import EventLoop
        from kivy.input.motionevent import MotionEvent

        class _Event(MotionEvent):
            def __init__(self, *args, **kwargs):
                kwargs.setdefault("is_touch", True)
                kwargs.setdefault("type_id", "touch")
                super().__init__(*args, **kwargs)
                self.profile = ["pos"]

            def depack(self, args):
                self.sx, self.sy = args["x"], args["y"]
                super().depack(args)

        win = EventLoop.window
        self.loop = EventLoop
        self.event = _Event(
            "scripted-touch",
            id(self),
            {"x": x / max(1, win.width - 1), "y": y / max(1, win.height - 1)},
        )

    def down(self) -> None:
        self.loop.post_dispatch_input("begin", self.event)

    def up(self) -> None:
        self.loop.post_dispatch_input("end", self.event)


class Driver:
    """Runs a script (a generator taking the driver) one frame at a time on the Kivy clock.
    The script yields a predicate to wait for, or a number of frames to let pass. A failure
    (or a wait longer than `timeout_s`) is written to `report["error"]` and stops the app."""

    def __init__(self, app, script, report: dict, timeout_s: float = 60):
        self.app, self.report, self.timeout_s = app, report, timeout_s
        self.script = script(self)
        self.waiting = None
        self.since = time.monotonic()
        self.taps = 0

    def start(self, *_):
        from kivy.clock import Clock

        self._event = Clock.schedule_interval(self._step, 0)

    def _step(self, _dt):
        try:
            while True:
                if callable(self.waiting):
                    if not self.waiting():
                        if time.monotonic() - self.since > self.timeout_s:
                            raise TimeoutError(
                                f"stuck in {self.app.flow.state}: {self.report.get('waiting')}"
                            )
                        return
                elif isinstance(self.waiting, int) and self.waiting > 0:
                    self.waiting -= 1
                    return
                self.waiting = next(self.script)
                self.since = time.monotonic()
        except StopIteration:
            self._finish()
        except Exception:  # noqa: BLE001 - any failure goes to the report, and the app stops
            self.report["error"] = traceback.format_exc()
            self._finish()

    def _finish(self):
        self._event.cancel()
        self.app.stop()

    # -- helpers for scripts

    def state(self, *states):
        """Wait until the flow and the screen shown are both in one of `states`."""
        self.report["waiting"] = states
        return lambda: self.app.flow.state in states and self.app.state in states

    def find(self, *, action=None, choice=None, tid=None, primary=False):
        from kivy.uix.behaviors import ButtonBehavior

        from kiosk.ui.widgets.buttons import PrimaryButton

        screen = self.app.current_screen
        for w in walk_visible(screen):
            if not isinstance(w, ButtonBehavior) or w.disabled:
                continue
            if primary and isinstance(w, PrimaryButton):
                return w
            if tid is not None and getattr(w, "tid", None) == tid:
                return w
            if (
                action is not None
                and getattr(w, "action", None) == action
                and (choice is None or getattr(w, "choice", None) == choice)
            ):
                return w
        raise LookupError(f"no button {action or tid or 'primary'} {choice} on {screen.name}")

    def settle(self):
        """Frames pass until the screen's layout stops changing (a screen just shown is laid
        out over the next frame or two)."""
        last = None
        for _ in range(60):
            screen = self.app.current_screen
            shape = tuple((id(w), tuple(w.pos), tuple(w.size)) for w in screen.walk(restrict=True))
            if shape == last:
                return
            last = shape
            yield 1

    def tap(self, widget):
        """Touch the widget's centre, lift the finger a frame later."""
        yield from self.settle()
        x, y = widget.to_window(widget.center_x, widget.center_y)
        touch = Touch(x, y)
        touch.down()
        yield 1
        touch.up()
        self.taps += 1
        yield 1

    def type_number(self, raw: str):
        for ch in raw:
            yield from self.tap(self.find(tid=f"key.{ch}"))

    def set_date(self, day: dt.date):
        entry = self.app.current_screen.ids.entry
        for part, target, span in (("year", day.year, None), ("month", day.month, 12)):
            current = int(getattr(entry, part))
            delta = target - current
            if span and delta < 0:
                delta += span
            direction = "up" if delta > 0 else "down"
            for _ in range(abs(delta)):
                yield from self.tap(self.find(tid=f"date.{part}.{direction}"))
        current = int(entry.day)
        direction = "up" if day.day > current else "down"
        for _ in range(abs(day.day - current)):
            yield from self.tap(self.find(tid=f"date.day.{direction}"))
        if entry.date != day:
            raise AssertionError(f"date entry shows {entry.date}, wanted {day}")
