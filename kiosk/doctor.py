"""Diagnostics for field technicians: the checks behind `kiosk doctor` and the maintenance screen.

Each check exercises its device or service through its contract (the camera is opened and
read, the fingerprint module answers a status query and takes a test capture, the printer
answers a real-time status query, the back end answers a health call and accepts a signed
heartbeat, a TLS handshake fetches the certificate, a file is written to the data directory),
so a fault shows because the device misbehaves, not because a flag was read. No UI here:
every check returns a `Check` with a message key for the maintenance screen and one line of
text for a remote shell. Nothing personal is ever measured or printed (camera frames and
finger images are looked at in memory and forgotten; only counts and scores come out).

Required checks (a failure makes `kiosk doctor` exit 1) and what turns them red / yellow:

- camera: red when it does not open, gives no frames, or under 5 fps; yellow under half the
  configured rate, at another resolution, on a blank picture, or with no face in view.
- fingerprint: red when it does not open, answers no status query, or the test capture fails
  with a device error; yellow when the test capture is poor (the coaching key says why).
- printer: red when it does not open, has no paper, is offline, its cover is open or it
  reports an error, or a requested test page fails; yellow when the paper is near its end or
  the printer is momentarily busy.
- disk: red under 200 MB free or when the data directory cannot be written; yellow under 1 GB.
- backend: red when the health call is not answered or the database is down; yellow when it
  says degraded or the round trip takes over 2 s.
- heartbeat: red when the signed heartbeat is refused (this kiosk's key is not registered,
  or revoked) or cannot be delivered.
- tls (https only): red when the certificate has expired, has under 14 days left, is not
  trusted or does not match the configured pin; yellow under 30 days, or when the URL is
  plain http to a host that is not loopback.

Advisory checks (never red, yellow at most):

- outbox: yellow when the oldest waiting entry is over an hour old or over 50 wait.
- clock: yellow when this kiosk's clock is over 30 s off the server's.

A required check that fails makes the kiosk unfit for service (`kiosk doctor` exits 1); an
advisory check never fails, it warns. "No finger on the sensor" and "no face in view" are
normal on a remote shell (nobody stands at the kiosk): the first passes (the module answered
the capture), the second warns so that a camera turned to the wall is noticed.

The camera check opens the camera itself and closes it afterwards: the maintenance screen
switches its preview off first. The fingerprint sensor and the printer are closed again only
when the check opened them.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import os
import shutil
import socket
import ssl
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from hashlib import sha256
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from drivers.errors import DeviceProblem, DeviceRetry, DeviceUnavailable
from kiosk.api import contract as c
from kiosk.api.errors import ApiError, AuthRejected, Rejected
from kiosk.heartbeat import heartbeat_report

log = logging.getLogger(__name__)

PASS, WARN, FAIL, SKIP = "pass", "warn", "fail", "skip"

#: Every check in the order `run_checks` runs them (devices first, so the heartbeat carries
#: the states just measured), and whether it is required (see the module docstring).
REQUIRED: dict[str, bool] = {
    "camera": True,
    "fingerprint": True,
    "printer": True,
    "disk": True,
    "outbox": False,
    "backend": True,
    "heartbeat": True,
    "tls": True,
    "clock": False,
}
CHECK_NAMES = tuple(REQUIRED)


@dataclass(frozen=True)
class Limits:
    """Where a measurement turns a check yellow (warn) or red (fail)."""

    camera_sample_s: float = 1.5  # frames are read for this long to measure the rate
    camera_min_fps: float = 5.0  # fail below: liveness cannot follow a face
    camera_fps_share: float = 0.5  # warn below this share of the configured rate
    camera_blank_std: float = 2.0  # a picture this uniform is blank (lens covered, dead)
    finger_wait_s: float = 2.0  # how long the test capture waits for a finger
    disk_fail_mb: int = 200
    disk_warn_mb: int = 1024
    outbox_warn_age_s: float = 3600.0
    outbox_warn_depth: int = 50
    backend_slow_ms: float = 2000.0
    tls_fail_days: float = 14.0
    tls_warn_days: float = 30.0
    clock_warn_s: float = 30.0


LIMITS = Limits()


@dataclass(frozen=True)
class Check:
    """The result of one check.

    `ok`: the check passed (a failed advisory check is reported as a warning and stays ok);
    `required`: a failure makes the kiosk unfit for service; `warning`: passed, but something
    needs attention soon; `skipped`: not applicable here (TLS on an http URL).
    `message_key` is for the maintenance screen, `text` one line for a technician.
    """

    name: str
    ok: bool
    required: bool
    message_key: str
    text: str
    measurement: dict[str, Any] = field(default_factory=dict)
    warning: bool = False
    skipped: bool = False
    seconds: float = 0.0

    @property
    def status(self) -> str:
        if not self.ok:
            return FAIL
        if self.warning:
            return WARN
        return SKIP if self.skipped else PASS

    def line(self) -> str:
        """`PASS camera          1280x720 at 29.9 fps, face found (11 ms)`; the message key
        follows the text of a warning or failure."""
        status = self.status
        key = f" ({self.message_key})" if status in (WARN, FAIL) else ""
        return f"{status.upper():<4} {self.name:<14} {self.text}{key}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "ok": self.ok,
            "required": self.required,
            "message_key": self.message_key,
            "text": self.text,
            "measurement": self.measurement,
            "seconds": round(self.seconds, 3),
        }


def _result(
    name: str,
    required: bool,
    status: str,
    key: str,
    text: str,
    measurement: dict[str, Any] | None = None,
) -> Check:
    """A check from its verdict; an advisory check's failure becomes a warning."""
    failed = status == FAIL and required
    return Check(
        name=name,
        ok=not failed,
        required=required,
        message_key=key,
        text=" ".join(text.split()),  # one line, whatever a driver's detail holds
        measurement=measurement or {},
        warning=status == WARN or (status == FAIL and not required),
        skipped=status == SKIP,
    )


