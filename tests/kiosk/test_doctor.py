"""The diagnostics of `kiosk doctor` (kiosk/doctor.py), in process: a container on the simulated
devices and the test back end. Faults are switched on the simulators, so a check fails because
the device stops answering through its contract, never because a flag was read."""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
import os
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID

from kiosk import doctor
from kiosk.config import KioskSettings
from kiosk.container import build
from kiosk.demo import free_port
from kiosk.outbox import Outbox
from tests import sim_evidence as ev
from tests.conftest import identify, persona


@pytest.fixture(autouse=True)
def _no_kiosk_env(monkeypatch):
    for name in list(os.environ):
        if name.startswith("KIOSK_"):
            monkeypatch.delenv(name)


def _write_key(path, key: Ed25519PrivateKey) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def _settings(tmp_path, url: str, kiosk_id: str, key: Ed25519PrivateKey, **more) -> KioskSettings:
    data = tmp_path / "data"
    _write_key(data / "device-key.pem", key)
    values = {
        "backend_url": url,
        "kiosk_id": kiosk_id,
        "data_dir": data,
        "devices": "simulated",
        "camera_width": 640,
        "camera_height": 480,
        "camera_fps": 30.0,
        "retries": 0,
        "connect_timeout_s": 2.0,
        "read_timeout_s": 10.0,
        **more,
    }
    return KioskSettings(**values)


@pytest.fixture
def make_container(tmp_path):
    made = []

    def make(settings: KioskSettings, **kw):
        container = build(settings, **kw)
        made.append(container)
        return container

    yield make
    for container in made:
        container.close()


@pytest.fixture
def kiosk(backend, kiosk_identity, tmp_path, make_container):
    """A container on simulated devices whose key the test back end knows."""
    _app, server = backend
    settings = _settings(tmp_path, server.url, kiosk_identity.kiosk_id, kiosk_identity.key)
    return make_container(settings)


def _by_name(checks):
    return {check.name: check for check in checks}


# --------------------------------------------------------------------------- all together


def test_every_check_passes_on_working_devices_and_back_end(kiosk, backend):
    seen = []
    checks = doctor.run_checks(kiosk, on_check=seen.append)
    assert [check.name for check in checks] == list(doctor.CHECK_NAMES)
    assert seen == checks
    got = _by_name(checks)
    assert {n: ch.status for n, ch in got.items()} == {
        **{n: doctor.PASS for n in doctor.CHECK_NAMES},
        "tls": doctor.SKIP,  # http on loopback
    }
    assert doctor.all_ok(checks)

    cam = got["camera"].measurement
    assert (cam["width"], cam["height"]) == (640, 480)
    assert 15 <= cam["fps"] <= 40 and cam["frames"] >= 20  # measured over ~1.5 s at 30 fps
    assert cam["face"] and cam["faces"] == 1
    assert kiosk.camera.health().state.value == "camera_closed"  # left as found

    finger = got["fingerprint"].measurement
    assert finger["model"] == "R30x" and finger["dpi"] == 500
    assert finger["library_size"] == 1000 and finger["security_level"] == 3
    assert finger["finger"] and 0 < finger["quality"] <= 100 and finger["coaching"] is None
    assert kiosk.simulators["fingerprint"].served  # a real capture went over the line

    assert got["printer"].measurement["status"] == "printer_ready"
    assert got["printer"].message_key == "printer_ready"
    assert kiosk.simulators["printer"].receipts == []  # no test page unless asked for

    assert got["disk"].measurement["writable"] and got["disk"].measurement["free_mb"] > 0
    assert got["outbox"].measurement == {"depth": 0, "oldest_age_s": None}
    assert got["backend"].measurement["database"] == "ok"
    assert got["backend"].measurement["rtt_ms"] > 0
    assert got["heartbeat"].measurement["accepted"]
    assert abs(got["clock"].measurement["offset_s"]) < 30

    # The heartbeat told the back end the device states just measured.
    from sqlalchemy import select

    from backend import models as m

    app, _server = backend
    with app.state.sessions() as db:
        beat = db.scalars(
            select(m.Heartbeat).where(m.Heartbeat.kiosk_id == kiosk.settings.kiosk_id)
        ).one()
        devices = beat.payload["devices"]
    assert devices == {
        "camera": {"state": "ok", "detail": "camera_ok"},
        "fingerprint": {"state": "ok", "detail": "device_ok"},
        "printer": {"state": "ok", "detail": "printer_ready"},
    }

    # The outputs: one line each, and JSON.
    line = got["camera"].line()
    assert line.startswith("PASS camera ") and "640x480 at " in line and "face found" in line
    assert "\n" not in "".join(ch.line() for ch in checks)
    doc = json.loads(json.dumps(doctor.report(checks)))
    assert doc["ok"] is True and len(doc["checks"]) == len(doctor.CHECK_NAMES)
    assert set(doc["checks"][0]) >= {"name", "status", "ok", "required", "message_key", "text"}


