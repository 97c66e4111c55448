"""The outbox: sealed evidence that could not reach the back end, kept until it is
acknowledged, then deleted.

Store-and-forward on a SQLite file (WAL, synchronous=FULL: a submission the resident was told
is "received" survives a power cut and kill -9). It holds only packages already encrypted to
the back end (kiosk/api/sealing.py): the kiosk cannot read them back. Deleted rows are
overwritten (secure_delete), so no ciphertext lingers in free pages either.

Exactly once: each entry keeps the idempotency key it was first sent with; a retry after a
lost answer gets the first decision back and the back end records nothing new. Each evidence
id is also accepted only once by the back end.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kiosk.api import contract as c
from kiosk.api.errors import ApiError, AuthRejected, NetworkError, RateLimited, ServerError

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    id INTEGER PRIMARY KEY,
    evidence_id TEXT NOT NULL UNIQUE,
    session_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    sealed TEXT NOT NULL,
    created_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    last_error TEXT
)
"""


@dataclass(frozen=True)
class Entry:
    id: int
    evidence_id: str
    session_id: str
    idempotency_key: str
    sealed: c.SealedEvidence
    created_at: float
    attempts: int


@dataclass(frozen=True)
class DrainResult:
    delivered: int = 0
    refused: int = 0  # the back end answered no for good: kept out of the queue, logged
    deferred: int = 0  # still waiting (back end down): tried again after a backoff


class Outbox:
    def __init__(
        self,
        path: Path,
        *,
        clock: Callable[[], float] = time.time,
        backoff_s: float = 5.0,
        max_backoff_s: float = 600.0,
    ):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "secure_delete=ON"):
            self._db.execute(f"PRAGMA {pragma}")
        self._db.execute(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ------------------------------------------------------------------ queue

    def put(self, session_id: str, sealed: c.SealedEvidence, idempotency_key: str) -> None:
        """Durable when it returns. Putting the same evidence twice keeps one entry."""
        now = self._clock()
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO entries (evidence_id, session_id, idempotency_key, "
                "sealed, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    sealed.evidence_id,
                    session_id,
                    idempotency_key,
                    sealed.model_dump_json(),
                    now,
                    now,
                ),
            )

    def depth(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM entries").fetchone()[0]

    def oldest(self) -> float | None:
        with self._lock:
            return self._db.execute("SELECT MIN(created_at) FROM entries").fetchone()[0]

    def due(self, limit: int = 20) -> list[Entry]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, evidence_id, session_id, idempotency_key, sealed, created_at, "
                "attempts FROM entries WHERE next_attempt_at <= ? ORDER BY id LIMIT ?",
                (self._clock(), limit),
            ).fetchall()
        return [
            Entry(r[0], r[1], r[2], r[3], c.SealedEvidence.model_validate_json(r[4]), r[5], r[6])
            for r in rows
        ]

    def _delete(self, entry_id: int) -> None:
        with self._lock:
            self._db.execute("DELETE FROM entries WHERE id = ?", (entry_id,))

    def _postpone(self, entry: Entry, error: str) -> None:
        delay = min(self.backoff_s * 2**entry.attempts, self.max_backoff_s)
        with self._lock:
            self._db.execute(
                "UPDATE entries SET attempts = attempts + 1, next_attempt_at = ?, "
                "last_error = ? WHERE id = ?",
                (self._clock() + delay, error[:200], entry.id),
            )

    # ------------------------------------------------------------------ drain

    def drain(self, client) -> DrainResult:
        """Sends what is due, oldest first; stops at the first sign the back end is down."""
        delivered = refused = deferred = 0
        entries = self.due()
        for i, entry in enumerate(entries):
            try:
                client.submit_evidence(
                    entry.session_id,
                    entry.sealed,
                    idempotency_key=entry.idempotency_key,
                    deferred=True,
                )
            except (NetworkError, ServerError, RateLimited) as exc:
                self._postpone(entry, type(exc).__name__)
                deferred = len(entries) - i  # the rest waits for the next pass
                break
            except AuthRejected as exc:
                # This kiosk is not (or no longer) trusted: keep everything for the
                # technician, never throw evidence away on an auth problem.
                self._postpone(entry, f"auth {exc.code}")
                deferred = len(entries) - i
                break
            except ApiError as exc:
                # A definitive no (replayed, expired, invalid): keeping it would only retry
                # forever. The audit log on the back end records why.
                log.warning("outbox entry %s refused: %s", entry.id, exc.code)
                self._delete(entry.id)
                refused += 1
                continue
            self._delete(entry.id)
            delivered += 1
        return DrainResult(delivered, refused, deferred)


class Drainer:
    """Drains in the background: at once when told (`kick`), and every `interval_s`."""

    def __init__(self, outbox: Outbox, client, interval_s: float = 15.0):
        self.outbox = outbox
        self.client = client
        self.interval_s = interval_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outbox-drain", daemon=True)

    def start(self) -> Drainer:
        self._thread.start()
        return self

    def kick(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self.outbox.depth():
                    self.outbox.drain(self.client)
            except Exception:  # the drain must outlive any one bad pass
                log.exception("outbox drain pass failed")
            self._wake.wait(self.interval_s)
            self._wake.clear()