def _detail(exc: BaseException) -> str:
    if isinstance(exc, DeviceProblem):
        return exc.detail or exc.message_key
    return str(exc) or type(exc).__name__


def _ms(seconds: float) -> float:
    return round(seconds * 1000.0, 1)


# --------------------------------------------------------------------------- camera


def check_camera(container, timeout: float = 5.0, *, limits: Limits = LIMITS) -> Check:
    """Open the camera, read frames for `limits.camera_sample_s`, measure the rate and the
    resolution, and look for a face in a frame (biometrics face detection)."""
    name = "camera"
    required = REQUIRED[name]
    cam = container.camera
    if cam is None:
        return _result(name, required, FAIL, "device_unavailable", "no camera configured")
    settings = container.settings
    started = time.monotonic()
    try:
        info = cam.open()
    except DeviceProblem as exc:
        return _result(
            name, required, FAIL, exc.message_key, f"does not open: {_detail(exc)}",
            {"opened": False},
        )  # fmt: skip
    m: dict[str, Any] = {"opened": True, "open_ms": _ms(time.monotonic() - started)}
    m["backend"] = info.backend
    try:
        frames, first_ts, last_ts = 0, None, None
        first = last = None
        problem: DeviceProblem | None = None
        deadline = time.monotonic() + limits.camera_sample_s
        while (now := time.monotonic()) < deadline:
            try:
                frame = cam.read(timeout=min(timeout, max(0.05, deadline - now)))
            except DeviceRetry as exc:
                problem = exc
                continue
            frames += 1
            first_ts = frame.timestamp if first_ts is None else first_ts
            last_ts = frame.timestamp
            first = frame.image if first is None else first
            last = frame.image
    except DeviceProblem as exc:
        return _result(
            name, required, FAIL, exc.message_key, f"stopped delivering: {_detail(exc)}",
            {**m, "frames": 0},
        )  # fmt: skip
    finally:
        cam.close()
    m["frames"] = frames
    if last is None:
        key = problem.message_key if problem else "camera_no_frame"
        return _result(
            name, required, FAIL, key,
            f"opened, but no frame within {limits.camera_sample_s:g} s", m,
        )  # fmt: skip
    height, width = last.shape[:2]
    span = (last_ts - first_ts) if frames > 1 else 0.0
    fps = (frames - 1) / span if span > 0 else 0.0
    wanted = (settings.camera_width, settings.camera_height)
    m.update(
        width=int(width),
        height=int(height),
        requested=f"{wanted[0]}x{wanted[1]}",
        fps=round(fps, 1),
        fps_requested=settings.camera_fps,
    )
    m.update(_faces(first, last))
    text = f"{width}x{height} at {fps:.1f} fps"
    if m["face"]:
        text += f", face found ({m['detect_ms']:.0f} ms)"
    if fps < limits.camera_min_fps:
        return _result(name, required, FAIL, "doctor_camera_slow", text, m)
    if fps < limits.camera_fps_share * settings.camera_fps:
        return _result(
            name, required, WARN, "doctor_camera_slow",
            f"{text}, {settings.camera_fps:g} fps asked", m,
        )  # fmt: skip
    if (width, height) != wanted:
        return _result(
            name, required, WARN, "doctor_camera_resolution",
            f"{text}, {wanted[0]}x{wanted[1]} asked", m,
        )  # fmt: skip
    m["blank"] = bool(float(last.std()) < limits.camera_blank_std)
    if m["blank"]:
        return _result(
            name, required, WARN, "doctor_camera_blank", f"{text}, the picture is blank", m
        )
    if m.get("detector") == "unavailable":
        return _result(
            name, required, WARN, "doctor_face_detection_unavailable",
            f"{text}, face detection unavailable", m,
        )  # fmt: skip
    if not m["face"]:
        return _result(name, required, WARN, "doctor_camera_no_face", f"{text}, no face in view", m)
    return _result(name, required, PASS, "camera_ok", text, m)


