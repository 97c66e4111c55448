"""The simulator and the driver over it: decoded raster == rendering, and every fault switch
giving the error kind the contract promises."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from drivers.errors import (
    DeviceError,
    DeviceErrorKind,
    DeviceRetry,
    DeviceUnavailable,
)
from drivers.printer.base import (
    PRINTER_BUSY,
    Paragraph,
    PrinterFault,
    PrinterStatus,
    PrintStage,
    ReceiptDocument,
)
from drivers.printer.escpos import receipt_job
from drivers.printer.render import ReceiptRenderer
from drivers.printer.sample import sample_document
from drivers.printer.simulator import (
    SimulatedPrinter,
    SimulatedPrinterDevice,
    decode_rasters,
    decode_receipts,
)
from tests.drivers.printer.test_escpos import TINY, TINY_JOB


@pytest.fixture
def printer(fonts):
    p = SimulatedPrinter(fonts=fonts)
    p.open()
    yield p
    p.close()


@pytest.fixture
def doc():
    return sample_document("en")


def _job_bytes(device: SimulatedPrinterDevice) -> bytes:
    """What the device received from the job's ESC @ on (the status queries before it
    are not part of the picture)."""
    last_init = [c for c in device.executed if c.name == "INIT"][-1]
    return bytes(device.received[last_init.offset :])


# ---------------------------------------------------------------------------- decoding


def test_decoder_reads_back_hand_made_bytes():
    (image,) = decode_receipts(TINY_JOB)
    assert np.array_equal(image[:, :10], TINY)
    assert not image[:, 10:].any()  # the padding of the last byte
    assert [b.shape for b in decode_rasters(TINY_JOB)] == [(2, 16), (1, 16)]


def test_decoded_raster_equals_the_rendering_pixel_for_pixel(printer, doc):
    result = printer.print_receipt(doc)
    expected = printer.renderer.render(doc)
    (decoded,) = decode_receipts(printer.sim.received)
    assert decoded.shape == expected.shape == (result.height_dots, 576)
    assert np.array_equal(decoded, expected)
    assert np.array_equal(printer.sim.receipts[0], expected)  # what the device "printed"
    bands = decode_rasters(printer.sim.received)
    assert len(bands) == -(-expected.shape[0] // printer.band_rows)
    assert _job_bytes(printer.sim) == b"".join(receipt_job(expected)) + b"\x1dr\x01"
    assert result.bytes_sent == len(_job_bytes(printer.sim))


def test_chinese_receipt_round_trips(fonts, cjk_fonts):
    p = SimulatedPrinter(fonts=cjk_fonts, width=384)
    with p:
        doc = sample_document("zh-Hant")
        p.print_receipt(doc)
        assert np.array_equal(decode_receipts(p.sim.received)[0], p.renderer.render(doc))


def test_two_receipts_two_images(printer):
    a = ReceiptDocument((Paragraph("first"),))
    b = ReceiptDocument((Paragraph("second, longer\nand on two lines"),))
    printer.print_receipt(a)
    printer.print_receipt(b)
    images = decode_receipts(printer.sim.received)
    assert len(images) == 2 == len(printer.sim.receipts)
    assert np.array_equal(images[0], printer.renderer.render(a))
    assert np.array_equal(images[1], printer.renderer.render(b))


def test_progress_is_ordered_and_ends_done(printer, doc):
    seen = []
    printer.print_receipt(doc, progress=seen.append)
    stages = [p.stage for p in seen]
    assert stages[0] == PrintStage.RENDERING and stages[-1] == PrintStage.DONE
    assert PrintStage.SENDING in stages and PrintStage.PRINTING in stages
    fractions = [p.fraction for p in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert stages.count(PrintStage.DONE) == 1


# ---------------------------------------------------------------------------- fault switches


def test_paper_out_before_printing_sends_nothing(printer, doc):
    printer.sim.paper_out = True
    assert printer.status() == PrinterStatus.PAPER_OUT
    with pytest.raises(PrinterFault) as err:
        printer.print_receipt(doc)
    assert isinstance(err.value, DeviceError)
    assert err.value.kind == DeviceErrorKind.HARDWARE
    assert err.value.status == PrinterStatus.PAPER_OUT and err.value.cause == "paper_out"
    assert not decode_rasters(printer.sim.received)
    health = printer.health()
    assert not health.ok and health.message_key == "printer_paper_out"
    printer.sim.load_paper()
    assert printer.status() == PrinterStatus.READY
    printer.print_receipt(doc)


def test_paper_near_end_still_prints_and_says_so(printer, doc):
    printer.sim.paper_near_end = True
    assert printer.status() == PrinterStatus.PAPER_NEAR_END
    result = printer.print_receipt(doc)
    assert result.status == PrinterStatus.PAPER_NEAR_END  # from the GS r answer
    assert len(printer.sim.receipts) == 1
    health = printer.health()
    assert health.ok and health.message_key == "printer_paper_near_end"


def test_offline_printer(printer, doc):
    printer.sim.offline = True
    assert printer.status() == PrinterStatus.OFFLINE
    with pytest.raises(PrinterFault) as err:
        printer.print_receipt(doc)
    assert err.value.kind == DeviceErrorKind.TIMEOUT
    assert err.value.status == PrinterStatus.OFFLINE and err.value.cause == "no_answer"
    assert not printer.health().ok
    printer.sim.offline = False
    assert printer.status() == PrinterStatus.READY
    printer.print_receipt(doc)


def test_offline_at_start_is_unavailable(fonts):
    device = SimulatedPrinterDevice()
    device.offline = True
    with pytest.raises(DeviceUnavailable):
        SimulatedPrinter(device, fonts=fonts).open()


def test_paper_out_mid_receipt(printer, doc):
    expected = printer.renderer.render(doc)
    printer.sim.paper_out_after(len(expected.tobytes()) // 8 // 2)  # about half the image
    with pytest.raises(PrinterFault) as err:
        printer.print_receipt(doc)
    fault = err.value
    assert fault.kind == DeviceErrorKind.HARDWARE
    assert fault.status == PrinterStatus.PAPER_OUT and not fault.complete
    printed = printer.sim.page  # the part that came out before the roll ended
    assert printed is not None and 0 < printed.shape[0] < expected.shape[0]
    assert np.array_equal(printed, expected[: printed.shape[0]])
    assert printer.sim.receipts == []  # never cut
    assert printer.status() == PrinterStatus.PAPER_OUT
    # A new roll: the printer finishes what it held, and the next receipt prints normally.
    printer.sim.load_paper()
    assert np.array_equal(printer.sim.receipts[0], expected)
    result = printer.print_receipt(doc)
    assert result.status == PrinterStatus.READY
    assert np.array_equal(printer.sim.receipts[1], expected)


def test_cover_open_is_a_device_error(printer, doc):
    printer.sim.cover_open = True
    assert printer.status() == PrinterStatus.OFFLINE
    with pytest.raises(PrinterFault) as err:
        printer.print_receipt(doc)
    assert err.value.kind == DeviceErrorKind.HARDWARE and err.value.cause == "cover_open"
    assert printer.health().details["flags"]["cover_open"]


def test_busy_printer_is_a_retry(printer, doc):
    printer.sim.feed_button = True
    with pytest.raises(DeviceRetry) as err:
        printer.print_receipt(doc)
    assert err.value.reason == PRINTER_BUSY
    assert not decode_rasters(printer.sim.received)
    printer.sim.feed_button = False
    printer.print_receipt(doc)


def test_unplugged_mid_session_and_at_start(printer, doc, fonts):
    printer.sim.unplugged = True
    with pytest.raises(PrinterFault) as err:
        printer.print_receipt(doc)
    assert err.value.kind == DeviceErrorKind.UNPLUGGED
    assert printer.status() == PrinterStatus.OFFLINE
    device = SimulatedPrinterDevice()
    device.unplugged = True
    with pytest.raises(DeviceUnavailable):
        SimulatedPrinter(device, fonts=fonts).open()


def test_printer_that_stops_during_the_job_times_out(printer, doc):
    """The printer is switched off after the first bytes of the job."""
    printer.sim.offline_after(200)
    with pytest.raises(PrinterFault) as err:
        printer.print_receipt(doc)
    assert err.value.kind == DeviceErrorKind.TIMEOUT and not err.value.complete


def test_status_from_another_thread_while_printing(printer, doc):
    """A job holds the line: status() answers at once with what the job saw last."""
    printer.sim.paper_out_after(10_000)
    errors = []

    def job():
        try:
            printer.print_receipt(doc)
        except PrinterFault as e:
            errors.append(e)

    t = threading.Thread(target=job)
    t.start()
    statuses = [printer.status() for _ in range(5)]
    t.join(5)
    assert errors and errors[0].status == PrinterStatus.PAPER_OUT
    assert set(statuses) <= set(PrinterStatus)


class FixedImage(ReceiptRenderer):
    """A renderer that draws one given raster whatever the document (to put chosen bytes
    into the image data)."""

    def __init__(self, fonts, image):
        super().__init__(fonts, width=image.shape[1])
        self.image = image

    def render(self, document):
        return self.image


def test_status_bytes_inside_the_image_do_not_confuse_the_driver(fonts):
    """Printers that answer "10 04 n" found inside image data send stray status bytes in the
    middle of a job; the driver must neither abort nor misread the status."""
    row = np.frombuffer(bytes([0x10, 0x04, 0x04, 0x10, 0x04, 0x01, 0x10, 0x04, 0x02]) * 8, np.uint8)
    image = np.unpackbits(np.tile(row, (200, 1)), axis=1).astype(bool)
    p = SimulatedPrinter(renderer=FixedImage(fonts, image))
    p.sim.realtime_inside_data = True
    p.sim.paper_near_end = True  # a stray DLE EOT 4 answer (0x1E) looks "offline" to n = 1
    with p:
        result = p.print_receipt(sample_document("en"))
        assert result.status == PrinterStatus.PAPER_NEAR_END
        assert p.status() == PrinterStatus.PAPER_NEAR_END
    assert p.sim.status_queries.count(4) > 200  # the strays were answered
    assert np.array_equal(p.sim.receipts[0], image)


def test_printer_without_gs_r_is_detected_and_still_printed_on(fonts, doc):
    device = SimulatedPrinterDevice()
    device.answers_gs_r = False
    p = SimulatedPrinter(device, fonts=fonts, rows_per_second=20_000)
    with p:
        assert p.info.details["answers_gs_r"] is False
        result = p.print_receipt(doc)
        assert result.status == PrinterStatus.READY
        assert np.array_equal(device.receipts[0], p.renderer.render(doc))
        assert [c.name for c in device.executed].count("PAPER_STATUS") == 1  # the probe only
        device.paper_out_after(3000)
        with pytest.raises(PrinterFault) as err:
            p.print_receipt(doc)
        assert err.value.status == PrinterStatus.PAPER_OUT
