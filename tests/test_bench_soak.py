"""bench/soak.py at tiny sizes: both parts run every session to its end, the JSON says what it
promises, and no template of the sessions' captures nor any face picture is left on disk or
in the logs.

Memory figures are only checked for being there: growth is judged in docs/BENCHMARKS.md from
a full run, never by an assertion here.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np

from bench import soak

REPO = Path(__file__).resolve().parent.parent


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KIOSK_", "KIVY_"))}
    env.update(PYTHONPATH=str(REPO), KIVY_NO_ARGS="1", TMPDIR=str(tmp))
    return env


def test_tiny_soak_runs_every_session_and_leaves_nothing_biometric(tmp_path):
    out = tmp_path / "soak.json"
    args = [
        "--flow-sessions", "24", "--ui-sessions", "3", "--face-hold-s", "0.5",
        "--max-minutes", "4", "--out", str(out),
    ]  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "bench.soak", *args],
        cwd=tmp_path,
        env=_env(tmp_path),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads(out.read_text())

    assert result["benchmark"] == "soak"
    assert result["machine"]["cores"] >= 1
    assert result["parameters"]["flow_sessions"] == 24
    assert result["parameters"]["ui_sessions"] == 3
    assert isinstance(result["parameters"]["malloc_env"], dict)
    for name, planned in (("flow", 24), ("ui", 3)):
        part = result[name]
        assert "error" not in part, (name, part.get("error"))
        assert part["failures"] == 0, (name, part["failure_list"])
        assert part["sessions"] == planned and not part["stopped_early"], (name, part)
        assert part["seconds"] > 0 and part["s_per_session"] > 0
        assert len(part["rss_mb"]) == planned and all(v > 0 for v in part["rss_mb"])
        assert 1 <= part["warmup_sessions"] < planned
        assert part["goal_mb"] == 10
        assert isinstance(part["growth_mb_after_warmup"], float)
        assert isinstance(part["slope_kb_per_session"], float)
        assert "slope_kb_per_session_last_half" in part
        assert part["malloc_arenas"] is None or part["malloc_arenas"] >= 1
        assert isinstance(part["pass"], bool)
        assert part["captures"]["face"] >= planned // 2
    # The flow part went through every scenario once at least (24 sessions, 8 scenarios).
    assert set(result["flow"]["scenarios"]) == set(soak.FLOW_SCENARIOS)
    # The UI part drew camera frames (the texture path) during its face captures.
    assert result["ui"]["preview_frames_shown"] > 0

    privacy = result["privacy"]
    assert privacy["templates_found"] == 0 and privacy["faces_found"] == 0, privacy["findings"]
    assert privacy["files_scanned"] > 0
    for name in ("flow", "ui"):
        scanned = privacy["per_part"][name]
        assert scanned["templates_checked"] == sum(result[name]["captures"].values())
        assert scanned["log_files"] >= 1
        assert any("outbox.sqlite3" in f for f in scanned["files"]), scanned["files"]


def test_the_template_search_finds_what_the_probe_would(tmp_path):
    rng = np.random.default_rng(3)
    face = [float(x) for x in rng.standard_normal(128) * 0.1]
    finger = (rng.standard_normal(64).astype("<f4")).tobytes()
    captures = soak.Captures(face_capacity=2, finger_capacity=2)

    class Tpl:
        def __init__(self, vector=None, data_b64=None):
            self.vector, self.data_b64 = vector, data_b64

    class Evidence:
        def __init__(self, **kw):
            self.template = Tpl(**kw)

    import base64

    captures.note(Evidence(vector=face))
    captures.note(Evidence(data_b64=base64.b64encode(finger).decode()))
    assert captures.face == [face] and captures.finger == [finger]

    (tmp_path / "log.txt").write_text("noise " + ", ".join(repr(x) for x in face[32:35]))
    packed = b"".join(struct.pack("<d", x) for x in face[:3])
    (tmp_path / "db.sqlite3").write_bytes(b"SQLite format 3\0" + b"\0" * 300 + packed)
    (tmp_path / "finger.bin").write_bytes(b"\1" * 10 + finger)
    (tmp_path / "clean.txt").write_text(json.dumps({"v": [0.5] * 128}))
    files = sorted(tmp_path.iterdir())
    found = soak.find_templates(files, captures)
    hit = {Path(f.split("@", 1)[0]).name for f in found}
    assert hit == {"log.txt", "db.sqlite3", "finger.bin"}, found


def test_the_template_search_finds_a_real_finger_template(tmp_path):
    """The real extractor's finger template is JSON text (any length), found raw or in base64
    by a piece of its middle, which tells one capture from another."""
    import base64

    rng = np.random.default_rng(5)
    points = [[int(x), int(y), round(float(a), 4)] for x, y, a in rng.integers(0, 300, (40, 3))]
    data = json.dumps({"extractor": "gabor-mcc", "version": 1, "minutiae": points}).encode()
    other = json.dumps({"extractor": "gabor-mcc", "version": 1, "minutiae": points[::-1]})
    captures = soak.Captures(face_capacity=1, finger_capacity=1)

    class Evidence:
        def __init__(self, b64):
            self.template = type("Tpl", (), {"vector": None, "data_b64": b64})()

    captures.note(Evidence(base64.b64encode(data).decode()))
    assert captures.finger == [data]
    (tmp_path / "raw.log").write_bytes(b"x" * 7 + data[40:])
    (tmp_path / "queued.json").write_text(json.dumps({"b64": base64.b64encode(data).decode()}))
    (tmp_path / "clean.txt").write_text("nothing here " + other[:10])
    found = soak.find_templates(sorted(tmp_path.iterdir()), captures)
    hit = {Path(f.split("@", 1)[0]).name for f in found}
    assert hit == {"raw.log", "queued.json"}, found


def test_growth_figures():
    flat = [{"rss_mb": 100.0 + (5.0 if i < 19 else 0.0)} for i in range(200)]
    g = soak.growth(flat)
    assert g["warmup_sessions"] == 20
    assert g["growth_mb_after_warmup"] == 0 and g["slope_kb_per_session"] == 0

    leaking = [{"rss_mb": 100.0 + 0.5 * i} for i in range(200)]  # 512 KB a session
    g = soak.growth(leaking)
    assert g["slope_kb_per_session"] == 512.0 == g["slope_kb_per_session_last_half"]
    assert g["growth_mb_after_warmup"] == 0.5 * (199 - 19)
    assert soak.part_result(leaking, [], 10.0, 200, None, {})["pass"] is False

    # Memory the allocator keeps: a step, then level: the slope over the last half is 0.
    step = [{"rss_mb": 100.0 + (20.0 if i > 60 else 0.0)} for i in range(200)]
    g = soak.growth(step)
    assert g["growth_mb_after_warmup"] == 20 and g["slope_kb_per_session"] > 0
    assert g["slope_kb_per_session_last_half"] == 0

    # --malloc-trim: the RSS again after glibc gave its free memory back (where it is glibc).
    sample = soak.process_sample(collect=False, trim=True)
    if "rss_trimmed_mb" in sample:
        assert 0 < sample["rss_trimmed_mb"] <= sample["rss_mb"] + 1
    trimmed = [{"rss_mb": 100.0 + i, "rss_trimmed_mb": 90.0} for i in range(50)]
    g = soak.growth(trimmed)
    assert g["trimmed_growth_mb_after_warmup"] == 0 and g["trimmed_slope_kb_per_session"] == 0

    values, every = soak.decimate(list(range(1001)), 500)
    assert every == 3 and values[0] == 0 and values[-1] == 1000 and len(values) <= 501
