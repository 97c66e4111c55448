"""The receipt printer contract, and the receipt document every printer prints.

The duties are written at each declaration: what the caller may assume, what the driver must
guarantee, and which error kind each failure becomes. The contract suite
(tests/drivers/printer/test_contract.py) checks a driver against these words: against the
simulator by default, and against a real printer with `pytest -m hardware`
(KIOSK_TEST_PRINTER=tcp://HOST:9100, usb://VID:PID or serial:///dev/ttyUSB0?baudrate=N).

Life cycle::

    printer = SomePrinter(...)            # cheap: touches no hardware
    info = printer.open()                 # connects, checks it answers -> PrinterInfo
    printer.status()                      # -> PrinterStatus (ready / near end / out / offline)
    result = printer.print_receipt(doc, progress=cb)   # -> PrintResult, blocks until printed
    printer.health()                      # -> PrinterHealth, never raises
    printer.close()                       # idempotent

The document is language-agnostic: the kiosk resolves its message keys and passes finished,
translated strings; a printer never translates. Rendering (fonts, layout, QR code) belongs to
the driver, because it depends on the paper width and resolution.

Threads: `print_receipt` blocks and runs on a worker thread. `status`, `health` and `close`
may be called from other threads; a driver serialises use of its line with a lock (`health`
during a print reports the last known status instead of waiting).

Errors (drivers.errors):
- `DeviceRetry(PRINTER_BUSY)`: the printer answers but is momentarily not ready (its feed
  button is held, it is recovering after the cover was closed). Nothing was printed; the
  kiosk may call `print_receipt` again after a second or two.
- `PrinterFault` (a `DeviceError`): the printer failed: paper out (before or during the
  receipt), cover open, a printer error (`kind` HARDWARE), it stopped answering (TIMEOUT), or
  the line broke (UNPLUGGED). `status` says what the printer reported, `complete` whether the
  receipt came out whole. The kiosk takes the printer's out-of-service path: the resident is
  shown the reference number on screen instead, and the technician is told.
- `DeviceUnavailable`: missing at start (nothing at that address or port, no answer to a
  status query, library not installed), or the printer is used before `open`/after `close`.
A driver never lets another exception out of these methods.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Self

from drivers.errors import DeviceError, DeviceErrorKind, DeviceUnavailable

__all__ = [
    "PRINTER_BUSY",
    "Align",
    "Block",
    "Field",
    "Paragraph",
    "PrintProgress",
    "PrintResult",
    "PrintStage",
    "Printer",
    "PrinterFault",
    "PrinterHealth",
    "PrinterInfo",
    "PrinterStatus",
    "QrCode",
    "ReceiptDocument",
    "Reference",
    "Rule",
    "Space",
    "TextSize",
    "Title",
    "not_open",
]

#: The retry reason when the printer is momentarily not ready (a message key).
PRINTER_BUSY = "printer_busy"


# --------------------------------------------------------------------------- the document


class Align(StrEnum):
    LEFT = "left"
    CENTER = "center"
    RIGHT = "right"


class TextSize(StrEnum):
    """Relative text sizes; the renderer maps them to dots for the paper width."""

    SMALL = "small"
    NORMAL = "normal"
    LARGE = "large"


def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__}")
    return value


@dataclass(frozen=True)
class Title:
    """A heading: bold, large, centred, wrapped over as many lines as it needs."""

    text: str

    def __post_init__(self) -> None:
        _text(self.text, "Title.text")


@dataclass(frozen=True)
class Field:
    """A key-value row: label on the left, value (bold) on the right. When both do not fit on
    one line the label takes its own line and the value follows, right-aligned."""

    label: str
    value: str

    def __post_init__(self) -> None:
        _text(self.label, "Field.label")
        _text(self.value, "Field.value")


@dataclass(frozen=True)
class Paragraph:
    """Running text, wrapped at the paper width (between words for Latin scripts, between
    characters for Chinese, never before closing punctuation). "\\n" forces a line break."""

    text: str
    align: Align = Align.LEFT
    size: TextSize = TextSize.NORMAL
    bold: bool = False

    def __post_init__(self) -> None:
        _text(self.text, "Paragraph.text")
        object.__setattr__(self, "align", Align(self.align))
        object.__setattr__(self, "size", TextSize(self.size))


@dataclass(frozen=True)
class Reference:
    """The reference number in large bold type, centred, with an optional label above it.
    The number is shrunk (never wrapped) until it fits the paper width."""

    number: str
    label: str = ""

    def __post_init__(self) -> None:
        if not _text(self.number, "Reference.number").strip():
            raise ValueError("Reference.number is empty")
        _text(self.label, "Reference.label")


#: The longest QR payload accepted (bytes of UTF-8); a reference URL is far shorter.
QR_MAX_BYTES = 512


@dataclass(frozen=True)
class QrCode:
    """A QR code of `payload` (error correction M, 4-module quiet zone), centred, with an
    optional caption under it."""

    payload: str
    caption: str = ""

    def __post_init__(self) -> None:
        if not _text(self.payload, "QrCode.payload"):
            raise ValueError("QrCode.payload is empty")
        if len(self.payload.encode("utf-8")) > QR_MAX_BYTES:
            raise ValueError(f"QrCode.payload is longer than {QR_MAX_BYTES} bytes")
        _text(self.caption, "QrCode.caption")


@dataclass(frozen=True)
class Rule:
    """A dashed horizontal separator."""


@dataclass(frozen=True)
class Space:
    """Vertical white space, in dots (8 dots = 1 mm at 203 dpi)."""

    dots: int = 16

    def __post_init__(self) -> None:
        if not 0 <= self.dots <= 2000:
            raise ValueError("Space.dots must be within 0..2000")


Block = Title | Field | Paragraph | Reference | QrCode | Rule | Space
_BLOCK_TYPES = (Title, Field, Paragraph, Reference, QrCode, Rule, Space)


@dataclass(frozen=True)
class ReceiptDocument:
    """A receipt as a sequence of blocks, top to bottom, with already-translated strings.

    `language` is informational (a BCP 47 tag such as "zh-Hant-HK", for logs); the renderer
    does not need it. A document is immutable and may be printed any number of times.
    """

    blocks: tuple[Block, ...]
    language: str = ""

    def __post_init__(self) -> None:
        blocks = tuple(self.blocks)
        for b in blocks:
            if not isinstance(b, _BLOCK_TYPES):
                raise TypeError(f"not a receipt block: {b!r}")
        if not blocks:
            raise ValueError("a receipt needs at least one block")
        object.__setattr__(self, "blocks", blocks)

    def plain_text(self) -> str:
        """The receipt as plain text (for logs and the maintenance screen's last receipt)."""
        lines: list[str] = []
        for b in self.blocks:
            match b:
                case Title(text=t) | Paragraph(text=t):
                    lines.append(t)
                case Field(label=k, value=v):
                    lines.append(f"{k}: {v}")
                case Reference(number=n, label=lab):
                    lines.append(f"{lab} {n}".strip())
                case QrCode(payload=p, caption=c):
                    lines.append(f"[QR {p}]" + (f" {c}" if c else ""))
                case Rule():
                    lines.append("-" * 32)
                case Space():
                    lines.append("")
        return "\n".join(lines)


# --------------------------------------------------------------------------- status


class PrinterStatus(StrEnum):
    """What the printer says about itself. Each value is also the message key of its health.

    READY and PAPER_NEAR_END print; PAPER_NEAR_END asks a technician to change the roll soon.
    PAPER_OUT and OFFLINE do not print. OFFLINE covers: no answer at all (powered off, cable
    out), the cover open, a printer error, and a momentarily busy printer (see `PRINTER_BUSY`).
    """

    READY = "printer_ready"
    PAPER_NEAR_END = "printer_paper_near_end"
    PAPER_OUT = "printer_paper_out"
    OFFLINE = "printer_offline"

    @property
    def can_print(self) -> bool:
        return self in (PrinterStatus.READY, PrinterStatus.PAPER_NEAR_END)


class PrinterFault(DeviceError):
    """The printer failed (a `DeviceError`: out-of-service path).

    `status` is what the printer reported when the failure was noticed (OFFLINE when it did
    not answer), `cause` a short machine word for logs ("paper_out", "cover_open",
    "printer_error", "no_answer", "write_failed" ...), `complete` whether the receipt was
    printed whole (False when the paper ran out or the printer stopped mid-receipt, or when
    that is unknown).
    """

    def __init__(
        self,
        kind: DeviceErrorKind,
        status: PrinterStatus,
        cause: str,
        detail: str = "",
        *,
        complete: bool = False,
        device: str = "printer",
    ):
        self.status = PrinterStatus(status)
        self.cause = cause
        self.complete = complete
        super().__init__(kind, f"{cause}" + (f": {detail}" if detail else ""), device=device)


# --------------------------------------------------------------------------- results


class PrintStage(StrEnum):
    """Where a print job is; each value is also a message key the screen may show."""

    RENDERING = "printer_rendering"  # laying out the receipt image
    SENDING = "printer_sending"  # bytes travelling to the printer
    PRINTING = "printer_printing"  # all sent; waiting for the printer to finish
    DONE = "printer_done"  # printed and cut


@dataclass(frozen=True)
class PrintProgress:
    """One progress report. Over one job `fraction` never decreases; a successful job ends
    with exactly one DONE report at 1.0."""

    stage: PrintStage
    fraction: float

    @property
    def message_key(self) -> str:
        return self.stage.value


ProgressCallback = Callable[[PrintProgress], None]


@dataclass(frozen=True)
class PrinterInfo:
    """What `open()` learned about the printer and how it will print."""

    model: str  # e.g. "ESC/POS (raster)"
    transport: str  # e.g. "tcp://10.0.0.5:9100" (no credentials)
    width_dots: int  # raster width: 576 on 80 mm paper, 384 on 58 mm
    dpi: int = 203
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PrintResult:
    """A printed receipt: the size of the image and the job, and the status after it (a
    PAPER_NEAR_END here is the cue to send a technician with a roll)."""

    width_dots: int
    height_dots: int
    bytes_sent: int
    duration_s: float
    status: PrinterStatus


@dataclass(frozen=True)
class PrinterHealth:
    """`ok` and a message key for the maintenance screen; `details` for `kiosk doctor`."""

    ok: bool
    status: PrinterStatus | None  # None before open / after close
    message_key: str
    details: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- the contract


class Printer(abc.ABC):
    """A receipt printer. Subclasses implement the abstract methods below."""

    #: Short name used in errors and logs.
    device = "printer"

    @classmethod
    def is_usable(cls) -> bool:
        """Whether this driver can run here at all (its optional libraries import).

        Must not touch hardware and must not raise. The container asks this before
        constructing a real driver, so the kiosk starts without python-escpos installed.
        """
        return True

    @abc.abstractmethod
    def open(self) -> PrinterInfo:
        """Connect to the printer, reset it (ESC @) and check that it answers a status query.

        Duties: give up within the driver's connect and status timeouts; raise
        `DeviceUnavailable` when nothing is at the address/port, the library is missing, or
        the printer does not answer (a printer without a back channel is configured as such
        and is then only checked for a working connection). A printer that answers with
        PAPER_OUT or the cover open opens fine: `status()` tells. Returns `PrinterInfo`
        (also `self.info`). Opening an open printer reopens it.
        """

    @property
    @abc.abstractmethod
    def info(self) -> PrinterInfo:
        """The `PrinterInfo` of the last successful `open`; `DeviceUnavailable` before it."""

    @abc.abstractmethod
    def status(self) -> PrinterStatus:
        """Ask the printer now (real-time queries, answered even while it prints).

        Duties: return within the driver's status timeout (a few tenths of a second) and never
        raise for a device problem: no answer is OFFLINE. Before `open` / after `close`:
        `DeviceUnavailable`.
        """

    @abc.abstractmethod
    def print_receipt(
        self, document: ReceiptDocument, *, progress: ProgressCallback | None = None
    ) -> PrintResult:
        """Render `document` to a raster image at the printer's width and print it, then feed
        and cut. Blocks until the printer confirms it has printed the job.

        Duties:
        - check the status first: PAPER_OUT or cover open / printer error -> `PrinterFault`
          (HARDWARE) and nothing is sent; no answer -> `PrinterFault(TIMEOUT)`; momentarily
          busy -> `DeviceRetry(PRINTER_BUSY)`;
        - report progress through `progress` (if given) in the calling thread: RENDERING,
          SENDING with the share of bytes written, PRINTING, and DONE at 1.0 last;
        - paper running out or the printer stopping during the job -> `PrinterFault` with
          `complete=False` (HARDWARE for paper out / cover / error, TIMEOUT when it stopped
          answering, UNPLUGGED when the line broke);
        - the result carries the status after printing (READY or PAPER_NEAR_END, or
          PAPER_OUT when the roll ended just after a complete receipt);
        - before `open` / after `close`: `DeviceUnavailable`.
        """

    @abc.abstractmethod
    def health(self) -> PrinterHealth:
        """A cheap check (one status round trip, or the last known status while a job runs).
        `ok` is true for READY and PAPER_NEAR_END. Never raises."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the connection. Idempotent, never raises."""

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def not_open(device: str = "printer") -> DeviceUnavailable:
    """The error a driver raises when used before `open` (or after `close`)."""
    return DeviceUnavailable("not open", device=device, reason="not_open")
