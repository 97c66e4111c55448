"""bench/ui.py's preview part runs and writes the JSON it promises (3 s a variant, offscreen).

Figures are only checked for being there and positive: speed is judged in docs/BENCHMARKS.md,
never by a timed assertion here.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.ui.child import env


def test_preview_bench_writes_its_json(tmp_path):
    out = tmp_path / "ui.json"
    args = [
        "--parts", "preview", "--variants", "app_pump,max_throughput",
        "--seconds", "3", "--warmup", "0.5", "--frames", "8", "--out", str(out),
    ]  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "bench.ui", *args],
        cwd=tmp_path,
        env=env(tmp_path),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads(out.read_text())

    assert result["benchmark"] == "ui"
    assert result["machine"]["cores"] >= 1
    assert result["parameters"]["frame_size"] == [1280, 720]
    assert result["parameters"]["window"] == [1920, 1080]
    assert set(result["preview"]) == {"app_pump", "max_throughput"}
    for name, r in result["preview"].items():
        assert "error" not in r, (name, r)
        assert r["window"] == [1920, 1080]
        assert r["frame_size"] == [1280, 720]
        assert r["fps"] > 0 and r["frames_drawn"] > 0 and r["frames_uploaded"] > 0
        for key in ("frame_ms", "show_frame_ms", "bgr_to_rgb_ms", "draw_ms"):
            stats = r[key]
            assert 0 < stats["p50"] <= stats["p95"] <= stats["max"], (name, key, stats)
        assert r["preview_drawn_px"][0] > 0 and r["preview_drawn_px"][1] > 0
    assert result["preview"]["app_pump"]["pump_interval_s"] > 0
    assert result["preview"]["max_throughput"]["pump_interval_s"] == 0

    goal = result["goals"]["preview_fps"]
    assert goal["value"] == result["preview"]["app_pump"]["fps"]
    assert isinstance(goal["met"], bool) and goal["target"] == ">= 25"
    # Parts not asked for are not measured and say so.
    assert "cold_start" not in result and result["goals"]["cold_start_s"]["value"] is None
