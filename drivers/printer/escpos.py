"""The ESC/POS command stream, byte for byte: what we send and how we read the answers.

Only the handful of commands a raster receipt needs, built here rather than by python-escpos
(which is used, at most, as a transport):

    ESC @                      1B 40                 initialise (clear modes, not the buffer)
    GS v 0 m xL xH yL yH d..   1D 76 30 m ...        raster bit image, one band of rows
    ESC d n                    1B 64 n               print and feed n lines
    GS V 66 n                  1D 56 42 n            feed to the cutter (+ n units), partial cut
    GS V 1                     1D 56 01              partial cut, no feed
    DLE EOT n                  10 04 n               real-time status (n = 1, 2, 3, 4)
    GS r 1                     1D 72 01              paper sensor status, answered in turn

GS v 0 data: `xL + 256 xH` bytes per row, `yL + 256 yH` rows, each row left to right, the
most significant bit of each byte the leftmost dot, 1 = a black dot.

Answers. DLE EOT is executed on arrival, even while the printer is stopped (paper out, cover
open), so it is how we learn why a job stalls. GS r is executed in turn, after everything
sent before it has been printed, so its answer doubles as "the job is done". The two cannot
be confused: every DLE EOT answer has bits 1 and 4 set and bits 0 and 7 clear (0x12 under
mask 0x93), every GS r 1 answer has bit 4 (and bit 7) clear.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from drivers.printer.base import PrinterStatus

ESC = 0x1B
GS = 0x1D
DLE = 0x10
EOT = 0x04
LF = 0x0A

INIT = b"\x1b@"
#: Paper sensor status (GS r 1), processed in turn: answered once everything before it printed.
PAPER_SENSOR_QUERY = b"\x1dr\x01"

#: The default band height of GS v 0: 64 rows x 72 bytes = 4.6 KB per command, below the
#: receive buffer of the cheapest 80 mm printers.
DEFAULT_BAND_ROWS = 64


class RealTimeStatus(IntEnum):
    """The `n` of DLE EOT n."""

    PRINTER = 1  # online/offline, drawer pin
    OFFLINE_CAUSE = 2  # cover open, feed button, stopped by paper end, error
    ERROR_CAUSE = 3  # cutter error, unrecoverable, auto-recoverable
    PAPER_SENSOR = 4  # roll near end, roll end


def realtime_status_query(n: int) -> bytes:
    """DLE EOT n (n = 1..4)."""
    n = int(n)
    if n not in (1, 2, 3, 4):
        raise ValueError("DLE EOT n: n must be 1, 2, 3 or 4")
    return bytes((DLE, EOT, n))


def feed_lines(n: int) -> bytes:
    """ESC d n: print the buffer and feed n lines (0..255)."""
    if not 0 <= n <= 255:
        raise ValueError("ESC d n: n must be within 0..255")
    return bytes((ESC, 0x64, n))


def partial_cut(feed_units: int | None = 0) -> bytes:
    """GS V: a partial cut. With `feed_units` (0..255): GS V 66 n, which first feeds the paper
    to the cutter (plus n motion units), so the last printed row is never cut off; with None:
    GS V 1, a cut where the paper stands."""
    if feed_units is None:
        return bytes((GS, 0x56, 0x01))
    if not 0 <= feed_units <= 255:
        raise ValueError("GS V 66 n: n must be within 0..255")
    return bytes((GS, 0x56, 0x42, feed_units))


def _as_bits(image: np.ndarray) -> np.ndarray:
    bits = np.asarray(image)
    if bits.ndim != 2:
        raise ValueError("a raster image is 2-D (rows x dots)")
    if bits.dtype != np.bool_:
        raise TypeError("a raster image is a bool array (True = black dot)")
    if bits.shape[0] < 1 or bits.shape[1] < 1:
        raise ValueError("a raster image has at least one row and one dot")
    return bits


def pack_rows(image: np.ndarray) -> np.ndarray:
    """Bool rows (True = black) -> bytes per row, MSB leftmost, padded white to a byte."""
    return np.packbits(_as_bits(image), axis=1, bitorder="big")


def raster_band(packed: np.ndarray) -> bytes:
    """One GS v 0 command (normal density, m = 0) of already packed rows."""
    rows, width_bytes = packed.shape
    if not 1 <= width_bytes <= 0xFFFF or not 1 <= rows <= 0xFFFF:
        raise ValueError("GS v 0: width and height must fit in two bytes")
    header = bytes(
        (GS, 0x76, 0x30, 0, width_bytes & 0xFF, width_bytes >> 8, rows & 0xFF, rows >> 8)
    )
    return header + np.ascontiguousarray(packed, dtype=np.uint8).tobytes()


def raster_bands(image: np.ndarray, band_rows: int = DEFAULT_BAND_ROWS) -> Iterator[bytes]:
    """The image as GS v 0 commands of at most `band_rows` rows each, top to bottom."""
    if not 1 <= band_rows <= 0xFFFF:
        raise ValueError("band_rows must be within 1..65535")
    packed = pack_rows(image)
    for top in range(0, packed.shape[0], band_rows):
        yield raster_band(packed[top : top + band_rows])


def receipt_job(
    image: np.ndarray,
    *,
    band_rows: int = DEFAULT_BAND_ROWS,
    feed: int = 1,
    cut: bool = True,
) -> list[bytes]:
    """The whole job as chunks to write in order: ESC @, the bands, ESC d feed, GS V 66 0.

    Chunks keep band boundaries so a driver can report progress per band.
    """
    chunks = [INIT, *raster_bands(image, band_rows)]
    tail = (feed_lines(feed) if feed else b"") + (partial_cut(0) if cut else b"")
    if tail:
        chunks.append(tail)
    return chunks


# --------------------------------------------------------------------------- status answers


def is_realtime_answer(byte: int) -> bool:
    """The fixed bits of every DLE EOT 1..4 answer: bits 1 and 4 set, 0 and 7 clear."""
    return byte & 0x93 == 0x12


@dataclass(frozen=True)
class StatusReport:
    """What the DLE EOT answers (and GS r) said. `answered` False: the printer did not answer
    DLE EOT 1 in time, and every other field is unknown (False)."""

    answered: bool = True
    offline: bool = False  # DLE EOT 1 bit 3
    recovering: bool = False  # DLE EOT 1 bit 5: waiting for online recovery
    cover_open: bool = False  # DLE EOT 2 bit 2
    feed_button: bool = False  # DLE EOT 2 bit 3: paper being fed by the feed button
    stopped_paper_end: bool = False  # DLE EOT 2 bit 5: printing stopped by paper end
    error: bool = False  # DLE EOT 2 bit 6
    cutter_error: bool = False  # DLE EOT 3 bit 3
    unrecoverable_error: bool = False  # DLE EOT 3 bit 5
    auto_recoverable_error: bool = False  # DLE EOT 3 bit 6
    paper_near_end: bool = False  # DLE EOT 4 bits 2-3 / GS r 1 bits 0-1
    paper_out: bool = False  # DLE EOT 4 bits 5-6 / GS r 1 bits 2-3

    @property
    def status(self) -> PrinterStatus:
        """The one status the contract speaks of; paper out wins over everything answered."""
        if not self.answered:
            return PrinterStatus.OFFLINE
        if self.paper_out or self.stopped_paper_end:
            return PrinterStatus.PAPER_OUT
        if self.offline or self.cover_open or self.error:
            return PrinterStatus.OFFLINE
        if self.paper_near_end:
            return PrinterStatus.PAPER_NEAR_END
        return PrinterStatus.READY

    @property
    def busy(self) -> bool:
        """Offline for a passing reason only (feed button, recovering), no fault to fix."""
        return (
            self.answered
            and self.offline
            and (self.feed_button or self.recovering)
            and not (self.paper_out or self.stopped_paper_end or self.cover_open or self.error)
        )

    @property
    def cause(self) -> str:
        """A short word for logs and `PrinterFault.cause`."""
        if not self.answered:
            return "no_answer"
        if self.paper_out or self.stopped_paper_end:
            return "paper_out"
        if self.cover_open:
            return "cover_open"
        if self.error or self.cutter_error or self.unrecoverable_error:
            return "printer_error"
        if self.busy:
            return "busy"
        if self.offline:
            return "offline"
        if self.paper_near_end:
            return "paper_near_end"
        return "ready"

    def flags(self) -> dict[str, bool]:
        return {k: v for k, v in self.__dict__.items() if v and k != "answered"}


def _check_realtime(n: int, byte: int) -> int:
    if not 0 <= byte <= 0xFF:
        raise ValueError(f"DLE EOT {n}: not a byte: {byte}")
    if not is_realtime_answer(byte):
        raise ValueError(f"DLE EOT {n}: answer 0x{byte:02X} breaks the fixed bits (0x12/0x93)")
    return byte


def parse_printer_status(byte: int) -> dict[str, bool]:
    """DLE EOT 1: bit 3 offline, bit 5 waiting for online recovery."""
    b = _check_realtime(1, byte)
    return {"offline": bool(b & 0x08), "recovering": bool(b & 0x20)}


def parse_offline_cause(byte: int) -> dict[str, bool]:
    """DLE EOT 2: bit 2 cover open, bit 3 feed button, bit 5 stopped by paper end, bit 6
    error."""
    b = _check_realtime(2, byte)
    return {
        "cover_open": bool(b & 0x04),
        "feed_button": bool(b & 0x08),
        "stopped_paper_end": bool(b & 0x20),
        "error": bool(b & 0x40),
    }


def parse_error_cause(byte: int) -> dict[str, bool]:
    """DLE EOT 3: bit 3 autocutter error, bit 5 unrecoverable, bit 6 auto-recoverable."""
    b = _check_realtime(3, byte)
    return {
        "cutter_error": bool(b & 0x08),
        "unrecoverable_error": bool(b & 0x20),
        "auto_recoverable_error": bool(b & 0x40),
    }


def parse_paper_sensor(byte: int) -> dict[str, bool]:
    """DLE EOT 4: bits 2-3 roll near end, bits 5-6 roll end (either bit of a pair counts:
    printers set both or one of them)."""
    b = _check_realtime(4, byte)
    return {"paper_near_end": bool(b & 0x0C), "paper_out": bool(b & 0x60)}


def parse_gs_r_paper(byte: int) -> dict[str, bool]:
    """GS r 1: bits 0-1 roll near end, bits 2-3 roll end; bit 4 and bit 7 are always 0."""
    if not 0 <= byte <= 0xFF:
        raise ValueError(f"GS r 1: not a byte: {byte}")
    if byte & 0x90:
        raise ValueError(f"GS r 1: answer 0x{byte:02X} has bit 4 or 7 set")
    return {"paper_near_end": bool(byte & 0x03), "paper_out": bool(byte & 0x0C)}


_PARSERS = {
    1: parse_printer_status,
    2: parse_offline_cause,
    3: parse_error_cause,
    4: parse_paper_sensor,
}


def parse_realtime(n: int, byte: int) -> dict[str, bool]:
    """The flags of the answer to DLE EOT n; ValueError for a byte that cannot be one."""
    return _PARSERS[int(n)](byte)


def status_report(answers: dict[int, int | None]) -> StatusReport:
    """Combine DLE EOT answers {n: byte or None (no answer)} into one report. A missing
    answer to n = 1 means the printer did not answer at all."""
    if answers.get(1) is None:
        return StatusReport(answered=False)
    flags: dict[str, bool] = {}
    for n, byte in sorted(answers.items()):
        if byte is not None:
            flags.update(parse_realtime(n, byte))
    return StatusReport(answered=True, **flags)


# --------------------------------------------------------------------------- parsing a stream


@dataclass(frozen=True)
class Command:
    """One parsed command. `name`: INIT, RASTER, FEED, CUT, REALTIME_STATUS, PAPER_STATUS,
    LF, TEXT (a printable byte), OTHER (a known command we do not act on), UNKNOWN.
    `offset` is where it starts in the stream, `raw` its bytes."""

    name: str
    offset: int
    raw: bytes
    args: tuple[int, ...] = ()

    @property
    def realtime(self) -> bool:
        return self.name == "REALTIME_STATUS"

    def raster(self) -> np.ndarray:
        """RASTER only: the band as a bool array (rows x 8*width_bytes, True = black)."""
        if self.name != "RASTER":
            raise ValueError(f"{self.name} is not a raster command")
        _m, width_bytes, rows = self.args
        data = np.frombuffer(self.raw, dtype=np.uint8, offset=8).reshape(rows, width_bytes)
        return np.unpackbits(data, axis=1, bitorder="big").astype(bool)


# ESC / GS commands of fixed length: the number of parameter bytes after the command byte.
_ESC_FIXED = {
    0x40: 0,  # @ init
    0x21: 1,  # ! print mode
    0x2D: 1,  # - underline
    0x32: 0,  # 2 default line spacing
    0x33: 1,  # 3 line spacing
    0x45: 1,  # E emphasis
    0x47: 1,  # G double strike
    0x4A: 1,  # J print and feed n dots
    0x4D: 1,  # M font
    0x52: 1,  # R character set
    0x61: 1,  # a justification
    0x64: 1,  # d print and feed n lines
    0x70: 3,  # p pulse (drawer)
    0x74: 1,  # t code table
    0x7B: 1,  # { upside down
}
_GS_FIXED = {
    0x21: 1,  # ! character size
    0x42: 1,  # B reverse
    0x48: 1,  # H HRI position
    0x4C: 2,  # L left margin
    0x57: 2,  # W print area width
    0x61: 1,  # a ASB
    0x66: 1,  # f HRI font
    0x68: 1,  # h barcode height
    0x72: 1,  # r status
    0x77: 1,  # w barcode width
    0x49: 1,  # I printer id
}
_NAMES = {(ESC, 0x40): "INIT", (ESC, 0x64): "FEED", (GS, 0x72): "PAPER_STATUS"}


class CommandParser:
    """An incremental ESC/POS parser: feed it bytes as they arrive (in any split), get the
    complete commands back. A command cut across two writes is held until it is whole."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._offset = 0  # stream offset of _buf[0]

    @property
    def pending(self) -> int:
        """Bytes of an incomplete command still waiting for the rest."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[Command]:
        self._buf += data
        out: list[Command] = []
        while self._buf:
            cmd = self._next()
            if cmd is None:
                break
            out.append(cmd)
            del self._buf[: len(cmd.raw)]
            self._offset += len(cmd.raw)
        return out

    def _cmd(self, name: str, length: int, args: tuple[int, ...] = ()) -> Command:
        return Command(name, self._offset, bytes(self._buf[:length]), args)

    def _next(self) -> Command | None:
        b = self._buf
        first = b[0]
        if first == LF:
            return self._cmd("LF", 1)
        if first not in (ESC, GS, DLE):
            return self._cmd("TEXT", 1, (first,))
        if len(b) < 2:
            return None
        second = b[1]
        if first == DLE:
            if second != EOT:
                return self._cmd("UNKNOWN", 1, (first,))
            if len(b) < 3:
                return None
            n = b[2]
            if n in (7, 8):  # DLE EOT 7/8 take one more byte
                return self._cmd("OTHER", 4, (n, b[3])) if len(b) >= 4 else None
            return self._cmd("REALTIME_STATUS", 3, (n,))
        if first == GS and second == 0x76:  # GS v 0 m xL xH yL yH data
            if len(b) < 8:
                return None
            if b[2] != 0x30:
                return self._cmd("UNKNOWN", 2, (first, second))
            m, width_bytes, rows = b[3], b[4] | b[5] << 8, b[6] | b[7] << 8
            total = 8 + width_bytes * rows
            return self._cmd("RASTER", total, (m, width_bytes, rows)) if len(b) >= total else None
        if first == GS and second == 0x56:  # GS V m [n]
            if len(b) < 3:
                return None
            m = b[2]
            if m in (0x41, 0x42, 0x61, 0x62, 0x67, 0x68):
                return self._cmd("CUT", 4, (m, b[3])) if len(b) >= 4 else None
            return self._cmd("CUT", 3, (m,))
        if first == GS and second == 0x28:  # GS ( x pL pH data: length-prefixed
            if len(b) < 5:
                return None
            total = 5 + (b[3] | b[4] << 8)
            return self._cmd("OTHER", total, (b[2],)) if len(b) >= total else None
        table = _ESC_FIXED if first == ESC else _GS_FIXED
        if second not in table:
            return self._cmd("UNKNOWN", 2, (first, second))
        total = 2 + table[second]
        if len(b) < total:
            return None
        return self._cmd(_NAMES.get((first, second), "OTHER"), total, tuple(b[2:total]))


def parse_stream(data: bytes) -> list[Command]:
    """All complete commands of `data` (a trailing incomplete command is ignored)."""
    return CommandParser().feed(data)
