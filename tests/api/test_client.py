"""The API client: timeouts, retries above signing, TLS trust and pinning, contract errors."""

from __future__ import annotations

import datetime as dt
import hashlib
import socket
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kiosk.api import contract as c
from kiosk.api.client import KioskApiClient
from kiosk.api.errors import ApiTimeout, ContractError, NetworkError, ServerError
from kiosk.api.transport import RawResponse, RequestsTransport
from tests import sim_evidence as ev
from tests.conftest import identify

REPORT = c.HeartbeatRequest(app_version="t", devices={}, outbox_depth=0, free_disk_mb=1)


class Recording(RequestsTransport):
    """The real transport, keeping what went out; optionally answering 503 N times first."""

    def __init__(self, fail_first: int = 0, **kw):
        super().__init__(**kw)
        self.fail_first = fail_first
        self.sent: list[dict[str, str]] = []

    def send(self, method, url, headers, body, timeout):
        self.sent.append(dict(headers))
        if len(self.sent) <= self.fail_first:
            return RawResponse(503, {"content-type": "text/plain"}, b"busy")
        return super().send(method, url, headers, body, timeout)


def _client(server, ident, clock, transport, **kw):
    return KioskApiClient(
        server.url,
        ident.kiosk_id,
        ident.key,
        transport=transport,
        clock=clock.time,
        sleep=lambda s: None,
        **kw,
    )


def test_retries_are_signed_afresh(backend, kiosk_identity, clock):
    _app, server = backend
    t = Recording(fail_first=2)
    cl = _client(server, kiosk_identity, clock, t, retries=2)
    assert cl.heartbeat(REPORT).next_heartbeat_s == 30
    nonces = [h[c.H_NONCE] for h in t.sent]
    sigs = [h[c.H_SIGNATURE] for h in t.sent]
    assert len(nonces) == 3 and len(set(nonces)) == 3 and len(set(sigs)) == 3


def test_retries_give_up_with_server_error(backend, kiosk_identity, clock):
    _app, server = backend
    t = Recording(fail_first=10)
    cl = _client(server, kiosk_identity, clock, t, retries=2)
    with pytest.raises(ServerError) as e:
        cl.heartbeat(REPORT)
    assert e.value.status == 503 and e.value.message_key == "error_backend"
    assert len(t.sent) == 3


def test_session_start_is_not_retried(backend, kiosk_identity, clock, personas):
    """Starting a session is not idempotent: one attempt, the error goes up to the flow."""
    _app, server = backend
    ok = _client(server, kiosk_identity, clock, RequestsTransport())
    p = personas[0]
    d = p["documents"][0]
    who = ok.identify(
        c.DocumentType(d["type"]), d["number"], dt.date.fromisoformat(p["date_of_birth"])
    )
    t = Recording(fail_first=1)
    cl = _client(server, kiosk_identity, clock, t, retries=3)
    with pytest.raises(ServerError):
        cl.start_session(who.subject_token, c.Purpose.ENQUIRY)
    assert len(t.sent) == 1


def test_evidence_retry_keeps_its_idempotency_key(backend, kiosk_identity, clock, personas):
    _app, server = backend
    t = Recording(fail_first=0)
    cl = _client(server, kiosk_identity, clock, t)
    p = personas[0]
    sess = identify(cl, p)
    sealed = ev.seal(cl, sess, ev.face(p["key"], 0.2))
    t.fail_first = len(t.sent) + 1  # the next request is answered 503 once
    d = cl.submit_evidence(sess.session_id, sealed)
    assert d.outcome is c.Outcome.APPROVED
    keys = [h[c.H_IDEMPOTENCY_KEY] for h in t.sent if c.H_IDEMPOTENCY_KEY in h]
    assert len(keys) == 2 and keys[0] == keys[1]


def test_timeout_on_a_server_that_never_answers(kiosk_identity):
    """A socket that accepts and then says nothing: the read timeout fires, every attempt."""
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(8)
    held = []
    stop = threading.Event()

    def accept():
        lsock.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(lsock.accept()[0])
            except OSError:
                continue

    th = threading.Thread(target=accept, daemon=True)
    th.start()
    url = f"http://127.0.0.1:{lsock.getsockname()[1]}"
    cl = KioskApiClient(
        url,
        kiosk_identity.kiosk_id,
        kiosk_identity.key,
        read_timeout=0.3,
        connect_timeout=0.3,
        retries=1,
        sleep=lambda s: None,
    )
    try:
        with pytest.raises(ApiTimeout) as e:
            cl.heartbeat(REPORT)
        assert e.value.message_key == "error_timeout"
        assert len(held) == 2  # the first attempt and one retry
    finally:
        stop.set()
        th.join()
        for s in held:
            s.close()
        lsock.close()


def test_connection_refused_is_a_network_error(kiosk_identity):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: nobody listens there
    cl = KioskApiClient(
        f"http://127.0.0.1:{port}", kiosk_identity.kiosk_id, kiosk_identity.key, retries=0
    )
    with pytest.raises(NetworkError) as e:
        cl.health()
    assert e.value.message_key == "error_network"


class Garbling(RequestsTransport):
    def send(self, method, url, headers, body, timeout):
        raw = super().send(method, url, headers, body, timeout)
        return RawResponse(raw.status, raw.headers, b'{"status": "fine"}')


def test_answer_outside_the_contract_is_a_contract_error(backend, kiosk_identity, clock):
    _app, server = backend
    cl = _client(server, kiosk_identity, clock, Garbling())
    with pytest.raises(ContractError):
        cl.health()


def test_base_url_must_be_http(kiosk_identity):
    with pytest.raises(ValueError):
        KioskApiClient("ftp://x", kiosk_identity.kiosk_id, kiosk_identity.key)


# ---------------------------------------------------------------------------- TLS


@pytest.fixture
def tls_backend(backend_settings, clock, tmp_path):
    from backend.app import create_app
    from backend.db import upgrade
    from backend.server import BackgroundServer

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    certfile, keyfile = tmp_path / "cert.pem", tmp_path / "key.pem"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    upgrade(backend_settings.db_url)
    app = create_app(backend_settings, clock)
    server = BackgroundServer(app, ssl_certfile=str(certfile), ssl_keyfile=str(keyfile)).start()
    pin = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
    yield server, str(certfile), pin
    server.stop()


def test_tls_needs_the_ca_bundle(tls_backend, kiosk_identity):
    server, ca, _pin = tls_backend
    untrusting = KioskApiClient(server.url, kiosk_identity.kiosk_id, kiosk_identity.key, retries=0)
    with pytest.raises(NetworkError):
        untrusting.health()
    trusting = KioskApiClient(
        server.url,
        kiosk_identity.kiosk_id,
        kiosk_identity.key,
        transport=RequestsTransport(ca_bundle=ca),
        retries=0,
    )
    assert trusting.health().status == "ok"


def test_tls_pin(tls_backend, kiosk_identity):
    server, ca, pin = tls_backend
    pinned = KioskApiClient(
        server.url,
        kiosk_identity.kiosk_id,
        kiosk_identity.key,
        retries=0,
        transport=RequestsTransport(ca_bundle=ca, pin_sha256=pin),
    )
    assert pinned.health().status == "ok"
    wrong = "00" * 32
    mispinned = KioskApiClient(
        server.url,
        kiosk_identity.kiosk_id,
        kiosk_identity.key,
        retries=0,
        transport=RequestsTransport(ca_bundle=ca, pin_sha256=wrong),
    )
    with pytest.raises(NetworkError):
        mispinned.health()
    with pytest.raises(ValueError):
        RequestsTransport(pin_sha256="abc")
