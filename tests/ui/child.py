"""Starting a UI child process (tests/ui/uiproc.py): one Kivy window per process, offscreen."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# What tests/ui/audit.py checks on every drawn screen (each a list of findings).
CHECKS = ("overflow", "outside", "small_text", "contrast", "primary", "targets")


def env(tmp: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("KIOSK_", "KIVY_"))}
    clean.update(
        PYTHONPATH=str(REPO),
        SDL_VIDEODRIVER="offscreen",
        KIVY_NO_ARGS="1",
        KIVY_HOME=str(tmp / "kivy-home"),
        KIVY_LOG_MODE="PYTHON",
        KIOSK_DATA_DIR=str(tmp / "data"),
    )
    return clean


def start(tmp: Path, mode: str, *args: str) -> subprocess.Popen:
    tmp.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", "tests.ui.uiproc", mode, *args],
        cwd=tmp,
        env=env(tmp),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(proc: subprocess.Popen, report: Path, timeout: float = 240) -> dict:
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        output, _ = proc.communicate()
        raise AssertionError(f"UI child timed out:\n{output[-4000:]}") from None
    assert proc.returncode == 0, f"UI child failed ({proc.returncode}):\n{output[-6000:]}"
    assert report.exists(), f"UI child wrote no report:\n{output[-6000:]}"
    return json.loads(report.read_text())
