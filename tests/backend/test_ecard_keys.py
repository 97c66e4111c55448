"""E-card keys and issuing: `GET /ecard-keys` over real HTTP, `kiosk-backend ecard issue`
writing a QR code that OpenCV reads back to a payload the route's keys verify, rotation."""

from __future__ import annotations

import datetime as dt
import os
import stat
import subprocess
import sys

import cv2
import pytest
import requests

from backend import cli
from backend import ecard as backend_ecard
from kiosk.api import contract as c
from kiosk.api import ecard
from kiosk.api.errors import AuthRejected
from tests.conftest import REPO


@pytest.fixture
def backend_settings(tmp_path):
    """The shared fixture's settings, with the e-card key file in the test's own folder."""
    from backend.settings import BackendSettings

    return BackendSettings(
        db_url=f"sqlite:///{tmp_path / 'backend.sqlite3'}",
        evidence_key_path=str(tmp_path / "evidence-key.pem"),
        ecard_key_path=str(tmp_path / "ecard-key.pem"),
    )


@pytest.fixture
def cli_env(backend, backend_settings, monkeypatch):
    """`kiosk-backend` pointed at the running back end's database and key file."""
    monkeypatch.setenv("KIOSK_BACKEND_DB_URL", backend_settings.db_url)
    monkeypatch.setenv("KIOSK_BACKEND_ECARD_KEY_PATH", backend_settings.ecard_key_path)
    return {
        **os.environ,
        "KIOSK_BACKEND_DB_URL": backend_settings.db_url,
        "KIOSK_BACKEND_ECARD_KEY_PATH": backend_settings.ecard_key_path,
    }


def run_cli(capsys, *args) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = cli.main(list(args))
    out = capsys.readouterr()
    return rc, out.out, out.err


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# ---------------------------------------------------------------------------- the route


def test_the_route_publishes_the_key_it_creates(client, backend_settings, clock):
    path = backend_settings.ecard_key_path
    assert not os.path.exists(path)  # lazily: nothing until first use
    answer = client.ecard_keys()
    assert isinstance(answer, c.ECardKeys) and answer.format == "JMEC1"
    (key,) = answer.keys
    assert key.valid_until is None
    assert abs((key.valid_from - clock.now()).total_seconds()) <= 1
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert client.ecard_keys() == answer  # the same key on every call
    keys = ecard.trusted_keys(answer)
    assert set(keys) == {key.key_id}


def test_the_route_is_signed(backend):
    _app, server = backend
    r = requests.get(server.url + c.API_PREFIX + "/ecard-keys", timeout=10)
    assert r.status_code == 401
    assert r.headers["content-type"].startswith(c.PROBLEM_CONTENT_TYPE)


def test_a_revoked_kiosk_gets_no_keys(backend, client, kiosk_identity, clock):
    from backend.kiosks import revoke

    app, _server = backend
    with app.state.sessions() as db:
        revoke(db, clock.now(), kiosk_identity.kiosk_id)
    with pytest.raises(AuthRejected):
        client.ecard_keys()


# ---------------------------------------------------------------------------- issuing


def test_cli_issue_writes_a_qr_code_that_decodes_and_verifies(client, cli_env, tmp_path, personas):
    png = tmp_path / "card.png"
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "backend.cli",
            "ecard",
            "issue",
            "--persona",
            "demo-02",
            "--document",
            "home_return_permit",
            "--days",
            "30",
            "--png",
            str(png),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        cwd=REPO,
        env=cli_env,
    )
    payload = out.stdout.strip()
    assert payload.startswith("JMEC1.") and "\n" not in payload
    assert png.exists() and "QR code written" in out.stderr

    # Read back as the kiosk reads a code (OpenCV's QR detectors through drivers/reader: the
    # classic detector alone misses some symbols that the kiosk reads).
    from drivers.reader.camera_qr import decode_qr

    decoded = decode_qr(cv2.imread(str(png), cv2.IMREAD_COLOR))
    assert decoded == payload

    keys = ecard.trusted_keys(client.ecard_keys())
    claims = ecard.verify(decoded, keys, now())
    p = next(p for p in personas if p["key"] == "demo-02")
    hrp = next(d for d in p["documents"] if d["type"] == "home_return_permit")
    assert claims.document_type is c.DocumentType.HOME_RETURN_PERMIT
    assert claims.document_number == hrp["number"]
    assert claims.date_of_birth.isoformat() == p["date_of_birth"]
    assert dt.timedelta(days=29) < claims.expires_at - now() <= dt.timedelta(days=30)

    # What the card says is what identify needs: the seeded back end knows this resident.
    who = client.identify(claims.document_type, claims.document_number, claims.date_of_birth)
    assert who.masked_name_zh and who.subject_token