def _faces(*images) -> dict[str, Any]:
    """Whether biometrics' face detector finds a face in one of `images` (counts only)."""
    try:
        from biometrics.face import models
        from biometrics.face.detect import FaceDetector, to_gray

        models.detector()  # loaded once, outside the timing
    except Exception as exc:  # noqa: BLE001 - the models are a separate wheel
        log.warning("face detection unavailable: %s", type(exc).__name__)
        return {"face": False, "faces": 0, "detector": "unavailable"}
    detector = FaceDetector()
    started = time.monotonic()
    boxes: list = []
    for image in images:
        if image is not None:
            boxes = detector.detect(to_gray(image))
            if boxes:
                break
    return {
        "face": bool(boxes),
        "faces": len(boxes),
        "detect_ms": _ms(time.monotonic() - started),
    }


# --------------------------------------------------------------------------- fingerprint


def check_fingerprint(
    container,
    timeout: float = 5.0,
    *,
    finger_wait_s: float | None = None,
    limits: Limits = LIMITS,
) -> Check:
    """The module's parameters (open), a status round trip (health), a test capture and its
    quality (biometrics fingerprint quality). No finger on the sensor passes: the module
    answered the capture correctly; a finger the module or the quality check does not like
    warns (dirty glass); any device error fails."""
    name = "fingerprint"
    required = REQUIRED[name]
    sensor = container.fingerprint
    if sensor is None:
        return _result(name, required, FAIL, "device_unavailable", "no fingerprint sensor")
    wait = min(finger_wait_s if finger_wait_s is not None else limits.finger_wait_s, timeout)
    opened_here = False
    try:
        info = sensor.info
    except DeviceUnavailable:
        try:
            info = sensor.open()
        except DeviceProblem as exc:
            return _result(
                name, required, FAIL, exc.message_key, f"does not open: {_detail(exc)}",
                {"opened": False},
            )  # fmt: skip
        opened_here = True
    try:
        return _finger_capture(sensor, info, wait)
    finally:
        if opened_here:
            sensor.close()


_SENSOR_PARAMETERS = ("baudrate", "packet_size", "library_size", "security_level")


def _finger_capture(sensor, info, wait: float) -> Check:
    name = "fingerprint"
    required = REQUIRED[name]
    d = info.details
    m: dict[str, Any] = {
        "opened": True,
        "model": info.model,
        "width": info.width,
        "height": info.height,
        "dpi": info.dpi,
        **{k: d[k] for k in _SENSOR_PARAMETERS if k in d},
    }
    head = f"{info.model} {info.width}x{info.height} at {info.dpi} dpi"
    if "baudrate" in d:
        head += f", {d['baudrate']} baud"
    health = sensor.health()
    if not health.ok:
        detail = health.details.get("detail") or health.message_key
        return _result(name, required, FAIL, health.message_key, f"{head}; no status: {detail}", m)
    started = time.monotonic()
    try:
        shot = sensor.capture(timeout=wait)
    except DeviceRetry as exc:
        m["capture_ms"] = _ms(time.monotonic() - started)
        if exc.reason == "finger_no_finger":
            m["finger"] = False
            return _result(
                name, required, PASS, "device_ok",
                f"{head}; answered, no finger on the sensor (capture not scored)", m,
            )  # fmt: skip
        m["finger"] = True
        return _result(name, required, WARN, exc.reason, f"{head}; the test capture was refused", m)
    except DeviceProblem as exc:
        return _result(
            name, required, FAIL, exc.message_key, f"{head}; capture failed: {_detail(exc)}", m
        )
    m.update(finger=True, capture_ms=_ms(shot.duration_s), module_quality=round(shot.quality, 3))
    try:
        from biometrics.fingerprint.quality import quality

        q = quality(shot.image, dpi=info.dpi)
    except Exception as exc:  # noqa: BLE001 - a bad image must not end the diagnostics
        log.warning("fingerprint quality failed: %s", type(exc).__name__)
        return _result(
            name, required, WARN, "doctor_finger_quality_unavailable",
            f"{head}; test capture taken, quality not computed", m,
        )  # fmt: skip
    m.update(quality=q.score, coaching=q.coaching)
    text = f"{head}; test capture quality {q.score}/100 ({m['capture_ms']:.0f} ms)"
    if not q.ok:
        return _result(name, required, WARN, q.coaching, text, m)
    return _result(name, required, PASS, "device_ok", text, m)


