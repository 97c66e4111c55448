"""The e-card payload format (kiosk/api/ecard.py): issue and verify, each refusal's message
key, forged, tampered and foreign payloads, and a fuzz that nothing but ECardError escapes."""

from __future__ import annotations

import base64
import datetime as dt
import json
import string

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.api import contract as c
from kiosk.api import ecard
from kiosk.api.contract import DocumentType as T

NOW = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)
YEAR = dt.timedelta(days=365)
KEY = Ed25519PrivateKey.generate()
KID = ecard.key_id(KEY)
KEYS = {KID: KEY.public_key()}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def card(doc_type=T.HKID, number="A123456(3)", born=dt.date(1946, 3, 12), at=NOW, life=YEAR):
    claims = ecard.new_claims(doc_type, number, born, at, life)
    return ecard.issue(claims, KEY, KID)


def good_claims(**changes) -> dict:
    obj = {
        "v": 1,
        "k": KID,
        "t": "hkid",
        "n": "A123456(3)",
        "b": "1946-03-12",
        "i": int(NOW.timestamp()),
        "e": int((NOW + YEAR).timestamp()),
    }
    obj.update(changes)
    return {k: v for k, v in obj.items() if v is not None}


def forge(obj, key=KEY, *, prefix="JMEC1.", body: bytes | None = None) -> str:
    """Signs any claims (valid or not) the way `issue` would, skipping its checks."""
    if body is None:
        body = json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
    signed = prefix + b64url(body)
    return signed + "." + b64url(key.sign(signed.encode()))


def refusal(text, keys=KEYS, now=NOW, **kw) -> ecard.ECardError:
    with pytest.raises(ecard.ECardError) as e:
        ecard.verify(text, keys, now, **kw)
    return e.value


# ---------------------------------------------------------------------------- round trip


@pytest.mark.parametrize(
    "doc_type,number,canonical,born",
    [
        (T.HKID, "a1234563", "A123456(3)", dt.date(1946, 3, 12)),
        (T.MACAU_ID, "7388475 (3)", "7388475(3)", dt.date(1955, 1, 22)),
        (T.PRC_ID, "810000194603128847", "810000194603128847", dt.date(1946, 3, 12)),
        (T.HOME_RETURN_PERMIT, "h08136669", "H08136669", dt.date(1950, 7, 8)),
    ],
)
def test_issue_then_verify_gives_the_claims_back(doc_type, number, canonical, born):
    text = card(doc_type, number, born)
    claims = ecard.verify(text, KEYS, NOW + dt.timedelta(days=30))
    assert claims == ecard.parse(text)
    assert claims.document_type is doc_type and claims.document_number == canonical
    assert claims.date_of_birth == born and claims.key_id == KID and claims.version == 1
    assert claims.issued_at == NOW and claims.expires_at == NOW + YEAR
    assert claims.issued_at.tzinfo is not None
    # Compact and plain: fits a version 11 QR code at level M (251 bytes), URL-safe ASCII.
    assert text.startswith("JMEC1.") and len(text) <= 251
    assert set(text) <= set(string.ascii_letters + string.digits + "-_.")


def test_what_scanners_do_to_the_text_is_tolerated():
    text = card()
    want = ecard.parse(text)
    for variant in (
        text + "\r\n",
        text + "\n",
        "  " + text + "\t ",
        "]Q1" + text + "\r",  # AIM symbology identifier some scanners prefix
        text.swapcase(),  # Caps Lock on: every letter arrives with its case swapped
        text.swapcase() + "\r\n",
        text.encode("ascii"),
        bytearray(text.encode("ascii") + b"\r\n"),
    ):
        assert ecard.verify(variant, KEYS, NOW) == want


def test_verify_accepts_unix_seconds_for_now():
    assert ecard.verify(card(), KEYS, NOW.timestamp()).document_number == "A123456(3)"


def test_the_message_keys_are_distinct_and_named_for_the_e_card():
    assert len(set(ecard.MESSAGE_KEYS)) == len(ecard.MESSAGE_KEYS) == 9
    assert all(k.startswith("ecard_") for k in ecard.MESSAGE_KEYS)


