"""`kiosk run`: the resident's app (FlowApp) as a running kiosk.

Adds what a kiosk process needs around the flow: the back-end monitor (heartbeats; a back
end that stops answering takes an unattended kiosk out of service, its return brings it
back), the voice, the line that says when the attract screen was first drawn (cold start, for
bench/ui.py and a technician), and `--screenshot` / `--exit-after` for tests and support.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

from kivy.base import ExceptionHandler, ExceptionManager
from kivy.clock import Clock
from kivy.core.window import Window

from kiosk import sdnotify
from kiosk.flow import events as ev
from kiosk.heartbeat import BackendMonitor, BackendStatus
from kiosk.ui.flow_app import FlowApp
from kiosk.ui.speaker import KivySpeaker

log = logging.getLogger(__name__)


class OutOfServiceOnError(ExceptionHandler):
    """An unexpected exception in the UI loop is logged and the kiosk shows its
    out-of-service screen, never a traceback; more than `limit` within `window_s` seconds
    and the process ends, for systemd to start a fresh one."""

    def __init__(self, app: KioskRunApp, limit: int = 5, window_s: float = 60.0):
        self.app, self.limit, self.window_s = app, limit, window_s
        self.times: list[float] = []

    def handle_exception(self, exception):
        now = time.monotonic()
        self.times = [t for t in self.times if now - t < self.window_s] + [now]
        log.error("unexpected error in the kiosk UI", exc_info=exception)
        if len(self.times) > self.limit:
            log.critical("%d errors within %g s: exiting for a restart", self.limit, self.window_s)
            return ExceptionManager.RAISE
        try:
            self.app.out_of_service("error_internal")
        except Exception:
            log.exception("cannot show the out-of-service screen")
            return ExceptionManager.RAISE
        return ExceptionManager.PASS


def process_age_s() -> float | None:
    """Seconds since this process started (Linux), so cold start includes the imports."""
    try:
        with open("/proc/self/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        with open("/proc/uptime", encoding="ascii") as f:
            uptime = float(f.read().split()[0])
        return uptime - int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


class KioskRunApp(FlowApp):
    def __init__(
        self,
        container,
        runner,
        *,
        screenshot: Path | None = None,
        exit_after: float | None = None,
        **kwargs,
    ):
        settings = container.settings
        speaker = KivySpeaker(volume=settings.volume)
        runner.devices.speaker = speaker
        super().__init__(
            runner,
            frame_source=container.frame_source(),
            speaker=speaker,
            key_sink=container.reader.feed if container.reader is not None else None,
            **kwargs,
        )
        self.container = container
        self.screenshot = Path(screenshot) if screenshot else None
        self.exit_after = exit_after
        self.exit_code = 0
        self._status_seen = False
        self._last_summary: str | None = None
        self._attract_drawn = False
        self._shot_armed = False
        self._shot_done = False
        self.monitor = BackendMonitor(
            container.api,
            container.heartbeat_report,
            self._from_monitor,
            settings.heartbeat_interval_s,
        )

    def build(self):
        root = super().build()
        Window.bind(on_flip=self._on_flip)
        if self.container.settings.lockdown:
            Window.show_cursor = False
            self._error_handler = OutOfServiceOnError(self)
            ExceptionManager.add_handler(self._error_handler)
        if self.exit_after is not None:
            Clock.schedule_once(self._deadline, self.exit_after)
        return root

    def on_start(self):
        super().on_start()
        self.monitor.start()
        interval = sdnotify.watchdog_interval_s()
        if interval:
            # From the UI thread's clock: a UI loop that hangs stops the pings.
            Clock.schedule_interval(lambda _dt: sdnotify.notify("WATCHDOG=1"), interval)

    def on_stop(self):
        self.monitor.stop()
        super().on_stop()

    def on_request_close_allowed(self) -> bool:
        # Locked down, nothing from outside closes the kiosk (Alt+F4, the window manager);
        # it ends through SIGTERM (systemd) or from maintenance mode.
        return not self.container.settings.lockdown

    def out_of_service(self, key: str) -> None:
        self.flow.reset("out_of_service")
        self.flow.show(key)
        self.sync()

    def execute(self) -> int:
        self.run()
        return self.exit_code

    # The monitor's thread: only hand over.
    def _from_monitor(self, status: BackendStatus) -> None:
        if status.answered and status.accepted:
            self.runner.post(ev.BackendUp())
        else:
            self.runner.post(ev.BackendDown(status.error_key or "error_backend"))
        Clock.schedule_once(lambda _dt: self._status_shown(status))

    def _status_shown(self, status: BackendStatus) -> None:
        summary = status.summary()
        if summary != self._last_summary:
            self._last_summary = summary
            print(summary, flush=True)
        self._status_seen = True
        if self.screenshot is not None and not self._shot_done:
            # The runner's queue holds the status event; let the app's pump apply it, then
            # the next frame drawn is the first to carry the resulting screen.
            Clock.schedule_once(self._arm, 0.2)

    def _arm(self, _dt) -> None:
        self._shot_armed = True
        Window.canvas.ask_update()

    # Bound handlers run before the window's own on_flip swaps the buffers, so the back
    # buffer read here is exactly the frame just drawn.
    def _on_flip(self, window) -> None:
        if not self._attract_drawn and self.state == "attract":
            self._attract_drawn = True
            age = process_age_s()
            when = f" {age:.2f} s after start" if age is not None else ""
            print(f"attract screen drawn{when}", flush=True)
            sdnotify.notify("READY=1")
        if not self._shot_armed or self._shot_done:
            return
        self._shot_done = True
        try:
            save_screenshot(window, self.screenshot)
            print(f"screenshot saved to {self.screenshot} (screen {self.state})", flush=True)
        except OSError as exc:
            print(f"kiosk run: cannot save screenshot: {exc}", file=sys.stderr, flush=True)
            self.exit_code = 1
        Clock.schedule_once(lambda _dt: self.stop())

    def _deadline(self, _dt) -> None:
        if self.screenshot is not None and not self._shot_done:
            print(
                f"kiosk run: no screenshot within {self.exit_after:g} s "
                "(the back end state was never shown)",
                file=sys.stderr,
                flush=True,
            )
            self.exit_code = 1
        self.stop()


def save_screenshot(window, target: Path) -> None:
    # Window.screenshot numbers its files (name0001.png) instead of overwriting; save that
    # way next to the target, then move the file onto the name asked for.
    target = Path(target).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    saved = window.screenshot(name=str(target))
    if not saved or not Path(saved).exists():
        raise OSError(f"the window saved nothing for {target}")
    os.replace(saved, target)
