"""Printer addresses and the python-escpos backed transports (USB, serial) without hardware:
what they do when the device or the library is missing."""

from __future__ import annotations

import pytest

from drivers.errors import DeviceUnavailable
from drivers.printer.escpos_printer import EscposPrinter, printer_from_url
from drivers.printer.transport import (
    EscposBackendTransport,
    TcpTransport,
    serial_transport,
    usb_transport,
)


def test_addresses(fonts):
    tcp = printer_from_url("tcp://192.0.2.7?connect_timeout=1.5", fonts=fonts)
    assert isinstance(tcp.transport, TcpTransport)
    assert tcp.transport.name == "tcp://192.0.2.7:9100"
    assert tcp.transport.connect_timeout == 1.5
    usb = printer_from_url("usb://04b8:0e15?timeout=5", fonts=fonts, width=384)
    assert usb.transport.name == "usb://04b8:0e15"
    assert usb.renderer.width == 384
    ser = printer_from_url("serial:///dev/ttyS9?baudrate=19200", fonts=fonts)
    assert ser.transport.name == "serial:///dev/ttyS9?baudrate=19200"
    for bad in ("lpt://1", "tcp://", "usb://zz:01"):
        with pytest.raises(ValueError):
            printer_from_url(bad, fonts=fonts)


def test_the_driver_is_usable_without_python_escpos():
    assert EscposPrinter.is_usable()  # TCP needs only the standard library


def test_missing_library_is_unavailable_not_a_crash(fonts):
    transport = EscposBackendTransport(lambda: None, "usb://0000:0000", needs=("no_such_mod_x",))
    assert not transport.usable()
    with pytest.raises(DeviceUnavailable) as err:
        EscposPrinter(transport, fonts=fonts).open()
    assert err.value.reason == "library"


def test_missing_serial_port_is_unavailable(fonts):
    transport = serial_transport("/dev/ttyNO_SUCH_PORT", timeout=0.1)
    if not transport.usable():
        pytest.skip("python-escpos or pyserial not installed")
    with pytest.raises(DeviceUnavailable):
        EscposPrinter(transport, fonts=fonts).open()


def test_missing_usb_printer_is_unavailable(fonts):
    transport = usb_transport(0x04B8, 0x0E15, timeout=0.5)
    if not transport.usable():
        pytest.skip("python-escpos or pyusb not installed")
    with pytest.raises(DeviceUnavailable):  # no libusb, or no such device
        EscposPrinter(transport, fonts=fonts).open()


class FakeEscpos:
    """Stands in for a python-escpos printer object (its `open` / `_raw` / `_read` / `close`
    surface), so the adapter's byte flow is checked without a device."""

    def __init__(self):
        self.sent = bytearray()
        self.answers = bytearray()
        self.closed = False

    def open(self):
        pass

    def _raw(self, msg):
        self.sent += msg
        if msg.startswith(b"\x10\x04"):
            self.answers.append(0x12)

    def _read(self):
        out, self.answers[:] = bytes(self.answers[:16]), self.answers[16:]
        return out

    def close(self):
        self.closed = True


def test_escpos_backend_adapter_moves_bytes(fonts):
    fake = FakeEscpos()
    transport = EscposBackendTransport(lambda: fake, "fake://1", needs=("json",))
    with EscposPrinter(transport, fonts=fonts, status_timeout=0.05) as printer:
        assert printer.status().can_print
        assert fake.sent.startswith(b"\x1b@\x10\x04\x01")
    assert fake.closed