# ---------------------------------------------------------------------------- format refusals


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \r\n",
        "hello",
        "A123456(3)",  # a document number typed or scanned from another code
        "https://example.org/JMEC1.abc",
        "JMEC",
        "JMEC.abc.def",
        "JMECX.abc.def",
        "jMEC1.abc.def",  # not a whole case swap
        "JMEC1." + "A" * 1100,  # oversized: refused before decoding
        None,
        42,
        b"\xff\xfe",
        ["JMEC1."],
    ],
)
def test_not_an_e_card_is_unreadable(text):
    assert refusal(text).key == "ecard_unreadable"
    with pytest.raises(ecard.ECardError) as e:
        ecard.parse(text)
    assert e.value.key == "ecard_unreadable"


@pytest.mark.parametrize("text", ["JMEC2.abc.def", "JMEC0.x", "JMEC10." + "A" * 40])
def test_another_version_is_unsupported(text):
    assert refusal(text).key == "ecard_unsupported_version"


def _sig() -> str:
    return b64url(bytes(64))


@pytest.mark.parametrize(
    "text",
    [
        "JMEC1.",
        "JMEC1.abc",
        "JMEC1.abc.def.ghi",
        "JMEC1..",
        "JMEC1.eyJ2IjoxfQ." + b64url(bytes(63)),  # a short signature
        "JMEC1.eyJ2IjoxfQ==." + _sig(),  # padding
        "JMEC1.eyJ2Ijox fQ." + _sig(),  # a space inside
        "JMEC1.eyJ2IjoxfR." + _sig(),  # non-canonical base64 (unused bits set)
        "JMEC1.e" + "." + _sig(),  # an impossible base64 length
        "JMEC1.bm90IGpzb24." + _sig(),  # "not json"
        "JMEC1." + b64url(b"\xff\xfe") + "." + _sig(),  # not UTF-8
        "JMEC1." + b64url(b"[" * 200 + b"]" * 200) + "." + _sig(),
        "JMEC1." + "é" * 10 + "." + _sig(),
    ],
)
def test_a_damaged_payload_is_malformed(text):
    assert refusal(text).key == "ecard_malformed"


@pytest.mark.parametrize(
    "changes",
    [
        {"v": 2},
        {"v": True},
        {"v": "1"},
        {"v": None},  # a claim missing
        {"x": 1},  # an unknown claim
        {"k": "ABCDEF0123456789"},
        {"k": KID[:15]},
        {"t": "passport"},
        {"t": 1},
        {"n": ""},
        {"n": "a123456(3)"},  # lower case is never the canonical form
        {"n": "A" * 33},
        {"b": "1946-02-30"},
        {"b": "12/03/1946"},
        {"b": "١٩٤٦-03-12"},  # non-ASCII digits
        {"i": int((NOW + YEAR).timestamp())},  # issued when it expires
        {"i": -5},
        {"e": 10**15},
        {"i": 1.5},
        {"e": float("nan")},
    ],
)
def test_claims_outside_the_version_1_set_are_malformed(changes):
    obj = good_claims(**changes)
    if "x" in changes:
        obj["x"] = 1
    try:
        text = forge(obj)
    except ValueError:  # nan is not JSON: build the body by hand
        body = json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=True).encode()
        text = forge(obj, body=body)
    assert refusal(text).key == "ecard_malformed"


def test_non_canonical_json_is_malformed_even_when_signed():
    obj = good_claims()
    spaced = json.dumps(obj, sort_keys=True).encode()  # ", " and ": " separators
    unsorted = json.dumps(dict(reversed(obj.items())), separators=(",", ":")).encode()
    duplicated = json.dumps(obj, sort_keys=True, separators=(",", ":"))[:-1] + ',"v":1}'
    for body in (spaced, unsorted, duplicated.encode()):
        assert refusal(forge(obj, body=body)).key == "ecard_malformed"
    assert ecard.verify(forge(obj), KEYS, NOW).document_number == "A123456(3)"


# ---------------------------------------------------------------------------- authenticity


def test_a_forged_signature_is_refused():
    other = Ed25519PrivateKey.generate()
    text = forge(good_claims(), key=other)  # claims our key id, signed by another key
    assert refusal(text).key == "ecard_bad_signature"
    head, _sig_part = text.rsplit(".", 1)
    assert refusal(head + "." + b64url(bytes(64))).key == "ecard_bad_signature"