# --------------------------------------------------------------------------- printer

_OFFLINE_CAUSES = {
    "no_answer": ("printer_offline", "no answer to the status query"),
    "cover_open": ("doctor_printer_cover_open", "cover open"),
    "printer_error": ("printer_error", "printer error"),
    "offline": ("printer_offline", "offline"),
}


def check_printer(
    container,
    timeout: float = 5.0,
    *,
    print_test_page: bool = False,
    limits: Limits = LIMITS,
) -> Check:
    """A real-time status query (opening the printer first when needed). A test page is
    printed only when asked for: a receipt nobody expects wastes paper."""
    from drivers.printer.base import PrinterStatus

    name = "printer"
    required = REQUIRED[name]
    printer = container.printer
    if printer is None:
        return _result(name, required, FAIL, "device_unavailable", "no usable printer configured")
    opened_here = False
    try:
        info = printer.info
    except DeviceUnavailable:
        try:
            info = printer.open()
        except DeviceProblem as exc:
            # Something is there but does not answer a status query: offline, not missing.
            silent = getattr(exc, "reason", None) == "no_answer"
            return _result(
                name, required, FAIL, "printer_offline" if silent else exc.message_key,
                f"does not open: {_detail(exc)}", {"opened": False},
            )  # fmt: skip
        opened_here = True
    try:
        m: dict[str, Any] = {"opened": True, "model": info.model, "width_dots": info.width_dots}
        started = time.monotonic()
        try:
            status = printer.status()
        except DeviceProblem as exc:
            return _result(name, required, FAIL, exc.message_key, f"no status: {_detail(exc)}", m)
        m.update(status=status.value, status_ms=_ms(time.monotonic() - started))
        if status is PrinterStatus.OFFLINE:
            cause = printer.health().details.get("cause") or "offline"
            m["cause"] = cause
            if cause == "busy":
                return _result(name, required, WARN, "printer_busy", "momentarily busy", m)
            key, text = _OFFLINE_CAUSES.get(cause, ("printer_offline", "offline"))
            return _result(name, required, FAIL, key, text, m)
        if status is PrinterStatus.PAPER_OUT:
            return _result(name, required, FAIL, status.value, "paper out", m)
        text = f"{info.model}: " + ("ready" if status is PrinterStatus.READY else "paper near end")
        if print_test_page:
            page = _print_test_page(printer, container.settings.kiosk_id)
            m["test_page"] = page
            if not page["printed"]:
                return _result(
                    name, required, FAIL, page["key"], f"{text}; the test page failed", m
                )
            status = PrinterStatus(page["after_status"])
            text += f"; test page printed in {page['seconds']:.1f} s"
            if status is PrinterStatus.PAPER_OUT:
                return _result(name, required, FAIL, status.value, f"{text}, then paper out", m)
        if status is PrinterStatus.PAPER_NEAR_END:
            return _result(name, required, WARN, status.value, text, m)
        return _result(name, required, PASS, status.value, text, m)
    finally:
        if opened_here:
            printer.close()


def _print_test_page(printer, kiosk_id: str) -> dict[str, Any]:
    from drivers.printer.base import Field, Paragraph, PrinterFault, ReceiptDocument, Rule, Title

    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    doc = ReceiptDocument(
        (
            Title("Printer test page"),
            Rule(),
            Field("Kiosk", kiosk_id),
            Field("Printed", now),
            Paragraph("kiosk doctor --print-test-page. This is not a receipt."),
        ),
        language="en",
    )
    try:
        result = printer.print_receipt(doc)
    except PrinterFault as exc:
        return {"printed": False, "key": exc.status.value, "cause": exc.cause}
    except DeviceProblem as exc:
        return {"printed": False, "key": exc.message_key, "cause": type(exc).__name__}
    return {
        "printed": True,
        "seconds": round(result.duration_s, 2),
        "height_dots": result.height_dots,
        "after_status": result.status.value,
    }


