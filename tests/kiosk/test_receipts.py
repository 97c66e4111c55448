"""The receipts the kiosk prints: translated, without the resident's identity, and through the
real ESC/POS driver on the simulated printer."""

from __future__ import annotations

import datetime as dt

import pytest

from drivers.printer.base import Field, Paragraph, ReceiptDocument, Reference, Title
from drivers.printer.simulator import SimulatedPrinter, decode_receipts
from kiosk import i18n, receipts
from kiosk.devices.printer_port import PrinterPort
from kiosk.flow.ports import DeviceFailure

DECIDED = "2026-11-28T02:30:00+00:00"  # 10:30 in Hong Kong


def _receipt(language="zh_Hant_HK", outcome="approved", reference="JM261128-ABCDEFGH"):
    return {
        "kind": "receipt",
        "language": language,
        "reference": reference,
        "outcome": outcome,
        "kiosk_id": "HK-TST-01",
        "site": "Tsim Sha Tsui",
        "decided_at": DECIDED,
        "next_due": "2027-11-28" if outcome == "approved" else None,
    }


def _statement(language="en"):
    return {
        "kind": "statement",
        "language": language,
        "kiosk_id": "HK-TST-01",
        "site": "Tsim Sha Tsui",
        "summary": {
            "account_status": "paying",
            "monthly_amount": "3120.50",
            "currency": "CNY",
            "bank_name": "中國銀行江門分行",
            "bank_account_masked": "**** **** 1234",
            "certification_status": "done",
            "last_certified_on": "2026-05-01",
            "next_certification_due": "2027-05-01",
        },
    }


def _texts(doc: ReceiptDocument) -> list[str]:
    out = []
    for b in doc.blocks:
        if isinstance(b, Title | Paragraph):
            out.append(b.text)
        elif isinstance(b, Field):
            out += [b.label, b.value]
        elif isinstance(b, Reference):
            out += [b.label, b.number]
    return out


@pytest.mark.parametrize("language", i18n.LANGUAGES)
@pytest.mark.parametrize("outcome", ["approved", "manual_review", "appointment", "pending"])
def test_receipt_is_translated_and_carries_the_reference(language, outcome):
    doc = receipts.build(_receipt(language, outcome))
    texts = _texts(doc)
    assert "JM261128-ABCDEFGH" in texts
    assert i18n.text(receipts.OUTCOME_KEYS[outcome], language) in texts
    assert i18n.text("paper.bureau", language) == doc.blocks[0].text
    # No key leaked untranslated onto paper.
    assert not [t for t in texts if t.startswith(("paper.", "summary."))]


def test_an_approved_receipt_has_the_next_due_date_and_the_reference_as_a_qr_code():
    from drivers.printer.base import QrCode

    doc = receipts.build(_receipt("en"))
    assert "28 November 2027" in _texts(doc)
    [qr] = [b for b in doc.blocks if isinstance(b, QrCode)]
    assert qr.payload == "JM261128-ABCDEFGH"  # the reference alone: nothing personal
    pending = receipts.build(_receipt("en", "pending"))
    assert i18n.text("paper.next_due", "en") not in _texts(pending)


def test_receipt_time_is_hong_kong_time():
    texts = _texts(receipts.build(_receipt("en")))
    assert any("10:30" in t for t in texts), texts


def test_statement_has_the_amount_in_the_language_and_no_identity():
    doc = receipts.build(_statement("en"))
    texts = _texts(doc)
    assert "CN¥3,120.50" in texts
    assert any("1234" in t for t in texts)
    joined = " ".join(texts)
    for personal in ("A123456", "1946", "CHAN", "陳"):
        assert personal not in joined


@pytest.mark.parametrize(
    ("document", "why"),
    [
        ({"kind": "letter"}, "unknown document kind"),
        (_receipt(outcome="retry"), "no receipt text"),
        (_receipt(reference=None), "needs a reference"),
        ({**_statement(), "summary": None}, "needs the pension summary"),
    ],
)
def test_bad_documents_are_refused(document, why):
    with pytest.raises(receipts.DocumentError, match=why):
        receipts.build(document)


def test_printer_port_prints_on_the_escpos_driver():
    printer = SimulatedPrinter()
    port = PrinterPort(printer)
    port.print_document(_receipt())
    port.print_document(_statement())
    pages = decode_receipts(bytes(printer.sim.received))
    assert len(pages) == 2 and port.printed == 2
    assert all(page.shape[0] > 200 for page in pages)  # something tall was printed
    port.close()


def test_paper_out_is_a_printer_failure_and_the_next_roll_prints():
    printer = SimulatedPrinter()
    port = PrinterPort(printer, sleep=lambda s: None)
    printer.sim.paper_out = True
    with pytest.raises(DeviceFailure) as failed:
        port.print_document(_receipt())
    assert failed.value.device == "printer"
    assert failed.value.message_key == "printer_paper_out"
    printer.sim.load_paper()
    printer.sim.clear()
    port.print_document(_receipt())
    assert port.printed == 1


def test_unplugged_printer_is_offline():
    printer = SimulatedPrinter()
    printer.sim.unplugged = True
    port = PrinterPort(printer, sleep=lambda s: None)
    with pytest.raises(DeviceFailure) as failed:
        port.print_document(_receipt())
    assert failed.value.message_key in ("printer_offline", "receipt_printer_failed")


def test_when_is_now_when_the_decision_has_no_time():
    now = dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.UTC)
    doc = receipts.build({**_receipt("en"), "decided_at": None}, now=now)
    assert any("11:04" in t for t in _texts(doc))
