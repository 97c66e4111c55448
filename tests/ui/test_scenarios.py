"""`kiosk scenario NAME --json`: each scenario, in a process of its own, taps through the real
UI offscreen against a fresh demo back end and ends on its own screen."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.scenarios import SCENARIOS

REPO = Path(__file__).resolve().parents[2]

EXPECTED = {
    "enquiry": {"final_screen": "receipt", "printed": 1, "reference": False},
    "verify-approve": {"final_screen": "receipt", "printed": 1, "reference": True},
    "verify-live": {"final_screen": "receipt", "printed": 1, "reference": True},
    "verify-finger-fallback": {"final_screen": "receipt", "printed": 1, "reference": True},
    "verify-manual-review": {"final_screen": "receipt", "printed": 1, "reference": True},
    "verify-ecard": {"final_screen": "receipt", "printed": 1, "reference": True},
    "verify-offline": {"final_screen": "pending", "printed": 1, "reference": True},
    "idle-reset": {"final_screen": "attract", "printed": 0, "reference": False},
    "backend-down": {"final_screen": "out_of_service", "printed": 0, "reference": False},
}


def test_every_scenario_is_tested_here():
    assert set(EXPECTED) == set(SCENARIOS)


def _scenario(tmp_path: Path, name: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KIOSK_", "KIVY_"))}
    env.update(
        PYTHONPATH=str(REPO),
        SDL_VIDEODRIVER="offscreen",
        KIVY_NO_ARGS="1",
        KIVY_HOME=str(tmp_path / "kivy-home"),
    )
    return subprocess.run(
        [sys.executable, "-m", "kiosk", "scenario", name, "--json", "--data-dir", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
    )


@pytest.mark.parametrize("name", list(EXPECTED))
def test_scenario_ends_on_its_screen(tmp_path, name):
    if SCENARIOS[name].face_pipeline == "actor":
        from kiosk.devices.demo_actor import find_actor

        usable, line = find_actor()
        if not usable:
            pytest.skip(line)
    done = _scenario(tmp_path, name)
    assert done.stdout.strip(), done.stderr[-3000:]
    report = json.loads(done.stdout)  # stdout is the JSON report alone
    want = EXPECTED[name]
    assert report.get("error") is None, report["error"]
    assert done.returncode == 0, done.stderr[-3000:]
    assert report["ok"] is True
    assert report["final_screen"] == want["final_screen"]
    assert report["printed"] == want["printed"]
    if want["reference"]:
        pattern = r"JM\d{6}-[0-9A-Z]{8}|JP-[0-9A-Z]{10}"  # decided | pending (outbox)
        assert re.fullmatch(pattern, report["reference"]), report["reference"]
    else:
        assert report["reference"] is None
    steps = report["steps"]
    assert steps[0]["screen"] == "attract" and all(s["seconds"] >= 0 for s in steps)
    assert report["taps"] >= 3
    screens = [s["screen"] for s in steps]
    if name == "verify-finger-fallback":
        assert screens.count("face_capture") == 3 and "finger_capture" in screens
        # the finger came through the R30x driver and the back end's gabor-mcc matcher
        assert report["decision"] == {"outcome": "approved", "reason_code": "match"}
    if name == "verify-live":
        assert screens.count("face_capture") == 1 and "finger_capture" not in screens
        assert report["decision"] == {"outcome": "approved", "reason_code": "match"}
    if name == "verify-manual-review":
        assert "staff_review" in screens
    if name == "enquiry":
        assert "payments" in screens and "summary" in screens
    if name == "idle-reset":
        assert "idle_warning" in screens
        assert report["personal_data_left"] == []
    if name == "verify-offline":
        assert report["reference"].startswith("JP-") and report["outbox_depth"] == 1
    if name == "verify-ecard":
        assert "qr_scan" in screens and "doc_number" not in screens and "birth_date" not in screens
    if name == "backend-down":
        assert "face_capture" not in screens
