"""The Kivy application: one window, the current screen, and the hand-over from worker
threads to the Kivy thread. Call through `kiosk.ui.launch`, which configures Kivy first."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window

from kiosk.container import Container
from kiosk.heartbeat import BackendMonitor, BackendStatus, heartbeat_report
from kiosk.ui import theme
from kiosk.ui.screens.placeholder import PRODUCT_NAME, PlaceholderScreen


class KioskApp(App):
    title = PRODUCT_NAME

    def __init__(
        self,
        container: Container,
        *,
        demo: bool = False,
        screenshot: Path | None = None,
        exit_after: float | None = None,
    ):
        super().__init__()
        self.container = container
        self.demo = demo
        self.screenshot = Path(screenshot) if screenshot else None
        self.exit_after = exit_after
        self.exit_code = 0
        self.screen: PlaceholderScreen | None = None
        self._last_summary: str | None = None
        self._shot_armed = False
        self._shot_done = False
        settings = container.settings
        self.monitor = BackendMonitor(
            container.api,
            lambda: heartbeat_report(settings.data_dir),
            self._from_worker,
            settings.heartbeat_interval_s,
        )

    def build(self):
        Window.clearcolor = theme.BACKGROUND
        Window.bind(on_flip=self._on_flip)
        s = self.container.settings
        self.screen = PlaceholderScreen(
            backend_url=s.backend_url,
            kiosk_line=f"Kiosk {s.kiosk_id} · {s.site}" + (" · demo" if self.demo else ""),
        )
        if self.exit_after is not None:
            Clock.schedule_once(self._deadline, self.exit_after)
        return self.screen

    def on_start(self):
        self.monitor.start()

    def on_stop(self):
        self.monitor.stop()

    def execute(self) -> int:
        self.run()
        return self.exit_code

    # Called on the monitor's thread: widgets belong to the Kivy thread, so only hand over.
    def _from_worker(self, status: BackendStatus) -> None:
        Clock.schedule_once(lambda _dt: self._show(status))

    def _show(self, status: BackendStatus) -> None:
        self.screen.show_status(status)
        summary = status.summary()
        if summary != self._last_summary:
            self._last_summary = summary
            print(summary, flush=True)
        if self.screenshot is not None and not self._shot_done:
            # The next frame drawn is the first to carry this state: take that one.
            self._shot_armed = True
            Window.canvas.ask_update()

    # Bound handlers run before the window's own on_flip swaps the buffers, so the back
    # buffer read here is exactly the frame just drawn.
    def _on_flip(self, window) -> None:
        if not self._shot_armed or self._shot_done:
            return
        self._shot_done = True
        try:
            save_screenshot(window, self.screenshot)
            print(f"screenshot saved to {self.screenshot}", flush=True)
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