def test_a_payload_signed_by_an_unknown_key_is_refused():
    other = Ed25519PrivateKey.generate()
    claims = ecard.new_claims(T.HKID, "A123456(3)", dt.date(1946, 3, 12), NOW, YEAR)
    text = ecard.issue(claims, other, ecard.key_id(other))
    e = refusal(text)
    assert e.key == "ecard_unknown_key" and ecard.key_id(other) in e.detail
    assert refusal(card(), keys={}).key == "ecard_unknown_key"  # a revoked key: left out


@pytest.mark.parametrize(
    "changes",
    [
        {"b": "1950-01-01"},  # someone else's birth date
        {"n": "B123456(8)"},  # someone else's document
        {"e": int((NOW + 10 * YEAR).timestamp())},  # a longer life
    ],
)
def test_tampered_claims_fail_the_signature(changes):
    text = card()
    _prefix, _claims, sig = text.split(".")
    tampered = "JMEC1." + b64url(
        json.dumps(good_claims(**changes), sort_keys=True, separators=(",", ":")).encode()
    )
    assert refusal(tampered + "." + sig).key == "ecard_bad_signature"


def test_the_prefix_is_signed_too():
    text = card()
    # A signature made over the claims alone (without the prefix) does not verify.
    body = text.split(".")[1]
    bare = "JMEC1." + body + "." + b64url(KEY.sign(body.encode()))
    assert refusal(bare).key == "ecard_bad_signature"


# ---------------------------------------------------------------------------- time and keys


def test_expired():
    text = card(life=dt.timedelta(days=30))
    assert ecard.verify(text, KEYS, NOW + dt.timedelta(days=30) - dt.timedelta(seconds=1))
    assert refusal(text, now=NOW + dt.timedelta(days=30)).key == "ecard_expired"
    assert refusal(text, now=NOW + YEAR).key == "ecard_expired"


def test_not_yet_valid_beyond_the_clock_leeway():
    text = card(at=NOW + dt.timedelta(minutes=4))
    assert ecard.verify(text, KEYS, NOW)  # inside the default 300 s leeway
    assert refusal(text, now=NOW, leeway_s=60).key == "ecard_not_yet_valid"
    later = card(at=NOW + dt.timedelta(hours=1))
    assert refusal(later).key == "ecard_not_yet_valid"


def test_a_card_issued_outside_its_key_validity_is_refused():
    text = card()
    public = KEY.public_key()
    fine = {KID: ecard.TrustedKey(public, NOW - YEAR, None)}
    assert ecard.verify(text, fine, NOW)
    retired_before = {KID: ecard.TrustedKey(public, NOW - YEAR, NOW)}
    assert refusal(text, keys=retired_before).key == "ecard_key_not_valid"
    retired_after = {KID: ecard.TrustedKey(public, NOW - YEAR, NOW + dt.timedelta(seconds=1))}
    assert ecard.verify(text, retired_after, NOW + dt.timedelta(days=100))  # still honoured
    not_yet = {KID: ecard.TrustedKey(public, NOW + dt.timedelta(seconds=1), None)}
    assert refusal(text, keys=not_yet).key == "ecard_key_not_valid"


def test_trusted_keys_from_the_route_answer():
    answer = c.ECardKeys(
        format="JMEC1",
        keys=[
            c.ECardKey(
                key_id=KID,
                public_key=ecard.public_key_b64(KEY.public_key()),
                valid_from=NOW - YEAR,
                valid_until=None,
            )
        ],
    )
    keys = ecard.trusted_keys(answer)
    assert set(keys) == {KID} and keys[KID].valid_from == NOW - YEAR
    assert ecard.verify(card(), keys, NOW).key_id == KID
    wrong = answer.keys[0].model_copy(update={"key_id": "0" * 16})
    with pytest.raises(ValueError, match="does not match"):
        ecard.trusted_keys(c.ECardKeys(format="JMEC1", keys=[wrong]))
    short = answer.keys[0].model_copy(update={"public_key": base64.b64encode(b"x" * 31).decode()})
    with pytest.raises(ValueError, match="32 bytes"):
        ecard.trusted_keys(c.ECardKeys(format="JMEC1", keys=[short]))


# ---------------------------------------------------------------------------- documents


