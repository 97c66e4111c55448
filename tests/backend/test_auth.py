"""Transport signatures: what the back end rejects, and how."""

from __future__ import annotations

import json

import pytest
import requests

from kiosk.api import contract as c
from kiosk.api import signing

HEARTBEAT = (
    c.HeartbeatRequest(app_version="test", devices={}, outbox_depth=0, free_disk_mb=1000)
    .model_dump_json()
    .encode()
)
PATH = c.API_PREFIX + "/heartbeat"


def signed(identity, method, path, body, ts, nonce=None):
    h = signing.sign_request(identity.key, identity.kiosk_id, method, path, body, ts, nonce)
    return {**h.as_dict(), "Content-Type": "application/json"}


def post(server, headers, body=HEARTBEAT, path=PATH):
    return requests.post(server.url + path, data=body, headers=headers, timeout=10)


def problem(r) -> dict:
    assert r.headers["content-type"].startswith(c.PROBLEM_CONTENT_TYPE)
    body = r.json()
    assert body["status"] == r.status_code
    return body


def test_health_is_public_and_stamps_server_time(backend, clock):
    _app, server = backend
    r = requests.get(server.url + c.API_PREFIX + "/health", timeout=10)
    assert r.status_code == 200
    assert r.json()["database"] == "ok"
    assert abs(float(r.headers[c.H_SERVER_TIME]) - clock.time()) < 1


def test_unsigned_request_is_401_problem(backend):
    _app, server = backend
    r = post(server, {"Content-Type": "application/json"})
    assert r.status_code == 401
    assert problem(r)["code"] == "unauthenticated"


def test_signed_request_accepted(backend, kiosk_identity, clock):
    _app, server = backend
    r = post(server, signed(kiosk_identity, "POST", PATH, HEARTBEAT, int(clock.time())))
    assert r.status_code == 200, r.text
    assert r.json()["next_heartbeat_s"] == 30


def test_replayed_request_rejected(backend, kiosk_identity, clock):
    _app, server = backend
    headers = signed(kiosk_identity, "POST", PATH, HEARTBEAT, int(clock.time()))
    assert post(server, headers).status_code == 200
    again = post(server, headers)
    assert again.status_code == 401
    assert problem(again)["code"] == "replayed_nonce"


def test_tampered_body_rejected(backend, kiosk_identity, clock):
    _app, server = backend
    headers = signed(kiosk_identity, "POST", PATH, HEARTBEAT, int(clock.time()))
    tampered = HEARTBEAT.replace(b'"outbox_depth":0', b'"outbox_depth":7')
    assert tampered != HEARTBEAT
    r = post(server, headers, tampered)
    assert r.status_code == 401
    assert problem(r)["code"] == "bad_signature"


def test_signature_bound_to_path(backend, kiosk_identity, clock):
    _app, server = backend
    headers = signed(kiosk_identity, "POST", PATH, HEARTBEAT, int(clock.time()))
    r = post(server, headers, path=c.API_PREFIX + "/identify")
    assert r.status_code == 401
    assert problem(r)["code"] == "bad_signature"


def test_wrong_key_rejected(backend, kiosk_identity, clock):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    _app, server = backend
    impostor = type(kiosk_identity)(kiosk_identity.kiosk_id, Ed25519PrivateKey.generate())
    r = post(server, signed(impostor, "POST", PATH, HEARTBEAT, int(clock.time())))
    assert r.status_code == 401
    assert problem(r)["code"] == "bad_signature"


def test_unknown_device_rejected(backend, kiosk_identity, clock):
    _app, server = backend
    stranger = type(kiosk_identity)("NOT-REGISTERED", kiosk_identity.key)
    r = post(server, signed(stranger, "POST", PATH, HEARTBEAT, int(clock.time())))
    assert r.status_code == 401
    assert problem(r)["code"] == "unknown_device"


