"""The keypad's rules for each document (no window needed): letters only where the format
has them, nothing past the end, the number shown in its printed shape."""

from __future__ import annotations

import pytest

from kiosk.api import documents
from kiosk.ui import docentry as de


def test_hkid_takes_one_or_two_prefix_letters_then_six_digits_and_a_check_character():
    assert de.allowed("hkid", "") == de.ALPHABET
    assert de.allowed("hkid", "A") == de.ALPHABET | de.DIGITS
    assert de.allowed("hkid", "AB") == de.DIGITS
    assert de.allowed("hkid", "A12345") == de.DIGITS
    assert de.allowed("hkid", "A123456") == de.DIGITS | {"A"}
    assert de.allowed("hkid", "AB123456") == de.DIGITS | {"A"}
    assert de.allowed("hkid", "A1234563") == frozenset()
    assert de.accept("hkid", "A1", "B") == "A1"  # no letter once the digits started


def test_macau_id_is_digits_only():
    assert de.allowed("macau_id", "") == de.DIGITS
    assert de.allowed("macau_id", "1234567") == de.DIGITS
    assert de.allowed("macau_id", "12345678") == frozenset()
    assert de.LETTER_KEYS[de.DocumentType.MACAU_ID] == ()


def test_prc_id_takes_x_only_last():
    assert de.allowed("prc_id", "1" * 16) == de.DIGITS
    assert de.allowed("prc_id", "1" * 17) == de.DIGITS | {"X"}
    assert de.allowed("prc_id", "1" * 18) == frozenset()


def test_home_return_permit_starts_with_h_or_m():
    assert de.allowed("home_return_permit", "") == {"H", "M"}
    assert de.allowed("home_return_permit", "H") == de.DIGITS
    assert de.allowed("home_return_permit", "H12345678") == frozenset()


@pytest.mark.parametrize(
    "doc_type,number,shown",
    [
        ("hkid", "A123456(3)", "A123456(3)"),
        ("hkid", "PC106658(5)", "PC106658(5)"),
        ("macau_id", "1234567(8)", "1234567(8)"),
        ("prc_id", "810000194603128847", "810000 19460312 8847"),
        ("home_return_permit", "H08136669", "H 0813 6669"),
    ],
)
def test_typed_numbers_are_shown_in_shape_and_sent_as_printed(doc_type, number, shown):
    raw = de.from_number(doc_type, number)
    assert de.display(doc_type, raw) == shown
    sent = de.submission(doc_type, raw)
    assert documents.parse(doc_type, sent).number == documents.parse(doc_type, number).number


def test_blanks_show_what_is_still_to_type():
    assert de.display("hkid", "") == "_______(_)"
    assert de.display("hkid", "A12") == "A12____(_)"
    assert de.display("macau_id", "12") == "12_____(_)"
