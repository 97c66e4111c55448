"""The deployment files in assets/deploy are usable as shipped: the example settings load,
and the systemd unit restarts the kiosk, watches it, and allows no core dumps."""

from __future__ import annotations

import configparser

from kiosk.config import load_settings
from tests.conftest import REPO

DEPLOY = REPO / "assets" / "deploy"


def _unit(name: str) -> configparser.ConfigParser:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # systemd keys are case-sensitive
    unit.read(DEPLOY / name)
    return unit


def test_example_settings_load_and_lock_the_kiosk_down():
    s = load_settings(DEPLOY / "kiosk.toml")
    assert s.lockdown and s.fullscreen
    assert s.backend_url.startswith("https://")
    assert s.fingerprint_port.startswith("/dev/serial/by-id/")


def test_kiosk_unit_restarts_watches_and_forbids_core_dumps():
    service = _unit("jiangmen-kiosk.service")["Service"]
    assert service["Restart"] == "always"
    assert service["Type"] == "notify" and int(service["WatchdogSec"]) > 0
    assert service["LimitCORE"] == "0"
    assert service["User"] == "kiosk"
    assert "-nocursor" in service["ExecStart"] and " run" in service["ExecStart"]
    assert service["ReadWritePaths"] == "/var/lib/jiangmen-kiosk"


def test_kiosk_started_anywhere_bounds_freed_memory_as_the_unit_does(monkeypatch):
    import ctypes

    from kiosk import cli

    service = _unit("jiangmen-kiosk.service")["Service"]
    env = dict(item.split("=", 1) for item in service["Environment"].split())
    assert int(env["MALLOC_MMAP_THRESHOLD_"]) == cli.MMAP_THRESHOLD
    calls = []

    class Libc:
        def mallopt(self, param, value):
            calls.append((param, value))
            return 1

    monkeypatch.setattr(ctypes, "CDLL", lambda name: Libc())
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    cli._bound_freed_memory()
    assert calls == [(-3, cli.MMAP_THRESHOLD)]  # M_MMAP_THRESHOLD
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "131072")  # the unit's (or anyone's) wins
    cli._bound_freed_memory()
    assert len(calls) == 1


def test_backend_unit_restarts():
    assert _unit("jiangmen-kiosk-backend.service")["Service"]["Restart"] == "always"
