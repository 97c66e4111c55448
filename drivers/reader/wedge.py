"""USB keyboard-wedge scanners: a scanner that pretends to be a keyboard and types what it
reads, very fast, then presses Enter.

The kiosk's UI receives those key events like any other typing, so something must tell a
scanner's burst from a person at a keyboard (a technician in maintenance mode). That is
`WedgeDecoder`, pure Python and testable without Kivy: the UI feeds it every key event as
`feed(key, timestamp)` and it sorts them:

- a **burst**: at least `min_length` keys, each within `max_gap_s` of the one before
  (scanners type a key every few milliseconds), ended by a terminator key (Enter by
  default) that also comes within `max_gap_s` -> a `Scan` with the text (without the
  terminator); up to `max_stalls` longer gaps of at most `stall_gap_s` are tolerated
  inside a burst that already looks like one (a busy UI thread delivers key events late);
- a burst that stops without its terminator, or grows beyond `max_length` ->
  `DeviceRetry(READER_UNREADABLE)` (a cut-off scan; with `require_terminator=False`,
  a scanner set up without a suffix, it is a `Scan`);
- anything else (slow keys, too few keys, editing keys such as Backspace or arrows) is a
  person typing: the keys are handed back through `on_typing` / `typed()` so the UI can
  replay them into the focused field. A person's keys are held at most `max_gap_s`, or
  `stall_gap_s` once they could be the start of a burst.

Keys: a one-character string is that character (the UI passes the text a key produced,
shift already applied); a longer string is a key name. Terminators: "enter", "return",
"numpadenter", "\\r", "\\n" (configurable: some scanners end with "tab"). Modifier names
("shift", "ctrl", "alt", "capslock", ...) are ignored. Any other name ("backspace",
"left", "f1", ...) is a key no scanner presses: its run is typing.

Timestamps are seconds on the decoder's `clock` (default `time.monotonic`: the UI stamps
each event with `time.monotonic()` when it arrives). A burst is recognised from its keys,
so the time it takes the UI to deliver them matters only beyond `stall_gap_s`.

Waiting: `wait(timeout)` returns the next `Scan` (None when none came), raises
`DeviceRetry(READER_UNREADABLE)` for a cut-off burst, `DeviceCancelled` after `cancel()`.
It also ends bursts that stopped (`poll(now)` does the same for callers that do not wait).

`WedgeReader` is the reader contract (drivers/reader/base.py) around a decoder; with a
`device_path` (e.g. /dev/input/by-id/usb-...-event-kbd) it reports the scanner missing at
`open` and unplugged while reading when that path is gone.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from drivers.errors import (
    DeviceError,
    DeviceErrorKind,
    DeviceProblem,
    DeviceRetry,
    DeviceUnavailable,
)
from drivers.reader.base import (
    Reader,
    ReaderHealth,
    ReaderInfo,
    ReaderState,
    Scan,
    not_open,
    unreadable,
)
from drivers.reader.inbox import ScanInbox

__all__ = ["TERMINATORS", "Typing", "WedgeDecoder", "WedgeReader"]

TERMINATORS = frozenset({"enter", "return", "numpadenter", "kp_enter", "\r", "\n"})
MODIFIERS = frozenset(
    {
        "shift",
        "lshift",
        "rshift",
        "ctrl",
        "lctrl",
        "rctrl",
        "alt",
        "lalt",
        "ralt",
        "alt-gr",
        "altgr",
        "super",
        "meta",
        "capslock",
        "numlock",
        "scrolllock",
        "compose",
    }
)

_EDITING_CHARS = frozenset({"\b", "\x7f", "\x1b"})  # backspace, delete, escape as characters


@dataclass(frozen=True)
class Typing:
    """Keys a person typed (not a scanner), in order, with when the last one came."""

    keys: tuple[str, ...]
    timestamp: float

    @property
    def text(self) -> str:
        """The characters among the keys (names such as "backspace" left out)."""
        return "".join(k for k in self.keys if len(k) == 1)


class WedgeDecoder:
    """Sorts key events into scanner bursts and a person's typing (see the module doc)."""

    def __init__(
        self,
        *,
        max_gap_s: float = 0.05,
        min_length: int = 6,
        max_length: int = 4096,
        terminators: frozenset[str] | set[str] = TERMINATORS,
        require_terminator: bool = True,
        stall_gap_s: float = 0.3,
        max_stalls: int = 2,
        on_scan: Callable[[Scan], None] | None = None,
        on_typing: Callable[[Typing], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        device: str = "reader",
        max_pending: int = 4,
        max_age_s: float = 30.0,
    ):
        self.max_gap_s = max_gap_s
        self.min_length = max(1, min_length)
        self.max_length = max_length
        self.terminators = frozenset(t if len(t) == 1 else t.lower() for t in terminators)
        self.require_terminator = require_terminator
        self.stall_gap_s = max(stall_gap_s, max_gap_s)
        self.max_stalls = max_stalls
        self.on_scan = on_scan
        self.on_typing = on_typing
        self.clock = clock
        self.device = device
        self.inbox = ScanInbox(
            device=device, clock=clock, max_pending=max_pending, max_age_s=max_age_s
        )
        self._lock = threading.RLock()
        self._run: list[tuple[str, float]] = []
        self._stalls = 0
        self._human = False  # the run holds a key no scanner types
        self._overflow = False
        self._typed: list[Typing] = []
        self.bursts = 0
        self.cut_off = 0
        self.last_scan_at: float | None = None

    # -- input ------------------------------------------------------------------------

    def feed(self, key: str, timestamp: float) -> None:
        """One key event. Never raises on any key (an empty or non-text key is ignored)."""
        if not isinstance(key, str) or not key:
            return
        name = key if len(key) == 1 else key.lower()
        if name in MODIFIERS:
            return
        with self._lock:
            if self._run:
                gap = timestamp - self._run[-1][1]
                if gap > self.max_gap_s:
                    if self._may_stall() and gap <= self.stall_gap_s:
                        self._stalls += 1
                    else:
                        self._end(terminated=False)
            if name in self.terminators:
                self._end(terminated=True, key=name, timestamp=timestamp)
                return
            if len(name) > 1 or name in _EDITING_CHARS:
                self._human = True  # a key no scanner presses
            if len(self._run) >= self.max_length:
                self._overflow = True
                self._run[-1] = (self._run[-1][0], timestamp)
                return
            self._run.append((name, timestamp))

    def poll(self, now: float | None = None) -> float | None:
        """Ends a run that stopped (no key for longer than it may pause). Returns the seconds
        until the current run would end, or None when there is none."""
        now = self.clock() if now is None else now
        with self._lock:
            if not self._run:
                return None
            limit = self.stall_gap_s if self._may_stall() else self.max_gap_s
            idle = now - self._run[-1][1]
            if idle > limit:
                self._end(terminated=False)
                return None
            return limit - idle

    # -- output -----------------------------------------------------------------------

    def wait(self, timeout: float = 1.0) -> Scan | None:
        """The next scan, waiting up to `timeout` seconds (real time); see the module doc."""
        return self.inbox.get(timeout, poll=self.poll)

    def cancel(self) -> None:
        """Ends a `wait` in progress with DeviceCancelled."""
        self.inbox.cancel()

    def clear(self) -> None:
        """Forgets pending scans, typing and the run in progress."""
        with self._lock:
            self._run.clear()
            self._reset()
            self._typed.clear()
        self.inbox.clear()

    def typed(self) -> list[Typing]:
        """The typing collected since the last call (when no `on_typing` callback is set)."""
        with self._lock:
            out, self._typed = self._typed, []
            return out

    # -- classification ---------------------------------------------------------------

    def _fast_keys(self) -> int:
        return len(self._run) - self._stalls

    def _may_stall(self) -> bool:
        """The run already looks like a burst: it may pause (a late UI thread) and go on."""
        return (
            not self._human
            and self._stalls < self.max_stalls
            and self._fast_keys() >= self.min_length
        )

    def _burst_like(self) -> bool:
        return not self._human and self._fast_keys() >= self.min_length

    def _reset(self) -> None:
        self._stalls = 0
        self._human = False
        self._overflow = False

    def _end(self, *, terminated: bool, key: str = "", timestamp: float | None = None) -> None:
        run = self._run
        stamp = timestamp if timestamp is not None else (run[-1][1] if run else self.clock())
        if run and self._burst_like():
            text = "".join(k for k, _ in run)
            if self._overflow:
                self.cut_off += 1
                self._emit_retry(f"burst longer than {self.max_length} keys", stamp)
            elif terminated or not self.require_terminator:
                self.bursts += 1
                self.last_scan_at = stamp
                scan = Scan(
                    text=text,
                    source="wedge",
                    timestamp=stamp,
                    details={"keys": len(run), "terminated": terminated},
                )
                self.inbox.put(scan)
                if self.on_scan is not None:
                    self._safe(self.on_scan, scan)
            else:
                self.cut_off += 1
                self._emit_retry(f"burst of {len(run)} keys without a terminator", stamp)
        else:
            keys = tuple(k for k, _ in run) + ((key,) if terminated else ())
            if keys:
                self._emit_typing(Typing(keys, stamp))
        self._run = []
        self._reset()

    def _emit_retry(self, detail: str, stamp: float) -> None:
        self.inbox.put(unreadable(self.device, detail), stamp)

    def _emit_typing(self, typing: Typing) -> None:
        if self.on_typing is not None:
            self._safe(self.on_typing, typing)
        else:
            self._typed.append(typing)
            del self._typed[:-64]  # nobody collects them: keep the newest only

    @staticmethod
    def _safe(callback, value) -> None:
        try:
            callback(value)
        except Exception:  # a broken callback must not stop the decoder
            import logging

            logging.getLogger(__name__).exception("wedge decoder callback failed")


class WedgeReader(Reader):
    """The reader contract around a `WedgeDecoder`. The UI calls `feed` with every key
    event (from its thread); the kiosk's worker calls `read`. `decoder_options` are passed
    to the decoder (max_gap_s, min_length, terminators ...)."""

    def __init__(
        self,
        *,
        device_path: str | os.PathLike | None = None,
        clock: Callable[[], float] = time.monotonic,
        on_typing: Callable[[Typing], None] | None = None,
        **decoder_options,
    ):
        self.device_path = Path(device_path) if device_path is not None else None
        self._clock = clock
        self.decoder = WedgeDecoder(
            clock=clock, device=self.device, on_typing=on_typing, **decoder_options
        )
        self.decoder.inbox.close()
        self._info: ReaderInfo | None = None
        self._state = ReaderState.CLOSED
        self._scans = 0
        self._unreadable = 0
        self._last_error: str | None = None

    def clock(self) -> float:
        return self._clock()

    def feed(self, key: str, timestamp: float | None = None) -> None:
        """One key event from the UI (`timestamp` on the reader's clock; now when None).
        Typing is handed on whether or not the reader is open; a burst scanned while it is
        closed is dropped at the next `open`."""
        self.decoder.feed(key, self.clock() if timestamp is None else timestamp)

    @property
    def info(self) -> ReaderInfo:
        if self._info is None:
            raise not_open(self.device)
        return self._info

    def open(self) -> ReaderInfo:
        self.close()
        source = str(self.device_path) if self.device_path else "keyboard"
        if self.device_path is not None and not self.device_path.exists():
            raise DeviceUnavailable(f"no scanner at {self.device_path}", device=self.device)
        self.decoder.clear()
        self.decoder.inbox.reopen()
        self._scans = self._unreadable = 0
        self._last_error = None
        self._state = ReaderState.READY
        self._info = ReaderInfo(
            kind="wedge",
            source=source,
            details={
                "max_gap_s": self.decoder.max_gap_s,
                "min_length": self.decoder.min_length,
                "terminators": sorted(self.decoder.terminators),
            },
        )
        return self._info

    def read(self, timeout: float = 1.0) -> Scan | None:
        if self._state is ReaderState.CLOSED:
            raise not_open(self.device)
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            self._check_present()
            step = min(max(deadline - time.monotonic(), 0.0), 0.5)
            try:
                scan = self.decoder.wait(step)
            except DeviceRetry:
                self._unreadable += 1
                raise
            except DeviceProblem:
                raise
            except Exception as exc:  # the contract: only device errors get out
                raise DeviceError(DeviceErrorKind.PROTOCOL, repr(exc), device=self.device) from exc
            if scan is not None:
                self._scans += 1
                return scan
            if time.monotonic() >= deadline:
                return None

    def _check_present(self) -> None:
        if self.device_path is None:
            return
        if self.device_path.exists():
            if self._state is ReaderState.FAILED:
                self._state = ReaderState.READY
                self._last_error = None
            return
        self._state = ReaderState.FAILED
        self._last_error = f"scanner unplugged: {self.device_path}"
        raise DeviceError(DeviceErrorKind.UNPLUGGED, self._last_error, device=self.device)

    def cancel(self) -> None:
        self.decoder.cancel()

    def clear(self) -> None:
        self.decoder.clear()

    def health(self) -> ReaderHealth:
        state = self._state
        if (
            state is not ReaderState.CLOSED
            and self.device_path is not None
            and not self.device_path.exists()
        ):
            state = ReaderState.FAILED
        last = self.decoder.last_scan_at
        return ReaderHealth(
            ok=state is ReaderState.READY,
            state=state,
            scans=self._scans,
            unreadable=self._unreadable,
            last_scan_age_s=None if last is None else max(0.0, self.clock() - last),
            last_error=self._last_error,
            details={
                "source": self._info.source if self._info else None,
                "bursts": self.decoder.bursts,
                "cut_off": self.decoder.cut_off,
                "pending": self.decoder.inbox.pending,
            },
        )

    def close(self) -> None:
        self._state = ReaderState.CLOSED
        self.decoder.inbox.close()