# --------------------------------------------------------------------------- device faults


@pytest.mark.parametrize(
    ("device", "fault", "status", "key"),
    [
        ("camera", "unplugged", doctor.FAIL, "device_unavailable"),
        ("camera", "no_frames", doctor.FAIL, "camera_no_frame"),
        ("camera", "black", doctor.WARN, "doctor_camera_blank"),
        ("fingerprint", "unplugged", doctor.FAIL, "device_unavailable"),
        ("fingerprint", "smudged", doctor.WARN, "finger_smudged"),
        ("fingerprint", "no_finger", doctor.PASS, "device_ok"),
        ("printer", "unplugged", doctor.FAIL, "device_unavailable"),
        ("printer", "offline", doctor.FAIL, "printer_offline"),
        ("printer", "paper_out", doctor.FAIL, "printer_paper_out"),
        ("printer", "cover_open", doctor.FAIL, "doctor_printer_cover_open"),
        ("printer", "paper_near_end", doctor.WARN, "printer_paper_near_end"),
    ],
)
def test_a_fault_switched_on_a_simulator_shows_in_its_check(
    tmp_path, make_container, device, fault, status, key
):
    # No back end needed: only the device's own check runs.
    settings = _settings(tmp_path, "http://127.0.0.1:9", "HK-TEST-01", Ed25519PrivateKey.generate())
    container = make_container(settings)
    doctor.apply_fault(container, device, fault)
    (check,) = doctor.run_checks(container, only=(device,), finger_wait_s=0.3)
    assert (check.status, check.message_key) == (status, key), check.text
    assert doctor.all_ok([check]) == (status != doctor.FAIL)
    if status == doctor.FAIL:
        assert check.line().startswith(f"FAIL {device} ") and check.line().endswith(f"({key})")


def test_a_printer_that_goes_offline_while_open_fails_its_status_query(kiosk):
    kiosk.printer.open()  # as the kiosk holds it between receipts
    kiosk.simulators["printer"].offline = True
    check = doctor.check_printer(kiosk)
    assert (check.status, check.message_key) == (doctor.FAIL, "printer_offline")
    assert check.measurement["cause"] == "no_answer"
    kiosk.printer.info  # noqa: B018 - still open: the check closes only what it opened


def test_the_test_page_is_printed_only_when_asked(kiosk):
    sim = kiosk.simulators["printer"]
    doctor.check_printer(kiosk)
    assert sim.receipts == []
    check = doctor.check_printer(kiosk, print_test_page=True)
    assert check.status == doctor.PASS, check.text
    assert len(sim.receipts) == 1
    page = check.measurement["test_page"]
    assert page["printed"] and page["height_dots"] > 0
    assert page["after_status"] == "printer_ready"


def test_a_check_that_crashes_is_a_failed_check_not_a_traceback(kiosk):
    class Broken:
        def open(self):
            raise RuntimeError("driver bug")

    kiosk.camera = Broken()
    (check,) = doctor.run_checks(kiosk, only=("camera",))
    assert (check.ok, check.message_key) == (False, "doctor_check_crashed")
    assert "RuntimeError" in check.text


def test_faults_are_named_and_need_simulators(tmp_path, make_container):
    assert doctor.parse_fault("Printer=Paper_Out") == ("printer", "paper_out")
    for bad in ("printer", "toaster=on", "printer=melted"):
        with pytest.raises(doctor.FaultError):
            doctor.parse_fault(bad)
    settings = _settings(tmp_path, "http://127.0.0.1:9", "HK-TEST-01", Ed25519PrivateKey.generate())
    container = make_container(settings, with_devices=False)
    with pytest.raises(doctor.FaultError, match="not simulated"):
        doctor.apply_fault(container, "camera", "unplugged")
    with pytest.raises(doctor.FaultError, match="--demo"):
        doctor.apply_fault(container, "backend", "down")


