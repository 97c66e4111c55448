"""The simulated receipt printer: a scriptable ESC/POS device, and a decoder of what it was sent.

`SimulatedPrinterDevice` is the printer's side of the line. It keeps every byte it receives
(`received`, like python-escpos's Dummy), parses the stream as a real printer does (a
command cut across writes is held until whole), answers DLE EOT 1-4 at once and GS r 1 in
turn, and "prints": each GS v 0 band goes onto the current page, each cut closes a receipt
(`receipts`). Fault switches, settable at any time from any thread:

- `paper_out`: the roll is empty. Nothing further is printed (commands are held, GS r is not
  answered); DLE EOT says offline, stopped by paper end, roll end. `load_paper()` clears it
  and prints what was held, as a real printer resumes its buffer.
- `paper_near_end`: the near-end sensor: printing goes on, status says so.
- `offline`: the printer stops answering and drops what it is sent (powered off, hung);
  `offline_after(n)`: the same, once `n` more bytes have arrived (switched off mid-receipt).
- `paper_out_after(n)`: the paper runs out mid-receipt: commands that start `n` bytes or more
  after the call are held as with `paper_out` (which becomes true then).
- `cover_open`, `feed_button`: the other reasons a printer goes offline (fault / busy).
- `unplugged`: the line is gone: the transport cannot open, writes fail.
- `answers_gs_r`: False for models that ignore GS r (the driver then estimates the time).
- `realtime_inside_data`: like printers that do not disable real-time commands inside
  graphics data, also answer every "10 04 n" (n = 1..4) found inside GS v 0 image bytes
  (the image still prints as sent).

`SimulatedPrinter` is the real `EscposPrinter` driver wired to such a device through an
in-process transport, so everything above the bytes runs the production code.

`decode_rasters` / `decode_receipts` turn a byte stream back into the images it would print.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from drivers.errors import DeviceError, DeviceErrorKind, DeviceUnavailable
from drivers.printer.escpos import Command, CommandParser, parse_stream
from drivers.printer.escpos_printer import EscposPrinter
from drivers.printer.render import WIDTH_80MM, ReceiptFonts, ReceiptRenderer
from drivers.printer.transport import Transport

__all__ = [
    "SimulatedPrinter",
    "SimulatedPrinterDevice",
    "SimulatorTransport",
    "decode_rasters",
    "decode_receipts",
]


class SimulatedPrinterDevice:
    """A scriptable ESC/POS printer (see the module docstring)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._parser = CommandParser()
        self._replies = bytearray()
        self._page: list[np.ndarray] = []
        self._paper_out = False
        self._cover_open = False
        self._feed_button = False
        self._out_at: int | None = None  # stream offset where the paper runs out
        self._offline_at: int | None = None  # stream offset where it stops answering
        #: Every byte received, in order (bytes sent while `offline` are not here).
        self.received = bytearray()
        #: Bytes sent while offline (lost).
        self.dropped = 0
        #: Commands executed ("printed"), in order; real-time queries are not among them.
        self.executed: list[Command] = []
        #: Commands received but held because the printer is stopped (paper out, cover ...).
        self.held: list[Command] = []
        #: The n of every DLE EOT n answered.
        self.status_queries: list[int] = []
        #: Finished receipts: the bands printed between two cuts, stacked (True = black).
        self.receipts: list[np.ndarray] = []
        self.paper_near_end = False
        self.offline = False
        self.unplugged = False
        self.realtime_inside_data = False
        self.answers_gs_r = True

    # ------------------------------------------------------------------ switches
    @property
    def paper_out(self) -> bool:
        return self._paper_out

    @paper_out.setter
    def paper_out(self, value: bool) -> None:
        with self._cond:
            self._paper_out = bool(value)
            if not value:
                self._out_at = None
            self._resume()

    @property
    def cover_open(self) -> bool:
        return self._cover_open

    @cover_open.setter
    def cover_open(self, value: bool) -> None:
        with self._cond:
            self._cover_open = bool(value)
            self._resume()

    @property
    def feed_button(self) -> bool:
        return self._feed_button

    @feed_button.setter
    def feed_button(self, value: bool) -> None:
        with self._cond:
            self._feed_button = bool(value)
            self._resume()

    def paper_out_after(self, n: int) -> None:
        """Let the paper run out once `n` more bytes have arrived (at the first command that
        starts there or later)."""
        with self._cond:
            self._out_at = len(self.received) + max(0, int(n))

    def offline_after(self, n: int) -> None:
        """Go `offline` once `n` more bytes have arrived (the rest of that write is lost)."""
        with self._cond:
            self._offline_at = len(self.received) + max(0, int(n))

    def load_paper(self) -> None:
        """A new roll: clears paper out and near end, and prints what was held."""
        with self._cond:
            self.paper_near_end = False
            self.paper_out = False

    @property
    def stopped(self) -> bool:
        return self._paper_out or self._cover_open or self._feed_button

    # ------------------------------------------------------------------ the line
    def receive(self, data: bytes) -> None:
        """Bytes arriving from the host."""
        with self._cond:
            if self.offline:
                self.dropped += len(data)
                return
            if self._offline_at is not None:
                keep = max(0, self._offline_at - len(self.received))
                if keep < len(data):
                    self._take(bytes(data[:keep]))
                    self.dropped += len(data) - keep
                    self.offline, self._offline_at = True, None
                    return
            self._take(bytes(data))

    def _take(self, data: bytes) -> None:
        self.received += data
        for cmd in self._parser.feed(data):
            if self._out_at is not None and cmd.offset >= self._out_at:
                self._paper_out, self._out_at = True, None
            if cmd.realtime:
                self._answer_realtime(cmd.args[0])
                continue
            if cmd.name == "RASTER" and self.realtime_inside_data:
                image_bytes = cmd.raw[8:]
                at = image_bytes.find(b"\x10\x04")
                while 0 <= at < len(image_bytes) - 2:
                    if 1 <= image_bytes[at + 2] <= 4:
                        self._answer_realtime(image_bytes[at + 2])
                    at = image_bytes.find(b"\x10\x04", at + 1)
            if self.stopped or self.held:
                self.held.append(cmd)
            else:
                self._execute(cmd)
        self._cond.notify_all()

    def read(self, max_bytes: int, timeout: float) -> bytes:
        """Answers waiting for the host: up to `max_bytes`, waiting up to `timeout` seconds
        for the first."""
        deadline = time.monotonic() + max(0.0, timeout)
        with self._cond:
            while not self._replies:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return b""
                self._cond.wait(remaining)
            out = bytes(self._replies[:max_bytes])
            del self._replies[:max_bytes]
            return out

    # ------------------------------------------------------------------ the printer
    def _answer_realtime(self, n: int) -> None:
        byte = 0x12
        if n == 1:
            byte |= 0x08 if self.stopped else 0
        elif n == 2:
            byte |= (0x04 if self._cover_open else 0) | (0x08 if self._feed_button else 0)
            byte |= 0x20 if self._paper_out else 0
        elif n == 4:
            byte |= 0x0C if (self.paper_near_end or self._paper_out) else 0
            byte |= 0x60 if self._paper_out else 0
        elif n != 3:
            return  # DLE EOT 5.. : not answered by this model
        self.status_queries.append(n)
        self._replies.append(byte)

    def _paper_byte(self) -> int:
        """The GS r 1 answer: bits 0-1 near end, bits 2-3 roll end."""
        out = 0x0F if self._paper_out else 0
        return out | (0x03 if self.paper_near_end else 0)

    def _execute(self, cmd: Command) -> None:
        self.executed.append(cmd)
        if cmd.name == "RASTER":
            self._page.append(cmd.raster())
        elif cmd.name == "CUT":
            self.receipts.append(_stack(self._page))
            self._page = []
        elif cmd.name == "PAPER_STATUS" and cmd.args[0] in (1, 0x31) and self.answers_gs_r:
            self._replies.append(self._paper_byte())

    def _resume(self) -> None:
        while self.held and not self.stopped:
            self._execute(self.held.pop(0))
        self._cond.notify_all()

    # ------------------------------------------------------------------ inspection
    @property
    def page(self) -> np.ndarray | None:
        """The bands printed since the last cut (None when there are none)."""
        with self._cond:
            return _stack(self._page) if self._page else None

    def clear(self) -> None:
        """Forget what was received and printed (the switches stay as they are)."""
        with self._cond:
            self.received.clear()
            self._parser = CommandParser()
            self._out_at = self._offline_at = None
            self.executed.clear()
            self.held.clear()
            self.status_queries.clear()
            self.receipts.clear()
            self._page = []
            self._replies.clear()
            self.dropped = 0


