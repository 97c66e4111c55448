"""The ESC/POS receipt printer: renders the receipt to a raster image and sends it as GS v 0
bands over a transport (TCP 9100, USB or serial), watching the printer's status answers.

A job, byte for byte (see drivers/printer/escpos.py):

    DLE EOT 1, DLE EOT 4 (+ 2, 3 when offline)   status check: is there paper, is it online
    ESC @                                       initialise
    GS v 0 ... (one per band of `band_rows`)    the receipt image
    ESC d 1, GS V 66 0                          feed to the cutter and cut partially
    GS r 1                                      answered after all of the above was printed

While waiting for the GS r answer the driver asks DLE EOT every `poll_interval` seconds
(real-time, answered even by a stopped printer), so paper running out mid-receipt is reported
as such within a fraction of a second rather than after `print_timeout`.

After a fault mid-receipt the rest of the job may still sit in the printer and print when
paper is loaded; the next `print_receipt` reconnects and re-initialises first.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import numpy as np

from drivers.errors import DeviceError, DeviceErrorKind, DeviceRetry, DeviceUnavailable
from drivers.printer.base import (
    PRINTER_BUSY,
    Printer,
    PrinterFault,
    PrinterHealth,
    PrinterInfo,
    PrinterStatus,
    PrintProgress,
    PrintResult,
    PrintStage,
    ProgressCallback,
    ReceiptDocument,
    not_open,
)
from drivers.printer.escpos import (
    DEFAULT_BAND_ROWS,
    INIT,
    PAPER_SENSOR_QUERY,
    StatusReport,
    is_realtime_answer,
    parse_gs_r_paper,
    realtime_status_query,
    receipt_job,
    status_report,
)
from drivers.printer.render import WIDTH_80MM, ReceiptFonts, ReceiptRenderer
from drivers.printer.transport import (
    TcpTransport,
    Transport,
    serial_transport,
    usb_transport,
)

__all__ = ["EscposPrinter", "printer_from_url"]


class EscposPrinter(Printer):
    """A `Printer` for ESC/POS printers.

    - `transport`: where the bytes go (`TcpTransport`, `usb_transport(...)`, ...).
    - `fonts` / `renderer`: how receipts are drawn (a `ReceiptRenderer` wins over `fonts`).
    - `width`: dots across the head (576 for 80 mm paper, 384 for 58 mm).
    - `band_rows`: rows per GS v 0 command; `feed`: lines fed before the cut.
    - `status_timeout`: seconds to wait for each status answer; `print_timeout`: for the
      whole job to be confirmed; `poll_interval`: how often to ask while waiting.
    - `back_channel`: False for a printer that cannot answer (send-only USB/parallel
      adapters): no status checks, `status()` is READY while the line works.
    - `rows_per_second`: for printers that do not answer GS r (found out at `open`), how
      long a job is assumed to take (800 rows/s = 100 mm/s, slower than common printers);
      the driver then polls DLE EOT for that long instead of waiting for the GS r answer.
    """

    device = "printer"
    model = "ESC/POS raster"

    def __init__(
        self,
        transport: Transport,
        *,
        fonts: ReceiptFonts | None = None,
        renderer: ReceiptRenderer | None = None,
        width: int = WIDTH_80MM,
        band_rows: int = DEFAULT_BAND_ROWS,
        feed: int = 1,
        cut: bool = True,
        status_timeout: float = 0.5,
        print_timeout: float = 30.0,
        poll_interval: float = 0.25,
        back_channel: bool = True,
        rows_per_second: float = 800.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.transport = transport
        self.renderer = renderer or ReceiptRenderer(fonts, width=width)
        self.band_rows = band_rows
        self.feed = feed
        self.cut = cut
        self.status_timeout = status_timeout
        self.print_timeout = print_timeout
        self.poll_interval = poll_interval
        self.back_channel = back_channel
        self.rows_per_second = rows_per_second
        self._confirms = True  # the printer answers GS r (checked at open)
        self._clock = clock
        self._lock = threading.RLock()
        self._info: PrinterInfo | None = None
        self._last = StatusReport(answered=False)
        self._last_error: str | None = None
        self._dirty = False  # a job broke off mid-way: reconnect before the next one
        self._receipts = 0
        self._rt: deque[int] = deque()  # answers to DLE EOT
        self._gsr: deque[int] = deque()  # answers to GS r

    @classmethod
    def is_usable(cls) -> bool:
        """Always: TCP needs only the standard library. USB and serial need python-escpos;
        ask `transport.usable()` for those (open raises DeviceUnavailable without it)."""
        return True

    # ------------------------------------------------------------------ life cycle
    def open(self) -> PrinterInfo:
        with self._lock:
            self._close_locked()
            self._connect()
            self._info = PrinterInfo(
                model=self.model,
                transport=self.transport.name,
                width_dots=self.renderer.width,
                details={
                    "band_rows": self.band_rows,
                    "back_channel": self.back_channel,
                    "answers_gs_r": self._confirms if self.back_channel else None,
                },
            )
            return self._info

    def _connect(self) -> None:
        self.transport.open()
        try:
            self._write(INIT)
            report = self._query_status() if self.back_channel else StatusReport()
            if self.back_channel and report.answered and report.status.can_print:
                self._confirms = self._answers_gs_r()
        except DeviceError as e:
            self.transport.close()
            raise DeviceUnavailable(str(e), device=self.device, reason="no_answer") from e
        if not report.answered:
            self.transport.close()
            raise DeviceUnavailable(
                f"{self.transport.name}: no answer to DLE EOT 1 within {self.status_timeout}s",
                device=self.device,
                reason="no_answer",
            )
        self._last = report
        self._dirty = False

    def _answers_gs_r(self) -> bool:
        """Whether a ready printer answers GS r 1 (some clones do not)."""
        self._drain()
        self._gsr.clear()
        self._write(PAPER_SENSOR_QUERY)
        return self._await(self._gsr, self.status_timeout) is not None

    @property
    def info(self) -> PrinterInfo:
        if self._info is None:
            raise not_open(self.device)
        return self._info

    def close(self) -> None:
        got = self._lock.acquire(timeout=max(1.0, self.status_timeout * 4))
        try:
            self._close_locked()
        finally:
            if got:
                self._lock.release()

    def _close_locked(self) -> None:
        self._info = None
        with contextlib.suppress(Exception):  # close never raises
            self.transport.close()

    # ------------------------------------------------------------------ status
    def status(self) -> PrinterStatus:
        if self._info is None:
            raise not_open(self.device)
        if not self._lock.acquire(timeout=self.status_timeout):
            return self._last.status  # a job holds the line: what it saw last
        try:
            if self._info is None:
                raise not_open(self.device)
            return self._refresh().status
        finally:
            self._lock.release()

    def _refresh(self) -> StatusReport:
        if self._dirty:
            try:
                self._reconnect()
            except DeviceUnavailable as e:
                self._last_error = str(e)
                self._last = StatusReport(answered=False)
                return self._last
        try:
            report = self._query_status() if self.back_channel else StatusReport()
        except DeviceError as e:
            self._last_error = str(e)
            self._dirty = True
            report = StatusReport(answered=False)
        self._last = report
        return report

    def health(self) -> PrinterHealth:
        try:
            if self._info is None:
                return PrinterHealth(False, None, "device_unavailable", {"open": False})
            if self._lock.acquire(timeout=self.status_timeout):
                try:
                    report = self._refresh() if self._info is not None else self._last
                finally:
                    self._lock.release()
                busy = False
            else:
                report, busy = self._last, True
            status = report.status
            return PrinterHealth(
                ok=status.can_print,
                status=status,
                message_key=status.value,
                details={
                    "transport": self.transport.name,
                    "cause": report.cause,
                    "flags": report.flags(),
                    "printing": busy,
                    "receipts": self._receipts,
                    "last_error": self._last_error,
                },
            )
        except Exception as e:  # noqa: BLE001 (health never raises: it reports)
            return PrinterHealth(False, None, "device_error_protocol", {"error": repr(e)})

    # ------------------------------------------------------------------ printing
    def print_receipt(
        self, document: ReceiptDocument, *, progress: ProgressCallback | None = None
    ) -> PrintResult:
        if self._info is None:
            raise not_open(self.device)
        report_progress = progress or (lambda _p: None)
        started = self._clock()
        report_progress(PrintProgress(PrintStage.RENDERING, 0.0))
        image = self.renderer.render(document)
        with self._lock:
            if self._info is None:
                raise not_open(self.device)
            if self._dirty:
                self._reconnect_or_fault()
            try:
                self._last = self._query_status() if self.back_channel else StatusReport()
            except DeviceError as e:
                self._dirty = True
                raise self._stalled(e) from e
            self._check_before(self._last)
            sent = self._send(image, report_progress)
            if not self.back_channel:
                status = PrinterStatus.READY
            elif self._confirms:
                status = self._await_done()
            else:
                status = self._await_estimated(image.shape[0])
            self._receipts += 1
        report_progress(PrintProgress(PrintStage.DONE, 1.0))
        return PrintResult(
            width_dots=int(image.shape[1]),
            height_dots=int(image.shape[0]),
            bytes_sent=sent,
            duration_s=self._clock() - started,
            status=status,
        )

    def _check_before(self, report: StatusReport) -> None:
        if not report.answered:
            raise self._fault(DeviceErrorKind.TIMEOUT, report, "no_answer", "before the job")
        if report.busy:
            raise DeviceRetry(PRINTER_BUSY, report.cause, device=self.device)
        if not report.status.can_print:
            raise self._fault(DeviceErrorKind.HARDWARE, report, report.cause, "before the job")

    def _send(self, image: np.ndarray, progress: ProgressCallback) -> int:
        chunks = receipt_job(image, band_rows=self.band_rows, feed=self.feed, cut=self.cut)
        if self.back_channel and self._confirms:
            chunks.append(PAPER_SENSOR_QUERY)
        total = sum(len(c) for c in chunks)
        self._drain()
        self._gsr.clear()
        sent = 0
        progress(PrintProgress(PrintStage.SENDING, 0.05))
        for chunk in chunks:
            try:
                self._write(chunk)
            except DeviceError as e:
                self._dirty = True
                raise self._stalled(e) from e
            sent += len(chunk)
            progress(PrintProgress(PrintStage.SENDING, 0.05 + 0.85 * sent / total))
        progress(PrintProgress(PrintStage.PRINTING, 0.9))
        return sent

    def _await_done(self) -> PrinterStatus:
        """Wait for the GS r answer; between polls ask DLE EOT why it has not come yet.

        A failure must show in two polls in a row before the job is given up: a printer that
        takes a "10 04 n" inside the image data for a real-time query answers it, and one
        such stray answer must not abort a good receipt.
        """
        deadline = self._clock() + self.print_timeout
        strikes = 0
        while True:
            wait = max(0.0, min(self.poll_interval, deadline - self._clock()))
            try:
                answer = self._await(self._gsr, wait)
                if answer is not None:
                    flags = parse_gs_r_paper(answer)
                    report = StatusReport(answered=True, **flags)
                    self._last = report
                    return report.status
                report = self._query_status()
            except DeviceError as e:
                self._dirty = True
                raise self._stalled(e) from e
            self._last = report
            failing = not report.answered or not (report.status.can_print or report.busy)
            strikes = strikes + 1 if failing else 0
            if strikes >= 2:
                self._dirty = True
                if not report.answered:
                    raise self._fault(DeviceErrorKind.TIMEOUT, report, "no_answer", "mid-job")
                raise self._fault(DeviceErrorKind.HARDWARE, report, report.cause, "mid-job")
            if self._clock() >= deadline:
                self._dirty = True
                raise self._fault(
                    DeviceErrorKind.TIMEOUT, report, "not_confirmed", f"{self.print_timeout}s"
                )

    def _await_estimated(self, rows: int) -> PrinterStatus:
        """For printers that do not answer GS r: poll DLE EOT for as long as the receipt
        should take to print (two failing polls in a row end it, as in `_await_done`)."""
        deadline = self._clock() + rows / self.rows_per_second + self.poll_interval
        strikes = 0
        report = self._last
        while self._clock() < deadline:
            time.sleep(max(0.0, min(self.poll_interval, deadline - self._clock())))
            try:
                report = self._query_status()
            except DeviceError as e:
                self._dirty = True
                raise self._stalled(e) from e
            self._last = report
            failing = not report.answered or not (report.status.can_print or report.busy)
            strikes = strikes + 1 if failing else 0
            if strikes >= 2:
                self._dirty = True
                kind = DeviceErrorKind.HARDWARE if report.answered else DeviceErrorKind.TIMEOUT
                raise self._fault(kind, report, report.cause, "mid-job")
        return report.status

    def _stalled(self, error: DeviceError) -> PrinterFault:
        """A write or read failed mid-job: ask why (a printer that stopped on paper end
        stops taking bytes, and the write times out), and say so."""
        if error.kind == DeviceErrorKind.TIMEOUT:
            try:
                report = self._query_status()
            except DeviceError:
                report = StatusReport(answered=False)
            self._last = report
            if report.answered and not report.status.can_print:
                return self._fault(DeviceErrorKind.HARDWARE, report, report.cause, error.detail)
            return self._fault(DeviceErrorKind.TIMEOUT, report, "write_timeout", error.detail)
        self._last = StatusReport(answered=False)
        return self._fault(error.kind, self._last, "write_failed", error.detail)

    def _fault(
        self, kind: DeviceErrorKind, report: StatusReport, cause: str, detail: str
    ) -> PrinterFault:
        fault = PrinterFault(kind, report.status, cause, detail, device=self.device)
        self._last_error = str(fault)
        return fault

    def _reconnect(self) -> None:
        self.transport.close()
        self._rt.clear()
        self._gsr.clear()
        self._connect()

    def _reconnect_or_fault(self) -> None:
        try:
            self._reconnect()
        except DeviceUnavailable as e:
            self._last = StatusReport(answered=False)
            raise self._fault(DeviceErrorKind.UNPLUGGED, self._last, "reconnect", e.detail) from e

    # ------------------------------------------------------------------ the line
    def _write(self, data: bytes) -> None:
        self.transport.write(data)

    def _route(self, data: bytes) -> None:
        for byte in data:
            (self._rt if is_realtime_answer(byte) else self._gsr).append(byte)

    def _drain(self) -> None:
        """Take whatever already arrived (stale answers) off the line."""
        for _ in range(64):
            data = self.transport.read(64, 0.0)
            if not data:
                break
            self._route(data)
        self._rt.clear()

    def _await(self, queue: deque[int], timeout: float) -> int | None:
        deadline = self._clock() + timeout
        while not queue:
            remaining = deadline - self._clock()
            if remaining <= 0:
                return None
            self._route(self.transport.read(16, remaining))
        return queue.popleft()

    def _ask(self, n: int) -> int | None:
        self._drain()  # answers that are already here are not the answer to this question
        self._write(realtime_status_query(n))
        return self._await(self._rt, self.status_timeout)

    def _query_status(self) -> StatusReport:
        """DLE EOT 1 and 4, and 2 (and 3) when the printer says it is offline."""
        first = self._ask(1)
        if first is None:
            return StatusReport(answered=False)
        answers: dict[int, int | None] = {1: first, 4: self._ask(4)}
        if first & 0x08:
            answers[2] = second = self._ask(2)
            if second is not None and second & 0x40:
                answers[3] = self._ask(3)
        return status_report(answers)


def printer_from_url(url: str, **options) -> EscposPrinter:
    """An `EscposPrinter` for a configured address:

    - ``tcp://HOST[:PORT]`` (port 9100 by default; ``?connect_timeout=3&write_timeout=10``)
    - ``usb://VID:PID`` in hex (``?timeout=10&in_ep=0x82&out_ep=0x01``)
    - ``serial:///dev/ttyUSB0?baudrate=19200`` (``&timeout=1&write_timeout=10``)

    `options` go to `EscposPrinter` (fonts, width, timeouts ...).
    """
    parts = urlsplit(url)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}

    def number(key: str, default: float) -> float:
        return float(query.get(key, default))

    if parts.scheme == "tcp":
        if not parts.hostname:
            raise ValueError(f"no host in {url!r}")
        transport: Transport = TcpTransport(
            parts.hostname,
            parts.port or 9100,
            connect_timeout=number("connect_timeout", 3.0),
            write_timeout=number("write_timeout", 10.0),
        )
    elif parts.scheme == "usb":
        vid, _, pid = parts.netloc.partition(":")
        transport = usb_transport(
            int(vid, 16),
            int(pid, 16),
            timeout=number("timeout", 10.0),
            in_ep=int(query.get("in_ep", "0x82"), 0),
            out_ep=int(query.get("out_ep", "0x01"), 0),
        )
    elif parts.scheme == "serial":
        transport = serial_transport(
            parts.path,
            baudrate=int(query.get("baudrate", "9600")),
            timeout=number("timeout", 1.0),
            write_timeout=number("write_timeout", 10.0),
        )
    else:
        raise ValueError(f"unknown printer address {url!r}: use tcp://, usb:// or serial://")
    return EscposPrinter(transport, **options)