@pytest.mark.parametrize("skew", [-301, 301, 3600])
def test_stale_timestamp_rejected_with_server_time(backend, kiosk_identity, clock, skew):
    _app, server = backend
    r = post(server, signed(kiosk_identity, "POST", PATH, HEARTBEAT, int(clock.time()) + skew))
    assert r.status_code == 401
    body = problem(r)
    assert body["code"] == "stale_timestamp"
    assert abs(body["server_time"] - clock.time()) < 1


@pytest.mark.parametrize("skew", [-299, 299])
def test_timestamp_inside_window_accepted(backend, kiosk_identity, clock, skew):
    _app, server = backend
    r = post(server, signed(kiosk_identity, "POST", PATH, HEARTBEAT, int(clock.time()) + skew))
    assert r.status_code == 200


def test_revocation_takes_effect_at_once(backend, kiosk_identity, clock):
    from backend.kiosks import revoke

    app, server = backend
    assert (
        post(server, signed(kiosk_identity, "POST", PATH, HEARTBEAT, int(clock.time()))).status_code
        == 200
    )
    with app.state.sessions() as db:
        revoke(db, clock.now(), kiosk_identity.kiosk_id)
    r = post(server, signed(kiosk_identity, "POST", PATH, HEARTBEAT, int(clock.time())))
    assert r.status_code == 403
    assert problem(r)["code"] == "device_revoked"


@pytest.mark.parametrize(
    "header,value,code",
    [
        (c.H_TIMESTAMP, "yesterday", "bad_signature"),
        (c.H_NONCE, "short", "bad_signature"),
        (c.H_KIOSK_ID, "bad id with spaces", "bad_signature"),
        (c.H_SIGNATURE, "%%%not-base64", "bad_signature"),
    ],
)
def test_malformed_headers_rejected(backend, kiosk_identity, clock, header, value, code):
    _app, server = backend
    headers = signed(kiosk_identity, "POST", PATH, HEARTBEAT, int(clock.time()))
    headers[header] = value
    r = post(server, headers)
    assert r.status_code == 401
    assert problem(r)["code"] == code


def test_client_learns_clock_offset_and_recovers(backend, kiosk_identity, clock):
    """A kiosk whose clock is 10 minutes slow: the first attempt is refused as stale, the
    client corrects its clock from the answer and the call succeeds, signed afresh."""
    from kiosk.api.client import KioskApiClient

    _app, server = backend
    slow = KioskApiClient(
        server.url,
        kiosk_identity.kiosk_id,
        kiosk_identity.key,
        clock=lambda: clock.time() - 600,
        sleep=lambda s: None,
    )
    report = c.HeartbeatRequest(app_version="t", devices={}, outbox_depth=0, free_disk_mb=1)
    slow.heartbeat(report)
    assert abs(slow.clock_offset.offset - 600) < 2
    assert abs(slow.now() - clock.time()) < 2
    slow.heartbeat(report)  # now signed with the corrected clock from the start
    slow.close()


def test_oversized_body_refused(backend, kiosk_identity, clock):
    app, server = backend
    big = json.dumps({"x": "a" * (app.state.settings.max_body_bytes + 10)}).encode()
    r = post(server, signed(kiosk_identity, "POST", PATH, big, int(clock.time())), big)
    assert r.status_code == 413
    assert problem(r)["code"] == "payload_too_large"


def test_replay_is_401_even_when_the_nonce_purge_runs(backend, kiosk_identity, clock, monkeypatch):
    """Regression: the purge used to run after the insert, so its autoflush raised the
    duplicate-nonce error outside the handler and a replay got 500."""
    from backend import auth

    monkeypatch.setattr(auth, "NONCE_PURGE_CHANCE", 1.0)
    _app, server = backend
    headers = signed(kiosk_identity, "POST", PATH, HEARTBEAT, int(clock.time()))
    assert post(server, headers).status_code == 200
    again = post(server, headers)
    assert again.status_code == 401
    assert problem(again)["code"] == "replayed_nonce"