def test_cli_issue_by_pensioner_id_uses_the_database(client, cli_env, capsys, backend):
    from sqlalchemy import select

    from backend import models as m

    app, _server = backend
    with app.state.sessions() as db:
        doc = db.scalars(
            select(m.IdentityDocument).where(m.IdentityDocument.doc_type == "macau_id")
        ).first()
        pensioner_id, number = doc.pensioner_id, doc.number
        born = doc.pensioner.date_of_birth
    rc, out, _err = run_cli(
        capsys, "ecard", "issue", "--pensioner-id", str(pensioner_id), "--document", "macau_id"
    )
    assert rc == 0
    claims = ecard.verify(out.strip(), ecard.trusted_keys(client.ecard_keys()), now())
    assert (claims.document_number, claims.date_of_birth) == (number, born)
    assert claims.expires_at - claims.issued_at == dt.timedelta(days=365)  # the default


@pytest.mark.parametrize(
    "args,message",
    [
        (["--persona", "demo-99"], "no demo persona"),
        (["--persona", "demo-02", "--document", "macau_id"], "no macau_id document"),
        (["--persona", "demo-02", "--document", "passport"], "--document"),
        (["--persona", "demo-02", "--days", "0"], "--days"),
        (["--pensioner-id", "999999"], "no pensioner 999999"),
    ],
)
def test_cli_issue_refuses_clearly(cli_env, capsys, args, message):
    rc, out, err = run_cli(capsys, "ecard", "issue", *args)
    assert rc == 2 and out == "" and message in err


def test_cli_issue_needs_exactly_one_pensioner(cli_env, capsys):
    with pytest.raises(SystemExit):
        cli.main(["ecard", "issue", "--persona", "demo-01", "--pensioner-id", "1"])
    with pytest.raises(SystemExit):
        cli.main(["ecard", "issue"])


# ---------------------------------------------------------------------------- rotation


def test_rotation_retires_the_old_key_and_its_cards_stay_valid(
    client, cli_env, capsys, backend_settings
):
    rc, before, _ = run_cli(capsys, "ecard", "issue", "--persona", "demo-01")
    assert rc == 0
    first = client.ecard_keys()
    rc, out, _ = run_cli(capsys, "ecard", "rotate")
    assert rc == 0 and "is current" in out
    answer = client.ecard_keys()  # the server re-reads the changed file
    old, new = answer.keys
    assert old.key_id == first.keys[0].key_id and old.valid_until is not None
    assert new.valid_until is None
    assert old.valid_until - new.valid_from == dt.timedelta(seconds=1)  # no gap, a 1 s overlap
    assert stat.S_IMODE(os.stat(backend_settings.ecard_key_path).st_mode) == 0o600

    keys = ecard.trusted_keys(answer)
    assert ecard.verify(before.strip(), keys, now()).key_id == old.key_id  # still honoured
    rc, after, _ = run_cli(capsys, "ecard", "issue", "--persona", "demo-01")
    assert ecard.verify(after.strip(), keys, now()).key_id == new.key_id

    # A card the retired key signs after its retirement is refused.
    ring = backend_ecard.ECardKeyring(backend_settings.ecard_key_path)
    retired = next(k for k in ring.keys(now()) if k.key_id == old.key_id)
    claims = ecard.new_claims(
        c.DocumentType.HKID,
        "A123456(3)",
        dt.date(1946, 3, 12),
        old.valid_until,
        dt.timedelta(days=1),
    )
    late = ecard.issue(claims, retired.private, retired.key_id)
    with pytest.raises(ecard.ECardError) as e:
        ecard.verify(late, keys, now())
    assert e.value.key == "ecard_key_not_valid"

    rc, out, _ = run_cli(capsys, "ecard", "keys")
    lines = out.strip().splitlines()
    assert len(lines) == 2 and lines[1].endswith("current")


def test_a_damaged_key_file_is_a_clear_error(tmp_path):
    path = tmp_path / "ecard-key.pem"
    path.write_text("Valid-From: yesterday\n-----BEGIN PRIVATE KEY-----\nAAAA\n")
    ring = backend_ecard.ECardKeyring(path)
    with pytest.raises(ValueError):
        ring.keys(now())
    path.write_text("# nothing here\n")
    with pytest.raises(ValueError, match="no e-card key"):
        ring.keys(now())
