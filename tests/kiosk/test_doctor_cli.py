"""`kiosk doctor` as a technician runs it over a remote shell: a subprocess, its exit code,
its stdout (one line per check, or JSON only) and stderr. `--demo` starts the reference back
end as a child (a few seconds each), so the fault cases share one run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.cli import main
from kiosk.doctor import CHECK_NAMES

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _kiosk_env(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith("KIOSK_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("KIOSK_DATA_DIR", str(tmp_path / "data"))


def _doctor(tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    env.update(PYTHONPATH=str(REPO), KIOSK_DATA_DIR=str(tmp_path / "data"))
    return subprocess.run(
        [sys.executable, "-m", "kiosk", "doctor", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_demo_json_prints_every_check_and_exits_0(tmp_path):
    done = _doctor(tmp_path, "--json", "--demo")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    doc = json.loads(done.stdout)  # JSON only on stdout
    assert doc["ok"] is True
    assert [check["name"] for check in doc["checks"]] == list(CHECK_NAMES)
    for check in doc["checks"]:
        assert check["ok"] is True, check
        assert check["status"] in ("pass", "skip"), check
        assert check["message_key"] and check["text"]
    camera = doc["checks"][0]["measurement"]
    assert camera["face"] and camera["fps"] > 10
    assert (camera["width"], camera["height"]) == (1280, 720)


def test_demo_faults_turn_their_checks_red_and_the_exit_code_1(tmp_path):
    done = _doctor(
        tmp_path, "--demo",
        "--fault", "camera=unplugged",
        "--fault", "fingerprint=unplugged",
        "--fault", "printer=paper_out",
        "--fault", "backend=down",
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stdout.splitlines()
    assert [line.split()[1] for line in lines] == list(CHECK_NAMES)  # one line per check
    status = {line.split()[1]: line.split()[0] for line in lines}
    assert status == {
        "camera": "FAIL",
        "fingerprint": "FAIL",
        "printer": "FAIL",
        "disk": "PASS",
        "outbox": "PASS",
        "backend": "FAIL",
        "heartbeat": "FAIL",
        "tls": "SKIP",
        "clock": "WARN",  # advisory: unknown without a back end, never red
    }
    printer = next(line for line in lines if line.split()[1] == "printer")
    assert printer.endswith("paper out (printer_paper_out)")
    camera = next(line for line in lines if line.split()[1] == "camera")
    assert camera.endswith("(device_unavailable)")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["doctor", "--fault", "camera=unplugged"], "--fault needs --demo"),
        (["doctor", "--demo", "--fault", "camera=melted"], "camera faults are unplugged"),
        (["doctor", "--demo", "--fault", "toaster"], "not DEVICE=FAULT"),
        (["doctor", "--timeout", "0"], "must be more than 0 seconds"),
        (["doctor", "--config", "/no/such/kiosk.toml"], "config file not found"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(capsys, argv, expected):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert expected in line
