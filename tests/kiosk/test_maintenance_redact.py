"""Redaction of the kiosk's log for the maintenance screen (kiosk/maintenance/redact.py): each
form of personal data is masked, and a technician's ordinary lines come through unchanged."""

from __future__ import annotations

import pytest

from kiosk.api import documents
from kiosk.api.contract import DocumentType
from kiosk.maintenance.redact import redact

# (what a log line might carry, the token it becomes)
PERSONAL = [
    # Document numbers of every format in kiosk/api/documents.py.
    ("A123456(3)", "[id]"),
    ("A1234563", "[id]"),
    ("AB987654(A)", "[id]"),
    ("a 123456 (3)", "[id]"),
    ("1234567(8)", "[id]"),  # Macau resident ID
    ("12345678", "[number]"),  # ... without its brackets
    ("11010519491231002X", "[id]"),  # PRC resident ID
    ("110105194912310021", "[id]"),
    ("810000194603120018", "[id]"),  # residence permit for HK residents
    ("H12345678", "[id]"),  # Home Return Permit
    ("M1234567890", "[id]"),
    # Dates (of birth, or any).
    ("1946-03-12", "[date]"),
    ("1946/3/12", "[date]"),
    ("12/03/1946", "[date]"),
    ("12.03.1946", "[date]"),
    ("1946年3月12日", "[date]"),
    ("12 March 1946", "[date]"),
    ("March 12, 1946", "[date]"),
    ("12 de março de 1946", "[date]"),
    # Names.
    ("陳大文", "[name]"),
    ("陳*文", "[name]"),
    ("CHAN TAI MAN", "[name]"),
    ("CHAN T** M**", "[name]"),
    # Phone numbers.
    ("+852 9123 4567", "[phone]"),
    ("(853) 6612 3456", "[phone]"),
    ("00852-91234567", "[phone]"),
    ("9123 4567", "[phone]"),
    ("9123-4567", "[phone]"),
    ("13812345678", "[phone]"),
    ("+86 138 1234 5678", "[phone]"),
    # References.
    ("JM261128-7KQ4XW2M", "[ref]"),
    ("JP-7KQ4XW2M3A", "[ref]"),
]


@pytest.mark.parametrize("value,token", PERSONAL, ids=[p[0] for p in PERSONAL])
def test_each_form_is_masked_wherever_it_stands(value, token):
    for line in (
        value,
        f"identify failed for {value}",
        f"identify failed for {value}: not found",
        f"value ({value}), then more",
    ):
        out = redact(line)
        assert value not in out, out
        assert token in out, out


def test_document_numbers_the_kiosk_accepts_are_all_masked():
    """Numbers that documents.parse itself accepts, in the canonical form it returns."""
    for doc_type, raw in [
        (DocumentType.HKID, "A123456(3)"),
        (DocumentType.MACAU_ID, "1234567(8)"),
        (DocumentType.PRC_ID, "11010519491231002X"),
        (DocumentType.HOME_RETURN_PERMIT, "H12345678"),
    ]:
        try:
            number = documents.parse(doc_type, raw).number
        except documents.DocumentError:
            number = raw  # a check digit the sample gets wrong: the shape is what counts
        out = redact(f"no record for {doc_type.value} {number}")
        assert number not in out, out
        assert "[id]" in out or "[number]" in out, out


@pytest.mark.parametrize(
    "line,expected",
    [
        ('{"name_en": "Chan Tai Man", "x": 1}', '{"name_en": "[name]", "x": 1}'),
        ("masked_name_zh=陳*文 ok", "masked_name_zh=[name] ok"),
        ("date_of_birth=1946-03-12", "date_of_birth=[hidden]"),
        ("doc_number: 'A123456(3)'", "doc_number: '[hidden]'"),
        ("subject_token=abc.def reference=JM261128-7KQ4XW2M", None),
    ],
)
def test_the_values_of_personal_fields_are_masked(line, expected):
    out = redact(line)
    if expected is not None:
        assert out == expected
    assert "abc.def" not in out and "Chan Tai Man" not in out and "陳" not in out


@pytest.mark.parametrize(
    "line",
    [
        "camera 1280x720 at 29.9 fps, face found (11 ms)",
        "back end http://127.0.0.1:8600 answered in 84 ms (version 0.1.0, database ok)",
        "kiosk.flow.runner api identify failed: ApiTimeout timeout after 10.0 s",
        "outbox entry 12 refused: replayed",
        "R30x 256x288 at 500 dpi, 57600 baud; test capture quality 82/100 (912 ms)",
        "heartbeat accepted for HK-DEMO-01, key SHA256:3f9c0be1a4d27e58c61b09f4d2a7e3c5",
        "51200 MB free of 119800 MB in /var/lib/jiangmen-kiosk",
    ],
)
def test_a_technicians_lines_come_through(line):
    assert redact(line) == line