# --------------------------------------------------------------------------- disk, outbox


def check_disk(container, timeout: float = 5.0, *, limits: Limits = LIMITS) -> Check:
    """Free space where the data directory lives, and a real write (and fsync) into it."""
    name = "disk"
    required = REQUIRED[name]
    data_dir = Path(container.settings.data_dir)
    m: dict[str, Any] = {}
    try:
        usage = shutil.disk_usage(data_dir)
    except OSError as exc:
        return _result(
            name, required, FAIL, "doctor_disk_not_writable",
            f"data directory {data_dir}: {exc.strerror or type(exc).__name__}",
        )  # fmt: skip
    free_mb, total_mb = usage.free // 2**20, usage.total // 2**20
    m.update(free_mb=free_mb, total_mb=total_mb)
    started = time.monotonic()
    try:
        with tempfile.NamedTemporaryFile(dir=data_dir, prefix=".doctor-") as f:
            f.write(os.urandom(4096))
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        m["writable"] = False
        return _result(
            name, required, FAIL, "doctor_disk_not_writable",
            f"{free_mb} MB free; cannot write to {data_dir}: {exc.strerror or type(exc).__name__}",
            m,
        )  # fmt: skip
    m.update(writable=True, write_ms=_ms(time.monotonic() - started))
    text = f"{free_mb} MB free of {total_mb} MB in {data_dir}"
    if free_mb < limits.disk_fail_mb:
        return _result(name, required, FAIL, "doctor_disk_full", text, m)
    if free_mb < limits.disk_warn_mb:
        return _result(name, required, WARN, "doctor_disk_low", text, m)
    return _result(name, required, PASS, "doctor_disk_ok", text, m)


def check_outbox(container, timeout: float = 5.0, *, limits: Limits = LIMITS) -> Check:
    """How many sealed submissions wait for the back end, and for how long (advisory: the
    outbox is there so that waiting is safe)."""
    name = "outbox"
    required = REQUIRED[name]
    outbox = container.outbox
    if outbox is None:
        return _result(name, required, SKIP, "doctor_outbox_unavailable", "no outbox opened")
    try:
        depth, oldest = outbox.depth(), outbox.oldest()
    except Exception as exc:  # noqa: BLE001 - sqlite3 errors, a closed outbox
        return _result(
            name, required, FAIL, "doctor_outbox_unavailable", f"unreadable: {type(exc).__name__}"
        )
    age = max(0.0, time.time() - oldest) if oldest else None
    m = {"depth": depth, "oldest_age_s": round(age, 1) if age is not None else None}
    if depth == 0:
        return _result(name, required, PASS, "doctor_outbox_empty", "empty", m)
    text = f"{depth} waiting, oldest {_duration(age or 0.0)} old"
    if (age or 0.0) > limits.outbox_warn_age_s or depth > limits.outbox_warn_depth:
        return _result(name, required, WARN, "doctor_outbox_stuck", text, m)
    return _result(name, required, PASS, "doctor_outbox_queued", text, m)


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


# --------------------------------------------------------------------------- back end


def _where(url: str) -> str:
    """The back end's URL for output: scheme, host and port (never credentials)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


def _api_key(exc: ApiError) -> str:
    return exc.key if isinstance(exc, Rejected) else exc.message_key


def check_backend(container, timeout: float = 5.0, *, limits: Limits = LIMITS) -> Check:
    """The API client's health call: answered, round trip, version, database. Bounded by the
    client's own timeouts and retries (settings connect_timeout_s, read_timeout_s, retries)."""
    name = "backend"
    required = REQUIRED[name]
    where = _where(container.api.base_url)
    started = time.monotonic()
    try:
        health = container.api.health()
    except ApiError as exc:
        return _result(
            name, required, FAIL, _api_key(exc), f"no answer from {where}: {exc}",
            {"answered": False, "url": where},
        )  # fmt: skip
    rtt = _ms(time.monotonic() - started)
    m = {
        "answered": True,
        "url": where,
        "rtt_ms": rtt,
        "version": health.version,
        "api_version": health.api_version,
        "status": health.status,
        "database": health.database,
    }
    text = f"{where} answered in {rtt:.0f} ms (version {health.version}"
    text += f", database {health.database})"
    if health.database != "ok":
        return _result(name, required, FAIL, "doctor_backend_degraded", text, m)
    if health.status != "ok":
        return _result(name, required, WARN, "doctor_backend_degraded", text, m)
    if rtt > limits.backend_slow_ms:
        return _result(name, required, WARN, "doctor_backend_slow", text, m)
    return _result(name, required, PASS, "doctor_backend_ok", text, m)


