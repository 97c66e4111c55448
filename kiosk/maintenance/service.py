"""What the maintenance screens ask for, done on the runner's maintenance worker
(`Runner.maintenance`, one task at a time): the flow sends `MaintenanceTask(op, kwargs)`,
`perform` answers with plain data (kiosk/flow/maintenance.py lists the ops).

The diagnostics are kiosk/doctor.py's checks, run one at a time through `run_checks`, so the
maintenance screen and `kiosk doctor` measure the same way. Two additions that need the
running kiosk: while the camera check reads frames they are also kept for the screen's live
preview (`preview_frame`), and the QR reader has a check of its own (`check_reader`: the
keyboard-wedge scanner's state, and the QR decoder reading a code it was just given).

Nothing returned is personal: check results, outbox counts, the redacted log, settings
without secrets, the kiosk's public identity.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from kiosk import doctor
from kiosk.maintenance import logs
from kiosk.maintenance.audit import AUDIT_FILE, AuditLog
from kiosk.maintenance.views import identity, settings_rows

log = logging.getLogger(__name__)

READER_TEST_TEXT = "JMKIOSK-READER-SELF-TEST"


class _TeeCamera:
    """The container's camera as the camera check sees it, handing each frame it reads to
    `seen` too (the maintenance screen's live preview)."""

    def __init__(self, camera, seen):
        self._camera = camera
        self._seen = seen

    def read(self, timeout: float = 1.0):
        frame = self._camera.read(timeout=timeout)
        self._seen(frame.image)
        return frame

    def __getattr__(self, name):
        return getattr(self._camera, name)


class _Scope:
    """The container, with another camera."""

    def __init__(self, container, camera):
        self._container = container
        self.camera = camera

    def __getattr__(self, name):
        return getattr(self._container, name)


def check_reader(container) -> doctor.Check:
    """The QR reader: the keyboard-wedge scanner's state (open, scans read, unreadable
    bursts) and the camera path's QR decoder reading a code drawn for it. Advisory (the
    keypad still identifies a resident when the reader fails)."""
    m: dict[str, Any] = {}
    parts = []
    status, key = doctor.PASS, "reader_ok"
    reader = container.reader
    if reader is None:
        status, key = doctor.WARN, "reader_closed"
        parts.append("no wedge scanner configured")
    else:
        health = reader.health()
        m.update(
            wedge_state=health.state.value,
            scans=health.scans,
            unreadable=health.unreadable,
            last_scan_age_s=health.last_scan_age_s,
        )
        parts.append(f"wedge scanner {health.state.value}, {health.scans} scans read")
        if health.unreadable:
            parts[-1] += f", {health.unreadable} unreadable"
        if not health.ok:
            status, key = doctor.WARN, health.message_key
    started = time.monotonic()
    try:
        import cv2

        from drivers.reader.camera_qr import decode_qr

        code = cv2.QRCodeEncoder.create().encode(READER_TEST_TEXT)
        picture = cv2.resize(code, None, fx=6, fy=6, interpolation=cv2.INTER_NEAREST)
        picture = cv2.copyMakeBorder(picture, 40, 40, 40, 40, cv2.BORDER_CONSTANT, value=255)
        text = decode_qr(cv2.cvtColor(picture, cv2.COLOR_GRAY2BGR))
    except Exception as exc:  # noqa: BLE001 - OpenCV missing or broken: say so
        text = None
        m["decoder_error"] = type(exc).__name__
    m["decode_ms"] = round((time.monotonic() - started) * 1000, 1)
    m["decoder_ok"] = text == READER_TEST_TEXT
    if m["decoder_ok"]:
        parts.append(f"QR decoder read a test code in {m['decode_ms']:.0f} ms")
    else:
        parts.append("QR decoder could not read a test code")
        status, key = doctor.WARN, "reader_failed"
    return doctor.Check(
        name="reader",
        ok=True,  # advisory: never red
        required=False,
        message_key=key,
        text="; ".join(parts),
        measurement=m,
        warning=status == doctor.WARN,
    )


class MaintenanceService:
    """`Runner.maintenance` for a kiosk built by kiosk/container.py."""

    def __init__(self, container, *, audit_log: AuditLog | None = None):
        self.container = container
        data_dir = Path(container.settings.data_dir)
        self.audit_log = audit_log or AuditLog(data_dir / AUDIT_FILE)
        self.log_path = logs.log_path(data_dir)
        self._frame_lock = threading.Lock()
        self._frame: np.ndarray | None = None

    # -- the runner's port

    def perform(self, op: str, **kwargs) -> Any:
        handler = getattr(self, f"op_{op}", None)
        if handler is None:
            raise ValueError(f"no maintenance task {op!r}")
        return handler(**kwargs)

    def audit(self, action: str, result: str = "") -> None:
        self.audit_log.append(action, result)

    def preview_frame(self) -> np.ndarray | None:
        """The newest frame the camera check read (BGR), while it runs; else None."""
        with self._frame_lock:
            return self._frame

    # -- tasks

    def op_check(self, name: str, test_page: bool = False) -> dict[str, Any]:
        started = time.monotonic()
        if name == "reader":
            check = check_reader(self.container)
            return {**check.to_dict(), "seconds": round(time.monotonic() - started, 3)}
        if name == "camera" and self.container.camera is not None:
            scope = _Scope(self.container, _TeeCamera(self.container.camera, self._seen))
            try:
                return doctor.run_checks(scope, only=("camera",))[0].to_dict()
            finally:
                with self._frame_lock:
                    self._frame = None
        checks = doctor.run_checks(self.container, only=(name,), print_test_page=test_page)
        return checks[0].to_dict()

    def _seen(self, image: np.ndarray) -> None:
        with self._frame_lock:
            self._frame = image

    def op_drain(self) -> dict[str, Any]:
        outbox = self.container.outbox
        if outbox is None:
            return {"available": False}
        before = outbox.depth()
        done = outbox.drain(self.container.api)
        oldest = outbox.oldest()
        return {
            "available": True,
            "before": before,
            "delivered": done.delivered,
            "refused": done.refused,
            "deferred": done.deferred,
            "waiting": outbox.depth(),
            "oldest_age_s": round(time.time() - oldest, 1) if oldest else None,
        }

    def op_logs(self, page: int = 1, page_size: int = 5) -> dict[str, Any]:
        return logs.read_page(self.log_path, page, page_size).to_dict()

    def op_settings(self) -> list[list[str]]:
        return settings_rows(self.container.settings)

    def op_identity(self) -> dict[str, str]:
        from kiosk.api import keys

        key = keys.load_or_create(self.container.settings.device_key_path)
        return identity(self.container.settings, key.public_key())
