"""The `kiosk` command: `key show`, `settings`, and one-line errors for bad input."""

from __future__ import annotations

import base64
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.api.signing import key_fingerprint, load_public_key
from kiosk.cli import main

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def kiosk_env(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith("KIOSK_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("KIOSK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KIOSK_KIOSK_ID", "HK-KWUNTONG-03")
    monkeypatch.setenv("KIOSK_SITE", "Kwun Tong, Hong Kong")


def _fields(out: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in out.splitlines())


def test_key_show_creates_the_key_once_and_prints_what_to_register(capsys, tmp_path):
    assert main(["key", "show"]) == 0
    first = _fields(capsys.readouterr().out)
    assert first["kiosk_id"] == "HK-KWUNTONG-03"
    assert len(base64.b64decode(first["public_key"], validate=True)) == 32
    assert re.fullmatch(r"SHA256:[0-9a-f]{32}", first["fingerprint"])
    assert first["fingerprint"] == key_fingerprint(load_public_key(first["public_key"]))
    key_file = tmp_path / "data" / "device-key.pem"
    assert Path(first["key_file"]) == key_file
    assert key_file.stat().st_mode & 0o777 == 0o600

    assert main(["key", "show"]) == 0  # the same key, not a new one
    assert _fields(capsys.readouterr().out) == first


def test_the_printed_register_command_registers_the_kiosk(capsys, tmp_path):
    assert main(["key", "show"]) == 0
    command = shlex.split(_fields(capsys.readouterr().out)["register_with"])
    assert command[:3] == ["kiosk-backend", "kiosk", "register"]
    db = f"sqlite:///{tmp_path / 'backend.sqlite3'}"
    backend = [sys.executable, "-m", "backend.cli", "--db-url", db]
    done = subprocess.run(
        backend + command[1:], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "kiosk HK-KWUNTONG-03 registered" in done.stdout
    listed = subprocess.run(
        [*backend, "kiosk", "list"], capture_output=True, text=True, timeout=120, check=True
    )
    assert "HK-KWUNTONG-03\tactive\tlive\tKwun Tong, Hong Kong" in listed.stdout


def test_settings_prints_the_reference_table(capsys):
    assert main(["settings"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("| variable | type | default | description |")
    assert "| `KIOSK_IDLE_RESET_S` | int | `60` |" in out


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["bogus"], "invalid choice: 'bogus'"),
        ([], "required: COMMAND"),
        (["key"], "required: ACTION"),
        (["run", "--config", "/no/such/kiosk.toml"], "config file not found: /no/such/kiosk.toml"),
        (["key", "show", "--config", "/no/such/kiosk.toml"], "config file not found"),
        (["run", "--exit-after", "soon"], "not a number of seconds"),
        (["run", "--screenshot", "shot.jpg"], "a PNG file"),
    ],
)
def test_bad_input_is_one_line_on_stderr(capsys, argv, expected):
    assert main(argv) != 0
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert expected in lines[0]


def test_bad_setting_is_one_line(capsys, monkeypatch):
    monkeypatch.setenv("KIOSK_RETRIES", "many")
    assert main(["key", "show"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("kiosk: invalid settings: retries")


def test_broken_key_file_is_one_line(capsys, tmp_path):
    key_file = tmp_path / "data" / "device-key.pem"
    key_file.parent.mkdir(parents=True)
    key_file.write_text("not a key")
    assert main(["key", "show"]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("kiosk key:")


def test_console_entry_point_without_traceback(tmp_path):
    """`python -m kiosk` as a technician runs it: exit code and stderr, nothing else."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "kiosk", "bogus"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1
    assert "Traceback" not in done.stderr


def test_demo_backend_that_cannot_start_is_one_line(tmp_path):
    # A directory where the back end's SQLite file should be: its migration fails.
    data = tmp_path / "data"
    (data / "demo-backend.sqlite3").mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    env.update(PYTHONPATH=str(REPO), KIOSK_DATA_DIR=str(data))
    done = subprocess.run(
        [sys.executable, "-m", "kiosk", "run", "--demo"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    (line,) = done.stderr.splitlines()
    assert line.startswith("kiosk run: demo back end: `migrate` failed")
    assert "unable to open database file" in line
