"""qr_scan: the camera picture with a square to hold the e-card's QR code in, how to do it
(phone screen or printed card; or the reader below the screen), and why the last code read
was refused."""

from __future__ import annotations

from kiosk.ui.widgets import load_kv
from kiosk.ui.widgets.frame import KioskScreen


class QrScanScreen(KioskScreen):
    def show_frame(self, frame) -> None:
        self.ids.preview.show_frame(frame)

    def on_state_leave(self, flow, runner) -> None:
        self.ids.preview.clear()

    def clear(self) -> None:
        super().clear()
        self.ids.preview.clear()


SCREEN = QrScanScreen
load_kv(__file__)
