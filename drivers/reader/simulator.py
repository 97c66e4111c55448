"""A scriptable simulated reader: payloads are queued, read back in order, with fault
switches (`ReaderFaults`, changeable at any time from any thread):

- `missing`: `open()` raises `DeviceUnavailable` (no scanner at start);
- `unplugged`: the scanner is gone: `read` raises `DeviceError(UNPLUGGED)` and health says
  FAILED; switching it off brings the reader back without a new `open`;
- `garbled`: payloads come out damaged, as a scanner with the wrong keyboard layout or a
  bad read delivers them (characters replaced, the text shortened): the reader cannot
  tell, the kiosk's parser must (an e-card: `ecard_malformed` / `ecard_unreadable`);
- `unreadable`: each scan is one the reader itself cannot read:
  `DeviceRetry(READER_UNREADABLE)`;
- `slow_s`: each scan becomes readable only this long after it was queued (a scanner that
  takes its time, a resident fumbling): a `read` with a shorter timeout returns None.

Queue with `scan(text)` (now) or `scan(text, after_s=2.0)` once the reader is open, or pass
`payloads` to the constructor (all due at `open`; `open` drops anything queued before).

Time: with `realtime=True` waits are real (`read` sleeps, `cancel`/`close` wake it); with
`realtime=False` (tests) time is virtual: a `read` that must wait advances the virtual
clock instead of sleeping (by up to its timeout) and returns at once.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from drivers.errors import DeviceCancelled, DeviceError, DeviceErrorKind, DeviceUnavailable
from drivers.reader.base import (
    Reader,
    ReaderHealth,
    ReaderInfo,
    ReaderState,
    Scan,
    not_open,
    unreadable,
)

__all__ = ["ReaderFaults", "SimulatedReader", "garble"]


@dataclass
class ReaderFaults:
    """The fault switches (see the module docstring)."""

    missing: bool = False
    unplugged: bool = False
    garbled: bool = False
    unreadable: bool = False
    slow_s: float = 0.0


def garble(text: str) -> str:
    """A damaged copy of `text`, deterministic: every seventh character replaced by the
    one an AZERTY layout types for it (or by "?"), and the last quarter cut off."""
    swap = str.maketrans("aqzwAQZW.;-_", "qawzQAWZ;.)°")
    chars = list(text[: max(1, (len(text) * 3) // 4)])
    for i in range(3, len(chars), 7):
        new = chars[i].translate(swap)
        chars[i] = new if new != chars[i] else "?"
    return "".join(chars)


class SimulatedReader(Reader):
    """The simulator (see the module docstring)."""

    def __init__(
        self,
        payloads: Iterable[str] = (),
        *,
        faults: ReaderFaults | None = None,
        realtime: bool = False,
        max_age_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.faults = faults or ReaderFaults()
        self.realtime = realtime
        self.max_age_s = max_age_s
        self._real_clock = clock
        self._vnow = 0.0
        self._cond = threading.Condition()
        self._queue: list[tuple[float, int, str, float]] = []  # (due, order, text, queued)
        self._order = itertools.count()
        self._initial = list(payloads)
        self._state = ReaderState.CLOSED
        self._info: ReaderInfo | None = None
        self._cancel_gen = 0
        self._scans = 0
        self._unreadable = 0
        self._last_scan_at: float | None = None
        self._last_error: str | None = None

    # -- script -----------------------------------------------------------------------

    def clock(self) -> float:
        return self._real_clock() if self.realtime else self._vnow

    def advance(self, seconds: float) -> None:
        """Virtual time only: move the clock on (scans queued `after_s` become due)."""
        if not self.realtime:
            with self._cond:
                self._vnow += max(0.0, seconds)
                self._cond.notify_all()

    def scan(self, text: str, *, after_s: float = 0.0) -> None:
        """A scan of `text`, `after_s` seconds from now (plus the `slow_s` fault)."""
        with self._cond:
            now = self.clock()
            due = now + max(0.0, after_s) + max(0.0, self.faults.slow_s)
            heapq.heappush(self._queue, (due, next(self._order), text, now))
            self._cond.notify_all()

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._queue)

    # -- contract ---------------------------------------------------------------------

    @property
    def info(self) -> ReaderInfo:
        if self._info is None:
            raise not_open(self.device)
        return self._info

    def open(self) -> ReaderInfo:
        self.close()
        if self.faults.missing:
            raise DeviceUnavailable("simulated: no scanner", device=self.device)
        with self._cond:
            self._queue.clear()
            self._scans = self._unreadable = 0
            self._last_scan_at = None
            self._last_error = None
            self._state = ReaderState.READY
        for text in self._initial:
            self.scan(text)
        self._info = ReaderInfo(
            kind="simulator",
            source="simulator",
            details={"realtime": self.realtime, "faults": dataclasses.asdict(self.faults)},
        )
        return self._info

    def read(self, timeout: float = 1.0) -> Scan | None:
        with self._cond:
            if self._state is ReaderState.CLOSED:
                raise not_open(self.device)
            gen = self._cancel_gen
            deadline = self.clock() + max(0.0, timeout)
            while True:
                if self._state is ReaderState.CLOSED or gen != self._cancel_gen:
                    raise DeviceCancelled("cancelled while reading", device=self.device)
                if self.faults.unplugged:
                    self._state = ReaderState.FAILED
                    self._last_error = "simulated: unplugged"
                    raise DeviceError(
                        DeviceErrorKind.UNPLUGGED, self._last_error, device=self.device
                    )
                if self._state is ReaderState.FAILED:  # the switch was turned off
                    self._state = ReaderState.READY
                    self._last_error = None
                now = self.clock()
                while self._queue and self._queue[0][0] <= now:
                    due, _, text, _queued = heapq.heappop(self._queue)
                    if now - due > self.max_age_s:
                        continue
                    return self._deliver(text, due)
                next_due = self._queue[0][0] if self._queue else None
                if next_due is not None and next_due <= deadline:
                    wait = next_due - now
                else:
                    wait = deadline - now
                    if wait <= 0:
                        return None
                if self.realtime:
                    self._cond.wait(min(wait, 0.1))
                else:
                    self._vnow += wait

    def _deliver(self, text: str, due: float) -> Scan:
        if self.faults.unreadable:
            self._unreadable += 1
            raise unreadable(self.device, "simulated: unreadable scan")
        if self.faults.garbled:
            text = garble(text)
        self._scans += 1
        self._last_scan_at = due
        return Scan(text=text, source="simulator", timestamp=due)

    def cancel(self) -> None:
        with self._cond:
            self._cancel_gen += 1
            self._cond.notify_all()

    def clear(self) -> None:
        with self._cond:
            self._queue.clear()

    def health(self) -> ReaderHealth:
        with self._cond:
            state = self._state
            if state is not ReaderState.CLOSED and self.faults.unplugged:
                state = ReaderState.FAILED
            age = (
                None if self._last_scan_at is None else max(0.0, self.clock() - self._last_scan_at)
            )
            return ReaderHealth(
                ok=state is ReaderState.READY,
                state=state,
                scans=self._scans,
                unreadable=self._unreadable,
                last_scan_age_s=age,
                last_error="simulated: unplugged" if self.faults.unplugged else self._last_error,
                details={"pending": len(self._queue), "faults": dataclasses.asdict(self.faults)},
            )

    def close(self) -> None:
        with self._cond:
            self._state = ReaderState.CLOSED
            self._cond.notify_all()