def check_heartbeat(
    container,
    timeout: float = 5.0,
    *,
    devices: dict[str, c.DeviceReport] | None = None,
    limits: Limits = LIMITS,
) -> Check:
    """A signed heartbeat: accepted means the back end knows this kiosk's key. `devices`: the
    device states to report (default: the devices' own health)."""
    name = "heartbeat"
    required = REQUIRED[name]
    api = container.api
    m: dict[str, Any] = {"kiosk_id": api.kiosk_id}
    try:
        report = heartbeat_report(
            container.settings.data_dir,
            devices if devices is not None else container.device_reports(),
            container.outbox,
        )
    except Exception as exc:  # noqa: BLE001 - a report must not end the diagnostics
        return _result(name, required, FAIL, "error_device", f"no report: {type(exc).__name__}", m)
    started = time.monotonic()
    try:
        answer = api.heartbeat(report)
    except AuthRejected as exc:
        m["accepted"] = False
        return _result(
            name, required, FAIL, _api_key(exc),
            f"refused: kiosk {api.kiosk_id} is not registered with this key or is revoked "
            f"({exc})",
            m,
        )  # fmt: skip
    except ApiError as exc:
        m["accepted"] = False
        return _result(name, required, FAIL, _api_key(exc), f"not delivered: {exc}", m)
    m.update(
        accepted=True,
        rtt_ms=_ms(time.monotonic() - started),
        next_heartbeat_s=answer.next_heartbeat_s,
    )
    return _result(
        name, required, PASS, "doctor_heartbeat_ok",
        f"accepted for {api.kiosk_id} (signed with the registered key), "
        f"next in {answer.next_heartbeat_s} s",
        m,
    )  # fmt: skip


def check_clock(container, timeout: float = 5.0, *, limits: Limits = LIMITS) -> Check:
    """This kiosk's clock against the server's (the server_time of a health answer, stamped
    like every answer's X-Server-Time). Advisory: the client corrects its signatures by the
    offset it learns, but logs, receipts and TLS validity use the local clock."""
    name = "clock"
    required = REQUIRED[name]
    sent = time.time()
    try:
        health = container.api.health()
    except ApiError as exc:
        return _result(
            name, required, FAIL, "doctor_clock_unknown", f"unknown: no answer ({exc})",
            {"offset_s": None},
        )  # fmt: skip
    received = time.time()
    offset = health.server_time - (sent + received) / 2
    m = {
        "offset_s": round(offset, 3),
        "uncertainty_s": round((received - sent) / 2, 3),
        "client_offset_s": round(container.api.clock_offset.offset, 3),
    }
    ahead = "ahead of" if offset < 0 else "behind"
    text = f"{abs(offset):.1f} s {ahead} the server"
    if abs(offset) > limits.clock_warn_s:
        return _result(name, required, WARN, "doctor_clock_off", text, m)
    return _result(name, required, PASS, "doctor_clock_ok", text, m)


# --------------------------------------------------------------------------- TLS


