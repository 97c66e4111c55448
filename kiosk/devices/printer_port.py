"""The flow's printer port on a real printer driver (drivers/printer): translate, print, and
turn the driver's errors into the two kinds the flow knows.

The printer is opened lazily and opened again after a failure, so a printer that was off at
start, or had its roll changed, prints at the next receipt without restarting the kiosk.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from drivers.errors import DeviceProblem, DeviceRetry, DeviceUnavailable
from drivers.printer.base import Printer, PrinterFault, PrinterStatus
from kiosk import receipts
from kiosk.flow.ports import DeviceFailure

log = logging.getLogger(__name__)

_FAULT_KEYS = {
    PrinterStatus.PAPER_OUT: "printer_paper_out",
    PrinterStatus.OFFLINE: "printer_offline",
}


class PrinterPort:
    def __init__(
        self,
        printer: Printer,
        *,
        busy_retries: int = 2,
        busy_wait_s: float = 1.5,
        sleep: Callable[[float], None] = time.sleep,
        after_print: Callable[[], None] | None = None,
    ):
        self.printer = printer
        # Called after each receipt that came out whole: a simulated printer in a long demo
        # forgets what it printed (it keeps every byte and page otherwise).
        self.after_print = after_print
        self.busy_retries = busy_retries
        self.busy_wait_s = busy_wait_s
        self._sleep = sleep
        self._lock = threading.Lock()
        self._open = False
        self.printed = 0

    def print_document(self, document: dict[str, Any]) -> None:
        doc = receipts.build(document)
        with self._lock:
            for attempt in range(self.busy_retries + 1):
                try:
                    self._ensure_open()
                    result = self.printer.print_receipt(doc)
                except DeviceRetry:
                    if attempt == self.busy_retries:
                        raise DeviceFailure("printer", "printer_busy") from None
                    self._sleep(self.busy_wait_s)
                    continue
                except PrinterFault as exc:
                    self._reset()
                    log.warning("printer fault: %s (complete=%s)", exc.cause, exc.complete)
                    key = _FAULT_KEYS.get(exc.status, "receipt_printer_failed")
                    raise DeviceFailure("printer", key) from None
                except DeviceUnavailable:
                    self._reset()
                    raise DeviceFailure("printer", "printer_offline") from None
                except DeviceProblem as exc:
                    self._reset()
                    log.warning("printer failed: %s", exc)
                    raise DeviceFailure("printer", "receipt_printer_failed") from None
                self.printed += 1
                if result.status is PrinterStatus.PAPER_NEAR_END:
                    log.warning("printer paper near end")
                if self.after_print is not None:
                    self.after_print()
                return

    def _ensure_open(self) -> None:
        if not self._open:
            self.printer.open()
            self._open = True

    def _reset(self) -> None:
        if self._open:
            self._open = False
            try:
                self.printer.close()
            except DeviceProblem:
                log.debug("printer close failed", exc_info=True)

    def close(self) -> None:
        with self._lock:
            self._reset()
