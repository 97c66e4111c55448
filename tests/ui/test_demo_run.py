"""`kiosk run` end to end: a real Kivy window (offscreen), a real back end child process.

One Kivy window per process, so every run is a subprocess of its own.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk.ui import theme

REPO = Path(__file__).resolve().parents[2]
WIDTH, HEIGHT = 1920, 1080  # the kiosk panel

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def _env(tmp_path: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KIOSK_", "KIVY_"))}
    env.update(
        PYTHONPATH=str(REPO),  # this checkout, whatever the installed copy
        SDL_VIDEODRIVER="offscreen",
        KIVY_NO_ARGS="1",
        KIVY_HOME=str(tmp_path / "kivy-home"),
        KIOSK_DATA_DIR=str(tmp_path / "data"),
        KIOSK_WINDOW_WIDTH=str(WIDTH),
        KIOSK_WINDOW_HEIGHT=str(HEIGHT),
    )
    env.update({f"KIOSK_{k.upper()}": v for k, v in settings.items()})
    return env


def _kiosk(tmp_path: Path, *args: str, **settings: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kiosk", "run", *args],
        cwd=tmp_path,
        env=_env(tmp_path, **settings),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _pixels_near(image: np.ndarray, rgba, tolerance: int = 12) -> int:
    bgr = np.array([round(c * 255) for c in rgba[2::-1]], dtype=int)
    return int((np.abs(image.astype(int) - bgr).max(axis=2) <= tolerance).sum())


def _alive_processes_mentioning(text: str) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue  # gone while we looked
        if text in cmdline and state != "Z":
            found.append(f"{proc.name}: {cmdline}")
    return found


def test_demo_run_shows_the_backend_state_and_stops_the_backend(tmp_path):
    shot = tmp_path / "shot.png"
    done = _kiosk(tmp_path, "--demo", "--screenshot", str(shot), "--exit-after", "60")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output

    listening = re.search(r"listening on (http://127\.0\.0\.1:\d+) \(pid (\d+)", output)
    assert listening, output
    url, pid = listening.group(1), int(listening.group(2))
    assert f"back end {url} answered" in output
    assert "heartbeat accepted" in output

    assert re.search(r"attract screen drawn [\d.]+ s after start", output), output
    # The resident's start screen, once the back end is known to answer.
    assert f"screenshot saved to {shot.resolve()} (screen attract)" in output
    image = cv2.imread(str(shot))
    assert image is not None, "no PNG written"
    assert image.shape == (HEIGHT, WIDTH, 3)
    assert image.std() > 5  # not a uniform frame
    # The start button is drawn: the frame saved is a drawn screen, not a blank one.
    assert _pixels_near(image, theme.PRIMARY) > 10_000

    # The back end child was stopped (and reaped): nothing runs on our data directory.
    assert not Path(f"/proc/{pid}").exists()
    assert _alive_processes_mentioning(str(tmp_path / "data")) == []


def test_run_without_a_backend_goes_out_of_service(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]  # nothing listens once the socket is closed
    url = f"http://127.0.0.1:{closed_port}"
    shot = tmp_path / "shot.png"
    done = _kiosk(tmp_path, "--screenshot", str(shot), "--exit-after", "60", backend_url=url)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert f"back end {url} did not answer" in output
    # An unattended kiosk whose back end is away says so before anyone starts a journey.
    assert "(screen out_of_service)" in output
    image = cv2.imread(str(shot))
    assert image is not None and image.std() > 5
    assert _pixels_near(image, theme.PRIMARY) < 1_000  # no start button


def test_exit_after_is_a_deadline_for_the_screenshot(tmp_path):
    # A back end that accepts the connection and never answers: the state is not known
    # before the deadline, so no screenshot, a non-zero exit and one clear line.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        shot = tmp_path / "shot.png"
        done = _kiosk(
            tmp_path,
            "--screenshot",
            str(shot),
            "--exit-after",
            "1",
            backend_url=url,
            read_timeout_s="30",
            retries="0",
        )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "no screenshot within 1 s" in done.stderr
    assert not shot.exists()
