"""A locked-down kiosk: nothing from outside ends it, a bug shows the out-of-service screen
instead of a traceback, and the process writes no core dump."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.ui import child

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def test_close_requests_and_errors_in_the_ui(tmp_path):
    proc = child.start(tmp_path, "lockdown", str(tmp_path / "report.json"))
    report = child.finish(proc, tmp_path / "report.json", timeout=120)
    assert report["before_error"] == "attract"
    assert report["after_error"] == "out_of_service"
    assert report["message"] == "error_internal"
    assert report["close_refused"] is True
    assert report["cursor_shown"] is False


def test_ctrl_c_does_nothing_and_no_core_dumps(tmp_path):
    env = child.env(tmp_path)
    env.update(
        KIOSK_LOCKDOWN="true",
        KIOSK_DEVICES="simulated",
        KIOSK_BACKEND_URL="http://127.0.0.1:9",  # nothing answers: out of service, fine here
        KIOSK_HEARTBEAT_INTERVAL_S="3600",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "run", "--exit-after", "12"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        lines = []
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            lines.append(line)
            if "attract screen drawn" in line:
                break
        else:
            raise AssertionError("".join(lines))
        limits = Path(f"/proc/{proc.pid}/limits").read_text()
        core = next(line for line in limits.splitlines() if line.startswith("Max core file size"))
        assert core.split()[4:6] == ["0", "0"], core
        os.kill(proc.pid, signal.SIGINT)
        time.sleep(1.0)
        assert proc.poll() is None, "Ctrl+C ended a locked-down kiosk"
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, "".join(lines) + output
