"""The printer contract (drivers/printer/base.py), run against the simulator, and against a
real printer with `pytest -m hardware` and KIOSK_TEST_PRINTER set to its address
(tcp://HOST:9100, usb://VID:PID or serial:///dev/ttyUSB0?baudrate=N; KIOSK_TEST_PRINTER_WIDTH
384 for 58 mm paper). On hardware each run prints a few short receipts."""

from __future__ import annotations

import os

import numpy as np
import pytest

from drivers.errors import DeviceUnavailable
from drivers.printer.base import (
    Field,
    Paragraph,
    Printer,
    PrinterStatus,
    PrintStage,
    QrCode,
    ReceiptDocument,
    Reference,
    Rule,
    Title,
)
from drivers.printer.escpos_printer import printer_from_url
from drivers.printer.simulator import SimulatedPrinter, decode_receipts


def _make(kind: str, fonts) -> Printer:
    if kind == "simulator":
        return SimulatedPrinter(fonts=fonts)
    url = os.environ.get("KIOSK_TEST_PRINTER")
    if not url:
        pytest.skip("set KIOSK_TEST_PRINTER to the printer's address")
    width = int(os.environ.get("KIOSK_TEST_PRINTER_WIDTH", "576"))
    return printer_from_url(url, fonts=fonts, width=width)


@pytest.fixture(params=["simulator", pytest.param("hardware", marks=pytest.mark.hardware)])
def make(request, fonts):
    made: list[Printer] = []

    def factory() -> Printer:
        made.append(_make(request.param, fonts))
        return made[-1]

    yield factory
    for p in made:
        p.close()


@pytest.fixture
def printer(make):
    p = make()
    p.open()
    return p


DOC = ReceiptDocument(
    (
        Title("Contract test"),
        Rule(),
        Field("Kiosk", "TEST-01"),
        Reference("JM-TEST-0001"),
        QrCode("JM-TEST-0001"),
        Paragraph("End of test receipt.", size="small"),
    ),
    language="en",
)


def test_is_usable_and_cheap_to_construct(make):
    p = make()
    assert type(p).is_usable() is True
    with pytest.raises(DeviceUnavailable):
        _ = p.info  # constructing touched nothing and opened nothing


def test_open_describes_the_printer(printer):
    info = printer.info
    assert info.width_dots in (384, 576) and info.width_dots % 8 == 0
    assert info.dpi == 203
    assert info.transport and info.model


def test_ready_after_open(printer):
    assert printer.status().can_print
    health = printer.health()
    assert health.ok and health.status == printer.status()
    assert health.message_key == health.status.value


def test_print_a_receipt(printer):
    seen = []
    result = printer.print_receipt(DOC, progress=seen.append)
    assert result.width_dots == printer.info.width_dots
    assert result.height_dots > 100
    assert result.bytes_sent > result.width_dots // 8 * result.height_dots
    assert result.status in (PrinterStatus.READY, PrinterStatus.PAPER_NEAR_END)
    assert seen[-1].stage == PrintStage.DONE and seen[-1].fraction == 1.0
    assert [p.fraction for p in seen] == sorted(p.fraction for p in seen)
    sim = getattr(printer, "sim", None)
    if sim is not None:  # the simulator shows what came out
        assert np.array_equal(decode_receipts(sim.received)[-1], printer.renderer.render(DOC))


def test_two_receipts_in_a_row(printer):
    printer.print_receipt(DOC)
    assert printer.print_receipt(DOC).status.can_print


def test_use_before_open_is_unavailable(make):
    p = make()
    with pytest.raises(DeviceUnavailable):
        p.status()
    with pytest.raises(DeviceUnavailable):
        p.print_receipt(DOC)
    health = p.health()  # never raises
    assert not health.ok and health.status is None


def test_close_is_idempotent_and_final(printer):
    printer.close()
    printer.close()
    with pytest.raises(DeviceUnavailable):
        printer.status()
    with pytest.raises(DeviceUnavailable):
        printer.print_receipt(DOC)
    assert not printer.health().ok


def test_reopen_and_context_manager(make):
    p = make()
    p.open()
    p.open()  # reopening an open printer reopens it
    assert p.status().can_print
    p.close()
    with p as same:
        assert same is p and p.status().can_print
    with pytest.raises(DeviceUnavailable):
        p.status()
