"""The network transport against a real TCP server on 127.0.0.1: a thread that records every
byte and answers status queries (its printer logic is the simulator device's)."""

from __future__ import annotations

import socket
import threading
import time

import numpy as np
import pytest

from drivers.errors import DeviceError, DeviceErrorKind, DeviceUnavailable
from drivers.printer.base import PrinterFault, PrinterStatus
from drivers.printer.escpos_printer import printer_from_url
from drivers.printer.sample import sample_document
from drivers.printer.simulator import SimulatedPrinterDevice, decode_receipts
from drivers.printer.transport import TcpTransport


class PrinterServer:
    """A one-connection-at-a-time ESC/POS printer on a loopback port."""

    def __init__(self) -> None:
        self.device = SimulatedPrinterDevice()
        self.recorded = bytearray()  # every byte, over every connection
        self.connections = 0
        self.silent = False  # read but never answer
        self.hang_up = False  # close the connection at the next byte
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            self.connections += 1
            with conn:
                self._talk(conn)

    def _talk(self, conn: socket.socket) -> None:
        conn.settimeout(0.01)
        deadline = time.monotonic() + 20  # bounded, whatever the test does
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                data = conn.recv(65536)
                if not data:
                    return
                if self.hang_up:
                    return
                self.recorded += data
                if not self.silent:
                    self.device.receive(data)
            except TimeoutError:
                pass
            answers = self.device.read(64, 0.0)
            if answers and not self.silent:
                conn.sendall(answers)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._listener.close()


@pytest.fixture
def server():
    s = PrinterServer()
    yield s
    s.stop()


def _printer(server, fonts, **options):
    options = {"status_timeout": 0.3, "poll_interval": 0.05, "print_timeout": 10, **options}
    return printer_from_url(
        server.url + "?connect_timeout=2&write_timeout=2", fonts=fonts, **options
    )


def test_print_over_tcp(server, fonts):
    doc = sample_document("en")
    with _printer(server, fonts) as printer:
        assert printer.info.transport == server.url
        assert printer.status() == PrinterStatus.READY
        result = printer.print_receipt(doc)
        assert result.status == PrinterStatus.READY
    expected = printer.renderer.render(doc)
    (decoded,) = decode_receipts(bytes(server.recorded))
    assert np.array_equal(decoded, expected)
    assert bytes(server.recorded) == bytes(server.device.received)
    assert 1 in server.device.status_queries and 4 in server.device.status_queries


def test_status_over_tcp(server, fonts):
    with _printer(server, fonts) as printer:
        server.device.paper_near_end = True
        assert printer.status() == PrinterStatus.PAPER_NEAR_END
        server.device.paper_out = True
        assert printer.status() == PrinterStatus.PAPER_OUT
        with pytest.raises(PrinterFault) as err:
            printer.print_receipt(sample_document("en"))
        assert err.value.kind == DeviceErrorKind.HARDWARE


def test_paper_out_mid_receipt_over_tcp(server, fonts):
    with _printer(server, fonts) as printer:
        server.device.paper_out_after(5000)
        with pytest.raises(PrinterFault) as err:
            printer.print_receipt(sample_document("en"))
        assert err.value.status == PrinterStatus.PAPER_OUT and not err.value.complete


def test_silent_printer_is_offline_within_the_status_timeout(server, fonts):
    with _printer(server, fonts) as printer:
        server.silent = True
        started = time.monotonic()
        assert printer.status() == PrinterStatus.OFFLINE
        assert time.monotonic() - started < 1.5
        with pytest.raises(PrinterFault) as err:
            printer.print_receipt(sample_document("en"))
        assert err.value.kind == DeviceErrorKind.TIMEOUT


def test_silent_printer_at_start_is_unavailable(server, fonts):
    server.silent = True
    with pytest.raises(DeviceUnavailable):
        _printer(server, fonts).open()


def test_nothing_listening_is_unavailable(fonts):
    with socket.socket() as s:  # a port that was free a moment ago: connection refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(DeviceUnavailable):
        printer_from_url(f"tcp://127.0.0.1:{port}", fonts=fonts).open()
    assert time.monotonic() - started < 3


def test_connection_dropped_by_the_printer(server, fonts):
    with _printer(server, fonts) as printer:
        server.hang_up = True
        with pytest.raises(PrinterFault) as err:
            printer.print_receipt(sample_document("en"))
        assert err.value.kind in (DeviceErrorKind.UNPLUGGED, DeviceErrorKind.TIMEOUT)
        # it reconnects by itself once the printer is back
        server.hang_up = False
        assert printer.status() == PrinterStatus.READY
        printer.print_receipt(sample_document("en"))
    assert server.connections >= 2


def test_tcp_transport_timeouts(server):
    t = TcpTransport("127.0.0.1", server.port, connect_timeout=1, write_timeout=1)
    t.open()
    try:
        started = time.monotonic()
        assert t.read(16, 0.1) == b""  # nothing to read: b"" after the timeout
        assert 0.05 < time.monotonic() - started < 1
        t.write(b"\x10\x04\x01")
        assert t.read(16, 1.0) == b"\x12"
    finally:
        t.close()
        t.close()  # idempotent
    with pytest.raises(DeviceError):
        t.write(b"x")
