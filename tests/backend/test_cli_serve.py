"""The acceptance path by command line: seed twice, serve, health, unsigned, replayed."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.api import contract as c
from kiosk.api import signing
from tests.conftest import REPO


def _run(env, *args):
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_seed_twice_then_serve(tmp_path):
    env = {**os.environ, "KIOSK_BACKEND_DB_URL": f"sqlite:///{tmp_path / 'b.sqlite3'}"}
    first = _run(env, "seed", "--demo")
    second = _run(env, "seed", "--demo")
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert "22 created, 0 already present" in first.stdout
    assert "0 created, 22 already present" in second.stdout

    key = Ed25519PrivateKey.generate()
    reg = _run(
        env,
        "kiosk",
        "register",
        "--id",
        "HK-CLI-01",
        "--site",
        "Test",
        "--public-key",
        signing.public_key_b64(key.public_key()),
    )
    assert reg.returncode == 0, reg.stderr

    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "backend.cli", "serve", "--port", str(port)],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}{c.API_PREFIX}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = requests.get(base + "/health", timeout=2)
                break
            except requests.ConnectionError:
                assert proc.poll() is None, proc.stdout.read().decode()
                assert time.monotonic() < deadline, "server did not come up"
                time.sleep(0.2)
        assert health.status_code == 200 and health.json()["status"] == "ok"

        unsigned = requests.post(base + "/heartbeat", json={}, timeout=5)
        assert unsigned.status_code == 401
        assert unsigned.headers["content-type"] == c.PROBLEM_CONTENT_TYPE
        assert unsigned.json()["code"] == "unauthenticated"

        body = (
            c.HeartbeatRequest(app_version="t", devices={}, outbox_depth=0, free_disk_mb=1)
            .model_dump_json()
            .encode()
        )
        headers = signing.sign_request(
            key, "HK-CLI-01", "POST", c.API_PREFIX + "/heartbeat", body, int(time.time())
        ).as_dict()
        headers["Content-Type"] = "application/json"
        ok = requests.post(base + "/heartbeat", data=body, headers=headers, timeout=5)
        assert ok.status_code == 200, ok.text
        replay = requests.post(base + "/heartbeat", data=body, headers=headers, timeout=5)
        assert replay.status_code == 401
        assert replay.json()["code"] == "replayed_nonce"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_bad_input_is_one_line_and_nonzero(tmp_path):
    env = {**os.environ, "KIOSK_BACKEND_DB_URL": f"sqlite:///{tmp_path / 'b.sqlite3'}"}
    r = _run(env, "kiosk", "register", "--id", "bad id", "--site", "x", "--public-key", "AAAA")
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "kiosk id" in r.stderr
    r = _run(env, "kiosk", "register", "--id", "HK-1", "--site", "x", "--public-key", "AAAA")
    assert r.returncode == 2 and "32 bytes" in r.stderr
    r = _run(env, "kiosk", "revoke", "--id", "NOPE")
    assert r.returncode == 2 and "no kiosk" in r.stderr


def test_audit_verify_command(tmp_path):
    env = {**os.environ, "KIOSK_BACKEND_DB_URL": f"sqlite:///{tmp_path / 'b.sqlite3'}"}
    assert _run(env, "seed", "--demo").returncode == 0
    ok = _run(env, "audit-verify")
    assert ok.returncode == 0 and "intact" in ok.stdout
    import sqlite3

    con = sqlite3.connect(tmp_path / "b.sqlite3")
    con.execute("UPDATE audit_log SET actor = 'someone-else' WHERE id = 1")
    con.commit()
    con.close()
    bad = _run(env, "audit-verify")
    assert bad.returncode == 1 and "broken at entry 1" in bad.stderr


def test_bad_setting_is_one_line(tmp_path):
    env = {
        **os.environ,
        "KIOSK_BACKEND_DB_URL": f"sqlite:///{tmp_path / 'b.sqlite3'}",
        "KIOSK_BACKEND_PORT": "eighty",
    }
    r = _run(env, "migrate")
    assert r.returncode == 2
    assert r.stderr.strip() == (
        "kiosk-backend: setting KIOSK_BACKEND_PORT: Input should be a "
        "valid integer, unable to parse string as an integer"
    )
