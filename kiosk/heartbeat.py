"""What the kiosk knows about its back end: a health check, then a signed heartbeat.

Plain Python with callbacks, no UI: the UI runs `BackendMonitor` and hands each status to its
own thread; `kiosk doctor` can call `check_backend` directly.
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kiosk import __version__
from kiosk.api import contract as c
from kiosk.api.client import KioskApiClient
from kiosk.api.errors import ApiError, Rejected

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BackendStatus:
    url: str
    answered: bool  # the health check answered
    accepted: bool  # the signed heartbeat was accepted: this kiosk is known and signs right
    version: str | None = None
    database: str | None = None
    next_heartbeat_s: int | None = None
    error_key: str | None = None  # message key of the failure, for the UI
    detail: str | None = None  # technical detail, for logs and maintenance

    def summary(self) -> str:
        """One line for logs (not for residents: they get message keys)."""
        if not self.answered:
            return f"back end {self.url} did not answer: {self.detail} ({self.error_key})"
        head = f"back end {self.url} answered: version {self.version}, database {self.database}"
        if self.accepted:
            return f"{head}; heartbeat accepted, next in {self.next_heartbeat_s} s"
        return f"{head}; heartbeat refused: {self.detail} ({self.error_key})"


class RecentErrors(logging.Handler):
    """The kiosk's last few warnings and errors, redacted, for the heartbeat's `last_errors`
    (what the fleet page shows a technician before they travel)."""

    def __init__(self, keep: int = 10):
        super().__init__(level=logging.WARNING)
        self.lines: collections.deque[str] = collections.deque(maxlen=keep)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            from kiosk.maintenance.redact import redact

            when = dt.datetime.fromtimestamp(record.created, dt.UTC).strftime("%H:%M:%S")
            text = redact(f"{when} {record.levelname} {record.name}: {record.getMessage()}")
            self.lines.append(text[:200])
        except Exception:  # noqa: BLE001 - a log handler must never raise
            self.handleError(record)

    def recent(self) -> list[str]:
        return list(self.lines)


RECENT_ERRORS = RecentErrors()


def heartbeat_report(
    data_dir: Path,
    devices: dict[str, c.DeviceReport] | None = None,
    outbox=None,
    last_errors: list[str] | None = None,
) -> c.HeartbeatRequest:
    """What the kiosk tells the back end each beat: versions, device states, the outbox's
    depth and age, free disk. `outbox` is a kiosk.outbox.Outbox (or None: nothing queued)."""
    oldest = outbox.oldest() if outbox is not None else None
    return c.HeartbeatRequest(
        app_version=__version__,
        devices=devices or {},
        outbox_depth=outbox.depth() if outbox is not None else 0,
        outbox_oldest_at=dt.datetime.fromtimestamp(oldest, dt.UTC) if oldest else None,
        free_disk_mb=shutil.disk_usage(_existing(data_dir)).free // 2**20,
        last_errors=list(last_errors or [])[-10:],
    )


def check_backend(client: KioskApiClient, report: c.HeartbeatRequest) -> BackendStatus:
    url = client.base_url
    try:
        health = client.health()
    except ApiError as exc:
        return BackendStatus(url, False, False, error_key=_key(exc), detail=str(exc))
    try:
        answer = client.heartbeat(report)
    except ApiError as exc:
        return BackendStatus(
            url,
            True,
            False,
            version=health.version,
            database=health.database,
            error_key=_key(exc),
            detail=str(exc),
        )
    return BackendStatus(
        url,
        True,
        True,
        version=health.version,
        database=health.database,
        next_heartbeat_s=answer.next_heartbeat_s,
    )


class BackendMonitor:
    """Checks the back end on its own thread, now and then at the interval the back end asks
    for. `on_status` is called on that thread: a UI must hand the status over to its own."""

    def __init__(
        self,
        client: KioskApiClient,
        report: Callable[[], c.HeartbeatRequest],
        on_status: Callable[[BackendStatus], None],
        interval_s: float,
    ):
        self._client = client
        self._report = report
        self._on_status = on_status
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="backend-monitor", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 2.0) -> None:
        # A call in flight may take up to the client's timeouts; the thread is a daemon, so
        # an exit does not wait for it beyond this.
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                status = check_backend(self._client, self._report())
            except Exception as exc:  # a bug here must not silently end the monitoring
                log.exception("back end check failed")
                status = BackendStatus(
                    self._client.base_url, False, False, error_key="error_backend", detail=repr(exc)
                )
            if self._stop.is_set():
                return
            self._on_status(status)
            self._stop.wait(status.next_heartbeat_s or self._interval_s)


def _key(exc: ApiError) -> str:
    return exc.key if isinstance(exc, Rejected) else exc.message_key


def _existing(path: Path) -> Path:
    path = Path(path).resolve()
    while not path.exists():
        path = path.parent
    return path
