"""maint_diagnostics: one tile per check (kiosk/doctor.py's and the QR reader's) with its
state; touching a tile runs that check, "run all" runs every one in turn, the printer's test
page has a button of its own (it uses paper). Beside the tiles: the chosen check's state, its
message and its measurement line; while the camera check runs, the frames it reads."""

from __future__ import annotations

from kivy.properties import BooleanProperty, StringProperty

from kiosk import i18n
from kiosk.flow.maintenance import CHECKS
from kiosk.i18n import N_
from kiosk.ui.screens.maint_common import maint_view
from kiosk.ui.widgets import load_kv
from kiosk.ui.widgets.buttons import ChoiceButton
from kiosk.ui.widgets.frame import KioskScreen

CHECK_KEYS = {
    "camera": N_("maint_diagnostics.camera"),
    "fingerprint": N_("maint_diagnostics.fingerprint"),
    "printer": N_("maint_diagnostics.printer"),
    "reader": N_("maint_diagnostics.reader"),
    "disk": N_("maint_diagnostics.disk"),
    "outbox": N_("maint_diagnostics.outbox"),
    "backend": N_("maint_diagnostics.backend"),
    "heartbeat": N_("maint_diagnostics.heartbeat"),
    "tls": N_("maint_diagnostics.tls"),
    "clock": N_("maint_diagnostics.clock"),
}
STATUS_KEYS = {
    "pass": N_("maint_diagnostics.pass"),
    "warn": N_("maint_diagnostics.warn"),
    "fail": N_("maint_diagnostics.fail"),
    "skip": N_("maint_diagnostics.skip"),
    "running": N_("maint_diagnostics.running"),
    "queued": N_("maint_diagnostics.queued"),
    "not_run": N_("maint_diagnostics.not_run"),
}
TONES = {"pass": "ok", "warn": "text", "fail": "fail"}
MAX_TEXT = 160


def check_state(view, name: str) -> str:
    if view.running == name:
        return "running"
    if any(queued == name for queued, _page in view.queue):
        return "queued"
    result = view.results.get(name)
    return result["status"] if result else "not_run"


def _text(key: str, language: str) -> str:
    return i18n.text(key, language) if key else ""


class MaintDiagnosticsScreen(KioskScreen):
    detail_name = StringProperty("")
    detail_status = StringProperty("")
    detail_tone = StringProperty("text")
    detail_message = StringProperty("")
    detail_text = StringProperty("")
    show_preview = BooleanProperty(False)

    def on_kv_post(self, _base_widget):
        self.tiles = {}
        for name in CHECKS:
            tile = ChoiceButton(action="run", choice=name, tid=f"check.{name}")
            tile.role = "small"
            tile.size_hint_y = 1
            self.tiles[name] = tile
            self.ids.tiles.add_widget(tile)

    def refresh(self, flow, runner) -> None:
        super().refresh(flow, runner)
        view = maint_view(flow)
        language = flow.ctx.language
        for name, tile in self.tiles.items():
            state = check_state(view, name)
            tile.raw = f"{_text(CHECK_KEYS[name], language)}\n{_text(STATUS_KEYS[state], language)}"
            tile.selected = name == view.selected
        name = view.selected
        state = check_state(view, name)
        result = view.results.get(name)
        self.detail_name = _text(CHECK_KEYS[name], language)
        self.detail_status = _text(STATUS_KEYS[state], language)
        self.detail_tone = TONES.get(state, "text")
        if result is not None and state not in ("running", "queued"):
            self.detail_message = _text(result.get("message_key") or "", language)
            text = " ".join(str(result.get("text", "")).split())
            self.detail_text = text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"
        else:
            self.detail_message = self.detail_text = ""
        self.show_preview = name == "camera" and (
            state == "running" or self.ids.preview.texture is not None
        )

    def update(self, flow, runner) -> None:
        view = maint_view(flow)
        service = getattr(runner, "maintenance", None)
        if view.running != "camera" or service is None:
            return
        frame = service.preview_frame()
        if frame is not None and frame is not self._last_frame:
            self._last_frame = frame
            self.ids.preview.show_frame(frame)  # BGR, as the camera reads it
            self.show_preview = True

    _last_frame = None

    def on_state_leave(self, flow, runner) -> None:
        self.ids.preview.clear()
        self._last_frame = None
        self.show_preview = False

    def clear(self) -> None:
        super().clear()
        self.ids.preview.clear()
        self._last_frame = None


SCREEN = MaintDiagnosticsScreen
load_kv(__file__)
