"""The back end's clock, injected so tests can move time (stale timestamps, expiry, limits)."""

from __future__ import annotations

import datetime as dt
import threading
import time


class SystemClock:
    def time(self) -> float:
        return time.time()

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.time(), dt.UTC)

    def today(self) -> dt.date:
        return self.now().date()


class FakeClock(SystemClock):
    """Starts at the real time (or a given one) and moves only when told."""

    def __init__(self, start: float | None = None):
        self._t = time.time() if start is None else start
        self._lock = threading.Lock()

    def time(self) -> float:
        with self._lock:
            return self._t

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._t += seconds
