"""The waiting room of scans: filled by whatever produces them (key events, a simulator
script), emptied by `Reader.read`. Thread-safe; implements the pending-scan, cancel and
close duties of drivers/reader/base.py once for the readers that need them."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from drivers.errors import DeviceCancelled, DeviceRetry
from drivers.reader.base import Scan

Item = Scan | DeviceRetry


class ScanInbox:
    """Scans (and unreadable-scan retries) in arrival order.

    `get` waits in real time (`time.monotonic`); ages are measured on `clock`, the clock
    the scans' timestamps are on. At most `max_pending` items are kept (the oldest go)."""

    def __init__(
        self,
        *,
        device: str,
        clock: Callable[[], float] = time.monotonic,
        max_pending: int = 4,
        max_age_s: float = 30.0,
    ):
        self.device = device
        self.clock = clock
        self.max_pending = max_pending
        self.max_age_s = max_age_s
        self._cond = threading.Condition()
        self._items: deque[tuple[float, Item]] = deque()
        self._cancel_gen = 0
        self._closed = False

    def put(self, item: Item, timestamp: float | None = None) -> None:
        stamp = item.timestamp if isinstance(item, Scan) else timestamp
        with self._cond:
            self._items.append((self.clock() if stamp is None else stamp, item))
            while len(self._items) > self.max_pending:
                self._items.popleft()
            self._cond.notify_all()

    def get(
        self,
        timeout: float,
        *,
        poll: Callable[[], float | None] | None = None,
    ) -> Scan | None:
        """The oldest fresh item: a Scan is returned, a DeviceRetry raised; None when nothing
        came within `timeout` seconds. `poll` is called before each wait (it may `put`
        items) and returns how long until it next needs calling (None: not before a put)."""
        deadline = time.monotonic() + max(0.0, timeout)
        with self._cond:
            gen = self._cancel_gen
            while True:
                if self._closed or gen != self._cancel_gen:
                    raise DeviceCancelled("cancelled while reading", device=self.device)
                item = self._pop_fresh()
                if item is not None:
                    if isinstance(item, DeviceRetry):
                        raise item
                    return item
                wait = deadline - time.monotonic()
                if poll is not None:
                    self._cond.release()
                    try:
                        again = poll()
                    finally:
                        self._cond.acquire()
                    if self._items:
                        continue
                    if again is not None:
                        wait = min(wait, max(again, 0.001))
                if deadline - time.monotonic() <= 0:
                    return None
                self._cond.wait(min(wait, 0.5))

    def _pop_fresh(self) -> Item | None:
        now = self.clock()
        while self._items:
            stamp, item = self._items.popleft()
            if now - stamp <= self.max_age_s:
                return item
        return None

    def cancel(self) -> None:
        with self._cond:
            self._cancel_gen += 1
            self._cond.notify_all()

    def clear(self) -> None:
        with self._cond:
            self._items.clear()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._items.clear()
            self._cond.notify_all()

    def reopen(self) -> None:
        with self._cond:
            self._closed = False
            self._items.clear()

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._items)
