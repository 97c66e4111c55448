"""Identify: masked names, one answer for every miss, and limits against enumeration."""

from __future__ import annotations

import datetime as dt

import pytest

from kiosk.api import contract as c
from kiosk.api.errors import RateLimited, Rejected
from tests.conftest import persona


def _dob(p):
    return dt.date.fromisoformat(p["date_of_birth"])


def test_every_document_of_every_persona_identifies(client, personas):
    n = 0
    for p in personas[:6]:
        for d in p["documents"]:
            who = client.identify(c.DocumentType(d["type"]), d["number"], _dob(p))
            assert who.masked_name_zh[0] == p["name_zh"][0]
            assert p["name_zh"] != who.masked_name_zh
            assert who.masked_name_en.split()[0] == p["name_en"].split()[0]
            n += 1
    assert n >= 6


def test_input_is_normalised_like_the_kiosk_does(client, personas):
    p = persona(personas, key="demo-01")
    hkid = next(d for d in p["documents"] if d["type"] == "hkid")["number"]
    # As a wedge scanner or an IME may deliver it: full-width forms, lower case, spaces.
    typed = " ".join(chr(ord(ch) + 0xFEE0) for ch in hkid.lower())
    who = client.identify(c.DocumentType.HKID, typed, _dob(p))
    assert who.masked_name_zh.startswith(p["name_zh"][0])


def test_wrong_birth_date_and_unknown_document_look_the_same(client, personas):
    p = personas[0]
    d = p["documents"][0]
    with pytest.raises(Rejected) as wrong_dob:
        client.identify(c.DocumentType(d["type"]), d["number"], _dob(p) + dt.timedelta(days=1))
    with pytest.raises(Rejected) as unknown:
        client.identify(c.DocumentType.HKID, "A123456(3)", _dob(p))
    assert wrong_dob.value.status == unknown.value.status == 404
    assert wrong_dob.value.code == unknown.value.code == "not_found"


def test_invalid_check_digit_is_422(client, personas):
    with pytest.raises(Rejected) as e:
        client.identify(c.DocumentType.HKID, "A123456(4)", dt.date(1950, 1, 1))
    assert e.value.status == 422
    assert e.value.code == "validation_failed"


def test_birth_date_guessing_is_limited_per_document(client, personas, backend):
    app, _server = backend
    limit = app.state.settings.identify_limit_per_document
    p = personas[1]
    d = p["documents"][0]
    for i in range(limit):
        with pytest.raises(Rejected) as e:
            client.identify(c.DocumentType(d["type"]), d["number"], dt.date(1900, 1, 1 + i))
        assert e.value.status == 404
    # Now even the right birth date is refused until the window passes.
    with pytest.raises(RateLimited) as e:
        client.identify(c.DocumentType(d["type"]), d["number"], _dob(p))
    assert e.value.status == 429
    assert e.value.retry_after_s == app.state.settings.identify_window_s


def test_limit_window_passes(client, personas, backend, clock):
    app, _server = backend
    s = app.state.settings
    p = personas[2]
    d = p["documents"][0]
    for i in range(s.identify_limit_per_document):
        with pytest.raises(Rejected):
            client.identify(c.DocumentType(d["type"]), d["number"], dt.date(1900, 2, 1 + i))
    clock.advance(s.identify_window_s + 1)
    assert client.identify(c.DocumentType(d["type"]), d["number"], _dob(p)).subject_token


def test_identify_is_limited_per_kiosk(backend_settings, clock, personas):
    from kiosk.api.client import KioskApiClient
    from tests.conftest import _start, register_kiosk

    settings = backend_settings.model_copy(update={"identify_limit_per_kiosk": 5})
    app, server = _start(settings, clock)
    try:
        ident = register_kiosk(app, clock)
        cl = KioskApiClient(
            server.url, ident.kiosk_id, ident.key, clock=clock.time, sleep=lambda s: None
        )
        # Different documents each time: the per-document limit never trips.
        for p in personas[:5]:
            d = p["documents"][0]
            cl.identify(c.DocumentType(d["type"]), d["number"], _dob(p))
        d = personas[5]["documents"][0]
        with pytest.raises(RateLimited):
            cl.identify(c.DocumentType(d["type"]), d["number"], _dob(personas[5]))
        cl.close()
    finally:
        server.stop()


def test_subject_token_belongs_to_its_kiosk(client, backend, clock, personas):
    from kiosk.api.client import KioskApiClient
    from tests.conftest import register_kiosk

    app, server = backend
    p = personas[0]
    d = p["documents"][0]
    who = client.identify(c.DocumentType(d["type"]), d["number"], _dob(p))
    other = register_kiosk(app, clock, kiosk_id="MO-OTHER-02")
    cl = KioskApiClient(
        server.url, other.kiosk_id, other.key, clock=clock.time, sleep=lambda s: None
    )
    with pytest.raises(Rejected) as e:
        cl.start_session(who.subject_token, c.Purpose.ENQUIRY)
    assert e.value.status == 404
    cl.close()


def test_subject_token_expires(client, clock, personas, backend):
    app, _ = backend
    p = personas[0]
    d = p["documents"][0]
    who = client.identify(c.DocumentType(d["type"]), d["number"], _dob(p))
    clock.advance(app.state.settings.subject_token_ttl_s + 1)
    with pytest.raises(Rejected) as e:
        client.start_session(who.subject_token, c.Purpose.ENQUIRY)
    assert e.value.code == "session_expired"
