"""After real sessions through the real UI (kiosk scenario: approved, one approved by
fingerprint through the R30x driver, and one left in the outbox because the back end went
away), nothing biometric is on the kiosk's disk outside
the sealed outbox entry, nor in its logs or output: not in the data folder (SQLite files with
their WAL and free pages included), Kivy's folder or the temp folder.

The demo back end's own files (a stand-in for the bureau's server, which keeps references
and evidence by design) are left out of the scan: they are not the kiosk's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from biometrics import simulated
from kiosk.devices.sim_resident import MATCH
from tests.privacy import probe

REPO = Path(__file__).resolve().parents[2]


def _kiosk_side(p: Path) -> bool:
    return not p.name.startswith("demo-")  # demo-backend.sqlite3, demo-*-key.pem, its log


def test_the_probe_finds_what_it_looks_for(tmp_path):
    vector = simulated.face_vector("demo-02", MATCH, np.random.default_rng(0))
    (tmp_path / "t.json").write_text(json.dumps({"v": vector}))
    from skimage import data

    face = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    ok, jpeg = cv2.imencode(".jpg", face)
    assert ok
    (tmp_path / "blob.bin").write_bytes(b"SQLite format 3\0" + b"x" * 500 + jpeg.tobytes())
    files = probe.files_under([tmp_path])
    assert probe.find_template(files, vector)
    assert probe.find_face_images(files) == [f"{tmp_path / 'blob.bin'}@516"]
    # and nothing in an unrelated file
    (tmp_path / "t.json").write_text(json.dumps({"v": [0.5] * 128}))
    assert probe.find_template([tmp_path / "t.json"], vector) == []
    assert probe.find_fingerprints(files) == []  # a face is not a finger


def test_the_probe_finds_fingerprints(tmp_path):
    import base64

    from biometrics.fingerprint import analyze
    from drivers.fingerprint.synthetic import synthetic_fingerprint

    finger = synthetic_fingerprint(7, 1)
    ok, png = cv2.imencode(".png", finger)
    assert ok
    (tmp_path / "wal").write_bytes(b"\0" * 300 + png.tobytes() + b"\0" * 40)
    text = json.dumps(analyze(finger).template.to_dict(), separators=(",", ":"))
    (tmp_path / "log.txt").write_text("evidence " + text)
    (tmp_path / "b64.txt").write_bytes(base64.b64encode(text.encode()))
    found = probe.find_fingerprints(probe.files_under([tmp_path]))
    assert f"{tmp_path / 'wal'}@300: fingerprint image" in found
    assert any(f.startswith(f"{tmp_path / 'log.txt'}: template") for f in found)
    assert any(f.startswith(f"{tmp_path / 'b64.txt'}: template") for f in found)


@pytest.fixture(scope="module")
def sessions(tmp_path_factory):
    root = tmp_path_factory.mktemp("privacy")
    outputs = []
    for name in ("verify-approve", "verify-offline", "verify-finger-fallback"):
        data_dir = root / name
        tmp = data_dir / "tmp"
        tmp.mkdir(parents=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KIOSK_", "KIVY_"))}
        env.update(
            PYTHONPATH=str(REPO),
            SDL_VIDEODRIVER="offscreen",
            KIVY_NO_ARGS="1",
            KIVY_HOME=str(data_dir / "kivy"),
            TMPDIR=str(tmp),
        )
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "kiosk",
                "scenario",
                name,
                "--json",
                "--data-dir",
                str(data_dir),
            ],
            cwd=data_dir,
            env=env,
            capture_output=True,
            text=True,
            timeout=400,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        report = json.loads(done.stdout)
        outputs.append((data_dir, done.stdout + done.stderr, report))
    return outputs


def test_no_template_on_disk_or_in_the_output(sessions, tmp_path):
    for data_dir, output, report in sessions:
        # The scripted resident's capture: the first draw of its seeded generator.
        vector = simulated.face_vector(report["persona"], MATCH, np.random.default_rng(0))
        (tmp_path / "output.txt").write_text(output)
        files = probe.files_under([data_dir], skip=lambda p: not _kiosk_side(p))
        assert any(p.suffix.startswith(".sqlite3") for p in files)  # the outbox was scanned
        assert probe.find_template([*files, tmp_path / "output.txt"], vector) == []


def test_no_face_picture_on_disk(sessions):
    for data_dir, _output, _report in sessions:
        files = probe.files_under([data_dir], skip=lambda p: not _kiosk_side(p))
        assert probe.find_face_images(files) == []


def test_no_fingerprint_on_disk_or_in_the_output(sessions, tmp_path):
    *_, (data_dir, output, report) = sessions
    assert report["scenario"] == "verify-finger-fallback" and report["decision"] == {
        "outcome": "approved",
        "reason_code": "match",
    }  # a real finger template and image were made, sealed and sent
    (tmp_path / "output.txt").write_text(output)
    for data_dir, _output, _report in sessions:
        files = probe.files_under([data_dir], skip=lambda p: not _kiosk_side(p))
        assert probe.find_fingerprints([*files, tmp_path / "output.txt"]) == []


def test_the_offline_session_left_only_its_sealed_entry(sessions):
    data_dir, _output, report = sessions[1]
    assert report["final_screen"] == "pending" and report["outbox_depth"] == 1
    import sqlite3

    db = sqlite3.connect(data_dir / "outbox.sqlite3")
    (sealed,) = db.execute("SELECT sealed FROM entries").fetchone()
    db.close()
    envelope = json.loads(sealed)
    # Only what the contract's sealed package carries: ciphertext and its wrapping.
    assert "template" not in sealed and "liveness" not in sealed
    from kiosk.api import contract as c

    assert set(envelope) <= set(c.SealedEvidence.model_fields), sorted(envelope)
