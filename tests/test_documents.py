"""Document numbers: each format's published rule, near misses, normalisation."""

from __future__ import annotations

import datetime as dt

import pytest

from kiosk.api import documents as d
from kiosk.api.contract import DocumentType as T


@pytest.mark.parametrize(
    "text,canonical",
    [
        ("A123456(3)", "A123456(3)"),  # the Immigration Department's own example
        ("a1234563", "A123456(3)"),
        ("ＡＢ９８７６５４（３）", "AB987654(3)"),  # full-width, two-letter prefix
        (" C 668668 (E) ".replace("E", "9"), "C668668(9)"),
    ],
)
def test_hkid_valid(text, canonical):
    assert d.parse(T.HKID, text).number == canonical


def test_hkid_check_digit_a_means_ten():
    # Find a number whose check value is 10, then check it is written "A".
    digits = next(f"{n:06d}" for n in range(1000) if d.hkid_check_digit("B", f"{n:06d}") == "A")
    assert d.parse(T.HKID, f"B{digits}(A)").number == f"B{digits}(A)"
    with pytest.raises(d.DocumentError):
        d.parse(T.HKID, f"B{digits}(0)")


@pytest.mark.parametrize(
    "text,key",
    [
        ("A123456(4)", "doc_hkid_check_digit"),
        ("A12345(3)", "doc_hkid_format"),
        ("ABC123456(3)", "doc_hkid_format"),
        ("1234567(3)", "doc_hkid_format"),
        ("", "doc_empty"),
    ],
)
def test_hkid_near_misses(text, key):
    with pytest.raises(d.DocumentError) as e:
        d.parse(T.HKID, text)
    assert e.value.key == key


def test_hkid_every_single_digit_error_is_caught():
    """Mod 11 with weights 9..2 catches every single substitution of a digit."""
    good = "A123456"
    for i in range(1, 7):
        for digit in "0123456789":
            if digit == good[i]:
                continue
            bad = good[:i] + digit + good[i + 1 :]
            with pytest.raises(d.DocumentError):
                d.parse(T.HKID, bad + "(3)")


def test_prc_id_iso7064():
    doc = d.parse(T.PRC_ID, "11010519491231002x")
    assert doc.number == "11010519491231002X"
    assert doc.birth_date == dt.date(1949, 12, 31)
    with pytest.raises(d.DocumentError) as e:
        d.parse(T.PRC_ID, "110105194912310021")
    assert e.value.key == "doc_prc_check_digit"


def test_prc_birth_date_must_match_entered():
    doc = d.parse(T.PRC_ID, "11010519491231002X")
    d.check_birth_date(doc, dt.date(1949, 12, 31))
    with pytest.raises(d.DocumentError) as e:
        d.check_birth_date(doc, dt.date(1949, 12, 30))
    assert e.value.key == "doc_birth_date_mismatch"


def test_residence_permits_are_prc_ids_with_hk_macau_prefixes():
    first17 = "81000019460312884"
    doc = d.parse(T.PRC_ID, first17 + d.prc_check_digit(first17))
    assert d.is_residence_permit(doc)
    assert not d.is_residence_permit(d.parse(T.PRC_ID, "11010519491231002X"))


def test_prc_impossible_date():
    first17 = "11010519490231002"  # 31 February
    with pytest.raises(d.DocumentError) as e:
        d.parse(T.PRC_ID, first17 + d.prc_check_digit(first17))
    assert e.value.key == "doc_prc_birth_date"


@pytest.mark.parametrize(
    "text,ok",
    [
        ("1234567(8)", True),
        ("5234567(0)", True),
        ("7234567 8", True),
        ("2234567(8)", False),
        ("123456(8)", False),
        ("1234567(A)", False),
    ],
)
def test_macau_format_only(text, ok):
    if ok:
        assert d.parse(T.MACAU_ID, text).number.endswith(")")
    else:
        with pytest.raises(d.DocumentError):
            d.parse(T.MACAU_ID, text)


@pytest.mark.parametrize(
    "text,ok",
    [
        ("H12345678", True),
        ("m87654321", True),
        ("H1234567", False),
        ("X12345678", False),
        ("H123456789", False),
    ],
)
def test_home_return_permit_format_only(text, ok):
    if ok:
        assert d.parse(T.HOME_RETURN_PERMIT, text).number == text.upper()
    else:
        with pytest.raises(d.DocumentError):
            d.parse(T.HOME_RETURN_PERMIT, text)