def check_tls(
    container,
    timeout: float = 5.0,
    *,
    limits: Limits = LIMITS,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> Check:
    """The back end's certificate: days until it expires, whether this kiosk trusts it (the
    configured CA bundle, else the transport's default store) and whether it matches the
    configured pin. Skipped for an http URL (a warning when that host is not loopback)."""
    name = "tls"
    required = REQUIRED[name]
    settings = container.settings
    parts = urlsplit(settings.backend_url)
    host = parts.hostname or ""
    if parts.scheme != "https":
        if _loopback(host):
            return _result(name, required, SKIP, "doctor_tls_not_used", "not used (http, loopback)")
        return _result(
            name, required, WARN, "doctor_tls_not_used",
            f"not used: the back end URL is plain http to {host}",
        )  # fmt: skip
    port = parts.port or 443
    try:
        der = _peer_certificate(host, port, timeout)
    except (OSError, ssl.SSLError) as exc:
        return _result(
            name, required, FAIL, "error_network",
            f"no TLS handshake with {host}:{port}: {type(exc).__name__}",
        )  # fmt: skip
    from cryptography import x509

    cert = x509.load_der_x509_certificate(der)
    not_after = cert.not_valid_after_utc
    days_left = (not_after - now()).total_seconds() / 86400
    m: dict[str, Any] = {
        "days_left": round(days_left, 1),
        "not_after": not_after.isoformat(),
        "sha256": sha256(der).hexdigest(),
    }
    trouble = _untrusted(host, port, timeout, settings.ca_bundle)
    m["trusted"] = trouble is None
    if settings.pin_sha256:
        m["pin_matches"] = m["sha256"] == settings.pin_sha256
    expiry = f"expires {not_after:%Y-%m-%d} ({days_left:.0f} days left)"
    if days_left <= 0:
        return _result(
            name, required, FAIL, "doctor_tls_expired",
            f"certificate expired {not_after:%Y-%m-%d} ({-days_left:.0f} days ago)", m,
        )  # fmt: skip
    if trouble is not None:
        return _result(
            name, required, FAIL, "doctor_tls_untrusted", f"not trusted: {trouble}; {expiry}", m
        )
    if m.get("pin_matches") is False:
        return _result(
            name, required, FAIL, "doctor_tls_pin_mismatch",
            f"certificate does not match the configured pin; {expiry}", m,
        )  # fmt: skip
    if days_left < limits.tls_fail_days:
        return _result(name, required, FAIL, "doctor_tls_expiring", expiry, m)
    if days_left < limits.tls_warn_days:
        return _result(name, required, WARN, "doctor_tls_expiring", expiry, m)
    return _result(name, required, PASS, "doctor_tls_ok", f"trusted, {expiry}", m)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _peer_certificate(host: str, port: int, timeout: float) -> bytes:
    """The server's certificate (DER), whether or not it would be trusted: an expired or
    untrusted certificate is what this check must be able to describe."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection((host, port), timeout=timeout) as sock,
        ctx.wrap_socket(sock, server_hostname=host) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    if not der:
        raise ssl.SSLError("no certificate")
    return der


def _untrusted(host: str, port: int, timeout: float, ca_bundle) -> str | None:
    """None when a verifying handshake succeeds against what the API transport trusts (the
    configured bundle, else requests' default store); else why it does not."""
    if ca_bundle:
        cafile = str(ca_bundle)
    else:
        from requests.certs import where

        cafile = where()
    ctx = ssl.create_default_context(cafile=cafile)
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as sock,
            ctx.wrap_socket(sock, server_hostname=host),
        ):
            return None
    except ssl.SSLCertVerificationError as exc:
        return exc.verify_message or "verification failed"
    except (OSError, ssl.SSLError) as exc:
        return type(exc).__name__


# --------------------------------------------------------------------------- all of them

_DEVICE_CHECKS = ("camera", "fingerprint", "printer")


def _device_report(check: Check) -> c.DeviceReport:
    if not check.ok:
        state = c.DeviceState.MISSING if check.measurement.get("opened") is False else None
        state = state or c.DeviceState.ERROR
    else:
        state = c.DeviceState.DEGRADED if check.warning else c.DeviceState.OK
    return c.DeviceReport(state=state, detail=check.message_key[:200])


def run_checks(
    container,
    *,
    timeout: float = 5.0,
    print_test_page: bool = False,
    finger_wait_s: float | None = None,
    limits: Limits = LIMITS,
    only: tuple[str, ...] | None = None,
    on_check: Callable[[Check], None] | None = None,
) -> list[Check]:
    """Every check (or those named in `only`), in the order of CHECK_NAMES: devices first,
    so the heartbeat tells the back end the states just measured. `on_check` is called with
    each result as it comes (a screen can show progress). A check that raises unexpectedly
    is reported as failed (its exception's type only), never raised."""
    functions: dict[str, Callable[[], Check]] = {
        "camera": lambda: check_camera(container, timeout, limits=limits),
        "fingerprint": lambda: check_fingerprint(
            container, timeout, finger_wait_s=finger_wait_s, limits=limits
        ),
        "printer": lambda: check_printer(
            container, timeout, print_test_page=print_test_page, limits=limits
        ),
        "disk": lambda: check_disk(container, timeout, limits=limits),
        "outbox": lambda: check_outbox(container, timeout, limits=limits),
        "backend": lambda: check_backend(container, timeout, limits=limits),
        "heartbeat": lambda: check_heartbeat(
            container, timeout, devices=devices or None, limits=limits
        ),
        "tls": lambda: check_tls(container, timeout, limits=limits),
        "clock": lambda: check_clock(container, timeout, limits=limits),
    }
    wanted = only or CHECK_NAMES
    unknown = set(wanted) - set(CHECK_NAMES)
    if unknown:
        raise ValueError(f"unknown checks: {', '.join(sorted(unknown))}")
    devices: dict[str, c.DeviceReport] = {}
    results = []
    for name in CHECK_NAMES:
        if name not in wanted:
            continue
        started = time.monotonic()
        try:
            check = functions[name]()
        except Exception as exc:  # noqa: BLE001 - diagnostics report, they do not crash
            log.error("check %s crashed: %s", name, type(exc).__name__)
            check = _result(
                name, REQUIRED[name], FAIL, "doctor_check_crashed",
                f"the check itself failed: {type(exc).__name__}",
            )  # fmt: skip
        check = _with_seconds(check, time.monotonic() - started)
        if name in _DEVICE_CHECKS:
            devices[name] = _device_report(check)
        results.append(check)
        if on_check is not None:
            on_check(check)
    return results


def _with_seconds(check: Check, seconds: float) -> Check:
    return replace(check, seconds=seconds)


def all_ok(checks: list[Check]) -> bool:
    """Every required check passed (warnings and advisory checks do not count)."""
    return all(check.ok or not check.required for check in checks)


def report(checks: list[Check]) -> dict[str, Any]:
    """The JSON document of `kiosk doctor --json`."""
    return {"ok": all_ok(checks), "checks": [check.to_dict() for check in checks]}


# --------------------------------------------------------------------------- fault injection

#: The faults `kiosk doctor --demo --fault DEVICE=FAULT` can inject, with what each does.
FAULTS: dict[str, dict[str, str]] = {
    "camera": {
        "unplugged": "the camera is gone: open fails, an open one stops delivering",
        "no_frames": "the camera opens but delivers no frames",
        "black": "the picture is black (lens covered)",
    },
    "fingerprint": {
        "unplugged": "the module's line is gone (USB pulled)",
        "no_answer": "the module stops answering (takes ~5 s of probing)",
        "no_finger": "nobody touches the sensor",
        "smudged": "the next capture is refused as smudged",
    },
    "printer": {
        "unplugged": "the printer's line is gone",
        "offline": "the printer stops answering",
        "paper_out": "the roll is empty",
        "paper_near_end": "the roll is nearly empty",
        "cover_open": "the cover is open",
    },
    "backend": {
        "down": "the demo back end is stopped",
    },
}


class FaultError(ValueError):
    """A fault that cannot be applied here; the message is one line."""


def parse_fault(text: str) -> tuple[str, str]:
    """`DEVICE=FAULT` -> (device, fault); FaultError names what exists."""
    device, sep, fault = text.partition("=")
    device, fault = device.strip().lower(), fault.strip().lower()
    if not sep or device not in FAULTS:
        raise FaultError(f"not DEVICE=FAULT with DEVICE one of {', '.join(FAULTS)}: {text!r}")
    if fault not in FAULTS[device]:
        raise FaultError(f"{device} faults are {', '.join(FAULTS[device])}: {text!r}")
    return device, fault


def apply_fault(container, device: str, fault: str, *, backend=None) -> None:
    """Switch a simulated device's fault (container.simulators) so that it misbehaves
    through its contract; `backend=down` stops `backend` (the demo back end)."""
    if device == "backend":
        if backend is None:
            raise FaultError("backend faults need the demo back end (--demo)")
        backend.stop()
        return
    sim = container.simulators.get(device)
    if sim is None:
        raise FaultError(f"{device} is not simulated: faults need simulated devices (--demo)")
    if device == "camera":
        if fault == "unplugged":
            sim.faults.missing = True
            sim.faults.unplug_at = 0
        elif fault == "no_frames":
            sim.faults.no_frames = True
        elif fault == "black":
            sim.faults.black = True
    elif device == "fingerprint":
        if fault == "unplugged":
            sim.unplug(mode="hangup")
        elif fault == "no_answer":
            sim.unplug(mode="silent")
        elif fault == "no_finger":
            sim.no_finger()
        elif fault == "smudged":
            sim.fail_captures("smudged")
    elif device == "printer":
        setattr(sim, fault, True)