# --------------------------------------------------------------------------- back end


def test_a_back_end_that_does_not_answer_fails_backend_and_heartbeat(tmp_path, make_container):
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    settings = _settings(tmp_path, url, "HK-TEST-01", Ed25519PrivateKey.generate())
    container = make_container(settings, with_devices=False)
    checks = _by_name(doctor.run_checks(container, only=("backend", "heartbeat", "clock")))
    assert (checks["backend"].status, checks["backend"].message_key) == (
        doctor.FAIL,
        "error_network",
    )
    assert checks["heartbeat"].status == doctor.FAIL
    assert checks["clock"].status == doctor.WARN  # advisory: unknown, not red
    assert not doctor.all_ok(list(checks.values()))


def test_an_unregistered_key_fails_the_heartbeat_only(backend, tmp_path, make_container):
    _app, server = backend
    settings = _settings(tmp_path, server.url, "HK-NEW-99", Ed25519PrivateKey.generate())
    container = make_container(settings, with_devices=False)
    checks = _by_name(doctor.run_checks(container, only=("backend", "heartbeat")))
    assert checks["backend"].status == doctor.PASS
    assert checks["heartbeat"].status == doctor.FAIL
    assert checks["heartbeat"].message_key == "error_kiosk_not_authorised"
    assert "HK-NEW-99" in checks["heartbeat"].text


def test_a_clock_off_the_servers_warns(kiosk, clock):
    clock.advance(600)  # the server is ten minutes ahead of this kiosk
    checks = _by_name(doctor.run_checks(kiosk, only=("heartbeat", "clock")))
    assert checks["heartbeat"].status == doctor.PASS  # the client corrects its signatures
    assert checks["clock"].status == doctor.WARN and checks["clock"].ok
    assert checks["clock"].message_key == "doctor_clock_off"
    assert 590 < checks["clock"].measurement["offset_s"] < 610
    assert "behind the server" in checks["clock"].text


# --------------------------------------------------------------------------- disk, outbox


def test_disk_limits(kiosk):
    check = doctor.check_disk(kiosk)
    assert check.status == doctor.PASS and check.measurement["writable"]
    assert not list(kiosk.settings.data_dir.glob(".doctor-*"))  # the test file is gone
    huge = 2**40
    warn = doctor.check_disk(kiosk, limits=doctor.Limits(disk_warn_mb=huge))
    assert (warn.status, warn.message_key) == (doctor.WARN, "doctor_disk_low")
    full = doctor.check_disk(kiosk, limits=doctor.Limits(disk_fail_mb=huge))
    assert (full.status, full.message_key) == (doctor.FAIL, "doctor_disk_full")


def test_a_data_directory_that_cannot_be_written_fails(tmp_path, make_container):
    settings = _settings(tmp_path, "http://127.0.0.1:9", "HK-TEST-01", Ed25519PrivateKey.generate())
    container = make_container(settings, with_devices=False)
    container.settings = settings.model_copy(update={"data_dir": tmp_path / "no" / "such"})
    check = doctor.check_disk(container)
    assert (check.status, check.message_key) == (doctor.FAIL, "doctor_disk_not_writable")


def test_an_old_outbox_entry_warns_but_does_not_fail(client, personas, tmp_path, make_container):
    # Sealed evidence queued two hours ago for a back end this kiosk can no longer reach.
    sess = identify(client, persona(personas, certification="due"))
    sealed = ev.seal(client, sess, ev.face(persona(personas, certification="due")["key"], 0.2))
    url = f"http://127.0.0.1:{free_port()}"
    settings = _settings(tmp_path, url, "HK-TEST-01", Ed25519PrivateKey.generate())
    box = Outbox(settings.data_dir / "outbox.sqlite3", clock=lambda: time.time() - 7200)
    box.put(sess.session_id, sealed, "ev-doctor-0000001")
    box.close()
    container = make_container(settings)
    check = doctor.check_outbox(container)
    assert (check.status, check.message_key, check.ok) == (doctor.WARN, "doctor_outbox_stuck", True)
    assert check.measurement["depth"] == 1
    assert 7100 < check.measurement["oldest_age_s"] < 7400
    assert check.text == "1 waiting, oldest 2.0 h old"
    assert not check.required and doctor.all_ok([check])


# --------------------------------------------------------------------------- TLS


