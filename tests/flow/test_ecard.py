"""Identification by QR e-card: scanning with the camera or a keyboard-wedge scanner, the
keys fetched once from the back end, every refusal a message key on the scan screen."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.api import contract as c
from kiosk.api import ecard
from kiosk.flow import effects as fx
from kiosk.flow import events as ev
from kiosk.flow.machine import ECARD_KEYS_MAX_AGE_S
from tests.flow.helpers import DOB, HKID, NOW, answer, last, to_state

KEY = Ed25519PrivateKey.generate()
KID = ecard.key_id(KEY)
KEYS = c.ECardKeys(
    format="JMEC1",
    keys=[
        c.ECardKey(
            key_id=KID,
            public_key=ecard.public_key_b64(KEY.public_key()),
            valid_from=NOW - dt.timedelta(days=365),
            valid_until=None,
        )
    ],
)


def card(key=KEY, issued=NOW - dt.timedelta(days=1), days=365, number=HKID) -> str:
    claims = ecard.new_claims("hkid", number, DOB, issued, dt.timedelta(days=days))
    return ecard.issue(claims, key, ecard.key_id(key))


def scanning():
    flow, clock, _ = to_state("doc_type")
    flow.wall = lambda: NOW.timestamp()
    effects = flow.handle(ev.Tapped("scan"))
    assert flow.state == "qr_scan"
    assert any(isinstance(e, fx.StartCamera) for e in effects)
    return flow, clock, last(effects, fx.ScanQr)


def test_camera_scan_fetches_the_keys_then_identifies():
    flow, _, scan = scanning()
    effects = flow.handle(ev.QrScanned(card(), scan.request_id))
    assert any(isinstance(e, fx.StopCamera) for e in effects)
    call = last(effects, fx.CallApi)
    assert call.op == "ecard_keys" and flow.state == "identifying"
    assert flow.ctx.qr_payload  # held (personal) while the keys come
    effects = answer(flow, effects, KEYS)
    call = last(effects, fx.CallApi)
    assert call.op == "identify"
    assert call.args == (c.DocumentType.HKID, HKID, DOB)
    assert flow.state == "identifying" and flow.ctx.qr_payload is None
    assert (flow.ctx.doc_number, flow.ctx.date_of_birth) == (HKID, DOB)


def test_keys_are_cached_then_refreshed():
    flow, clock, scan = scanning()
    answer(flow, flow.handle(ev.QrScanned(card(), scan.request_id)), KEYS)
    flow.reset("attract")
    for e in (ev.Tapped("start"), ev.Tapped("choose", "en"), ev.Tapped("verify")):
        flow.handle(e)
    # A wedge scanner at the document-type screen: no request id, keys already known.
    effects = flow.handle(ev.QrScanned(card()))
    assert last(effects, fx.CallApi).op == "identify"
    flow.reset("attract")
    clock.advance(ECARD_KEYS_MAX_AGE_S + 1)
    for e in (ev.Tapped("start"), ev.Tapped("choose", "en"), ev.Tapped("verify")):
        flow.handle(e)
    assert last(flow.handle(ev.QrScanned(card())), fx.CallApi).op == "ecard_keys"


@pytest.mark.parametrize(
    ("payload", "key"),
    [
        ("hello", "ecard_unreadable"),
        ("JMEC9.abc.def", "ecard_unsupported_version"),
        ("JMEC1.!!!.???", "ecard_malformed"),
        (card(key=Ed25519PrivateKey.generate()), "ecard_unknown_key"),
        (card(issued=NOW - dt.timedelta(days=60), days=30), "ecard_expired"),
    ],
)
def test_a_bad_card_is_a_message_on_the_scan_screen_and_scanning_goes_on(payload, key):
    flow, _, scan = scanning()
    effects = answer(flow, flow.handle(ev.QrScanned(payload, scan.request_id)), KEYS)
    assert flow.state == "qr_scan"
    assert flow.ctx.message_key == key
    assert any(isinstance(e, fx.ScanQr) for e in effects)
    assert flow.ctx.doc_number is None and flow.ctx.qr_payload is None


def test_a_forged_signature_is_refused():
    good = card()
    head, claims, sig = good.split(".")
    forged = f"{head}.{claims}.{sig[:-4]}AAAA"
    flow, _, scan = scanning()
    answer(flow, flow.handle(ev.QrScanned(forged, scan.request_id)), KEYS)
    assert flow.ctx.message_key in ("ecard_bad_signature", "ecard_malformed")
    assert flow.ctx.doc_number is None


def test_cancel_stops_the_scan_and_a_late_result_is_dropped():
    flow, _, scan = scanning()
    effects = flow.handle(ev.Tapped("cancel"))
    assert flow.state == "doc_type"
    assert any(isinstance(e, fx.CancelCapture) for e in effects)
    assert any(isinstance(e, fx.StopCamera) for e in effects)
    assert flow.handle(ev.QrScanned(card(), scan.request_id)) == []
    assert flow.state == "doc_type"


def test_a_wedge_scan_in_the_middle_of_a_journey_is_ignored():
    flow, _, _ = to_state("consent")
    assert flow.handle(ev.QrScanned(card())) == []
    assert flow.state == "consent"


def test_an_idle_reset_forgets_a_held_card():
    flow, _clock, scan = scanning()
    flow.handle(ev.QrScanned(card(), scan.request_id))
    flow.reset("attract")
    assert flow.ctx.personal_values() == {}