class SimulatorTransport(Transport):
    """An in-process line to a `SimulatedPrinterDevice`."""

    def __init__(self, device: SimulatedPrinterDevice, name: str = "sim://printer"):
        self.device = device
        self.name = name
        self._open = False

    def open(self) -> None:
        if self.device.unplugged:
            raise DeviceUnavailable(f"{self.name}: unplugged", device="printer", reason="missing")
        self._open = True

    def _check(self) -> None:
        if not self._open or self.device.unplugged:
            raise DeviceError(DeviceErrorKind.UNPLUGGED, f"{self.name}: gone", device="printer")

    def write(self, data: bytes) -> None:
        self._check()
        self.device.receive(data)

    def read(self, max_bytes: int, timeout: float) -> bytes:
        self._check()
        return self.device.read(max_bytes, timeout)

    def close(self) -> None:
        self._open = False


class SimulatedPrinter(EscposPrinter):
    """The ESC/POS driver on a simulated printer; the device is `self.sim`.

    Timeouts default short (the simulator answers at once), so fault tests stay fast.
    """

    model = "ESC/POS raster (simulator)"

    def __init__(
        self,
        device: SimulatedPrinterDevice | None = None,
        *,
        fonts: ReceiptFonts | None = None,
        renderer: ReceiptRenderer | None = None,
        width: int = WIDTH_80MM,
        status_timeout: float = 0.05,
        poll_interval: float = 0.02,
        print_timeout: float = 5.0,
        **options,
    ):
        self.sim = device or SimulatedPrinterDevice()
        super().__init__(
            SimulatorTransport(self.sim),
            fonts=fonts,
            renderer=renderer,
            width=width,
            status_timeout=status_timeout,
            poll_interval=poll_interval,
            print_timeout=print_timeout,
            **options,
        )


# --------------------------------------------------------------------------- decoding


def _stack(bands: list[np.ndarray]) -> np.ndarray:
    if not bands:
        return np.zeros((0, 0), dtype=bool)
    width = max(b.shape[1] for b in bands)
    padded = [np.pad(b, ((0, 0), (0, width - b.shape[1]))) for b in bands]
    return np.vstack(padded)


def decode_rasters(data: bytes) -> list[np.ndarray]:
    """Every GS v 0 band in `data`, in order, as bool arrays (rows x 8*width_bytes)."""
    return [c.raster() for c in parse_stream(bytes(data)) if c.name == "RASTER"]


def decode_receipts(data: bytes) -> list[np.ndarray]:
    """The images `data` would print: the bands between two cuts stacked into one image per
    receipt; bands after the last cut (an unfinished receipt) come last."""
    out: list[np.ndarray] = []
    page: list[np.ndarray] = []
    for cmd in parse_stream(bytes(data)):
        if cmd.name == "RASTER":
            page.append(cmd.raster())
        elif cmd.name == "CUT":
            out.append(_stack(page))
            page = []
    if page:
        out.append(_stack(page))
    return out