@pytest.mark.parametrize(
    "changes,doc_key",
    [
        ({"n": "A123456(4)"}, "doc_hkid_check_digit"),
        ({"n": "A1234563"}, None),  # valid, but not the canonical spelling
        ({"t": "macau_id", "n": "A123456(3)"}, "doc_macau_format"),
        ({"t": "prc_id", "n": "810000194603128848"}, "doc_prc_check_digit"),
        ({"t": "prc_id", "n": "810000194603128847", "b": "1946-03-13"}, "doc_birth_date_mismatch"),
        ({"t": "home_return_permit", "n": "X08136669"}, "doc_hrp_format"),
    ],
)
def test_a_signed_but_invalid_document_number_is_refused(changes, doc_key):
    e = refusal(forge(good_claims(**changes)))
    assert e.key == "ecard_document_invalid"
    if doc_key:
        assert e.detail == doc_key


def test_issue_signs_nothing_invalid():
    with pytest.raises(ecard.ECardError) as e:
        card(number="A123456(4)")
    assert e.value.key == "ecard_document_invalid" and e.value.detail == "doc_hkid_check_digit"
    with pytest.raises(ecard.ECardError) as e:
        card(T.PRC_ID, "810000194603128847", dt.date(1950, 1, 1))
    assert e.value.detail == "doc_birth_date_mismatch"
    claims = ecard.new_claims(T.HKID, "A123456(3)", dt.date(1946, 3, 12), NOW, YEAR)
    with pytest.raises(ecard.ECardError):
        ecard.issue(claims, KEY, "not-a-key-id")
    naive = ecard.Claims(
        T.HKID, "A123456(3)", dt.date(1946, 3, 12), NOW.replace(tzinfo=None), NOW + YEAR
    )
    with pytest.raises(ecard.ECardError):
        ecard.issue(naive, KEY, KID)
    backwards = ecard.Claims(T.HKID, "A123456(3)", dt.date(1946, 3, 12), NOW, NOW)
    with pytest.raises(ecard.ECardError):
        ecard.issue(backwards, KEY, KID)


# ---------------------------------------------------------------------------- fuzz

B64 = string.ascii_letters + string.digits + "-_"
VALID = card()


def _never_anything_but_ecard_error(value) -> None:
    for call in (ecard.parse, lambda v: ecard.verify(v, KEYS, NOW)):
        try:
            call(value)
        except ecard.ECardError as e:
            assert e.key in ecard.MESSAGE_KEYS


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.text(max_size=1500))
def test_fuzz_any_text(text):
    _never_anything_but_ecard_error(text)


@FUZZ
@given(st.binary(max_size=1500))
def test_fuzz_any_bytes_and_their_latin1_strings(data):
    _never_anything_but_ecard_error(data)
    _never_anything_but_ecard_error(data.decode("latin-1"))


@FUZZ
@given(
    st.sampled_from(["JMEC1.", "jmec1.", "JMEC2.", "]Q1JMEC1.", " JMEC1."]),
    st.text(alphabet=B64 + ".=+/ \r\n", max_size=400),
)
def test_fuzz_texts_that_look_like_e_cards(prefix, rest):
    _never_anything_but_ecard_error(prefix + rest)


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(list("vktnbiex")),
        st.one_of(
            st.integers(min_value=-(2**70), max_value=2**70),
            st.text(max_size=40),
            st.booleans(),
            st.none(),
            st.floats(allow_nan=False),
            st.lists(st.integers(), max_size=3),
        ),
        max_size=9,
    )
)
def test_fuzz_signed_claims_of_any_shape(obj):
    # Correctly signed by a trusted key: only the claims can be wrong.
    try:
        text = forge(obj)
    except ValueError:
        return
    try:
        claims = ecard.verify(text, KEYS, NOW)
    except ecard.ECardError as e:
        assert e.key in ecard.MESSAGE_KEYS
    else:
        assert claims.key_id == obj["k"]


@FUZZ
@given(st.integers(min_value=0, max_value=len(VALID) - 1), st.characters(codec="ascii"))
def test_fuzz_a_changed_character_never_verifies(i, ch):
    if VALID[i] == ch:
        return
    text = VALID[:i] + ch + VALID[i + 1 :]
    try:
        claims = ecard.verify(text, KEYS, NOW)
    except ecard.ECardError as e:
        assert e.key in ecard.MESSAGE_KEYS
    else:
        # Only a change the reader is meant to forgive can still verify: whitespace at an end.
        assert text.strip() == VALID and claims == ecard.parse(VALID)