def _certificate(tmp_path, days: float, name: str = "cert"):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    not_after = now + dt.timedelta(days=days)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(min(now, not_after) - dt.timedelta(days=30))
        .not_valid_after(not_after)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    certfile, keyfile = tmp_path / f"{name}.pem", tmp_path / f"{name}-key.pem"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    pin = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
    return certfile, keyfile, pin


@pytest.fixture
def tls_server(backend):
    """Starts the test back end's app on HTTPS with a self-signed certificate."""
    from backend.server import BackgroundServer

    app, _server = backend
    servers = []

    def start(certfile, keyfile):
        server = BackgroundServer(app, ssl_certfile=str(certfile), ssl_keyfile=str(keyfile))
        servers.append(server.start())
        return server

    yield start
    for server in servers:
        server.stop()


def test_tls_with_a_year_left_passes_and_the_back_end_answers_over_it(
    tls_server, kiosk_identity, tmp_path, make_container
):
    certfile, keyfile, pin = _certificate(tmp_path, days=400)
    server = tls_server(certfile, keyfile)
    assert server.url.startswith("https://")
    settings = _settings(
        tmp_path, server.url, kiosk_identity.kiosk_id, kiosk_identity.key,
        ca_bundle=certfile, pin_sha256=pin,
    )  # fmt: skip
    container = make_container(settings, with_devices=False)
    checks = _by_name(doctor.run_checks(container, only=("backend", "heartbeat", "tls")))
    assert {n: ch.status for n, ch in checks.items()} == dict.fromkeys(checks, doctor.PASS)
    tls = checks["tls"]
    assert 399 <= tls.measurement["days_left"] <= 400
    assert tls.measurement["trusted"] and tls.measurement["pin_matches"]
    assert tls.message_key == "doctor_tls_ok" and "days left" in tls.text


@pytest.mark.parametrize(
    ("days", "status", "key"),
    [
        (20, doctor.WARN, "doctor_tls_expiring"),
        (10, doctor.FAIL, "doctor_tls_expiring"),
        (-3, doctor.FAIL, "doctor_tls_expired"),
    ],
)
def test_tls_expiry(tls_server, tmp_path, make_container, days, status, key):
    certfile, keyfile, _pin = _certificate(tmp_path, days=days)
    server = tls_server(certfile, keyfile)
    settings = _settings(
        tmp_path, server.url, "HK-TEST-01", Ed25519PrivateKey.generate(), ca_bundle=certfile
    )
    check = doctor.check_tls(make_container(settings, with_devices=False))
    assert (check.status, check.message_key) == (status, key), check.text
    assert round(check.measurement["days_left"]) == days


def test_tls_untrusted_or_mispinned_fails(tls_server, tmp_path, make_container):
    certfile, keyfile, _pin = _certificate(tmp_path, days=400)
    other, _other_key, other_pin = _certificate(tmp_path, days=400, name="other")
    server = tls_server(certfile, keyfile)
    key = Ed25519PrivateKey.generate()

    untrusting = make_container(
        _settings(tmp_path, server.url, "HK-TEST-01", key), with_devices=False
    )
    check = doctor.check_tls(untrusting)
    assert (check.status, check.message_key) == (doctor.FAIL, "doctor_tls_untrusted")
    assert check.measurement["trusted"] is False and check.measurement["days_left"] >= 399

    pinned = _settings(
        tmp_path, server.url, "HK-TEST-01", key, ca_bundle=certfile, pin_sha256=other_pin
    )
    check = doctor.check_tls(make_container(pinned, with_devices=False))
    assert (check.status, check.message_key) == (doctor.FAIL, "doctor_tls_pin_mismatch")

    wrong_ca = _settings(tmp_path, server.url, "HK-TEST-01", key, ca_bundle=other)
    check = doctor.check_tls(make_container(wrong_ca, with_devices=False))
    assert check.message_key == "doctor_tls_untrusted"


def test_plain_http_is_skipped_on_loopback_and_warned_elsewhere(tmp_path, make_container):
    key = Ed25519PrivateKey.generate()
    local = make_container(
        _settings(tmp_path, "http://127.0.0.1:9", "HK-TEST-01", key), with_devices=False
    )
    assert doctor.check_tls(local).status == doctor.SKIP
    remote = make_container(
        _settings(tmp_path, "http://bureau.example", "HK-TEST-01", key), with_devices=False
    )
    check = doctor.check_tls(remote)
    assert (check.status, check.ok) == (doctor.WARN, True)
