"""Writes docs/BENCHMARKS.md from bench/results/*.json (what `make bench` just measured)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
OUT = ROOT / "docs" / "BENCHMARKS.md"

HEADER = """# Benchmarks

Measured by `make bench` (each `bench/*.py` writes JSON into `bench/results/`, then
`bench/report.py` writes this page). Speed targets are checked here, never by timed
assertions in tests. The machine each result ran on is in its JSON (`machine`); figures taken
while other work ran on the same 2 cores are slower than on an idle machine.
"""


def _summary(name: str, data: dict) -> list[str]:
    lines = []
    if name == "face":
        loop, naive, tpl = data["analysis_loop"], data["naive_loop"], data["template"]
        lines += [
            f"- analysis loop (detect + landmarks + quality) at {data['resolution']}: "
            f"**{loop['fps']} fps** (median {loop['frame_ms']['median']} ms/frame); target >= 20",
            f"- the naive loop (face_recognition, HOG upsample 1 + an encoding per frame): "
            f"{naive['fps']} fps; ours is **{data['speedup_vs_naive']}x** faster; target >= 3x",
            f"- template from one frame: median **{tpl['one_frame_ms']['median']} ms** "
            "(target <= 80 ms); three frames "
            f"{tpl['three_frames_ms']['median']} ms",
        ]
    return lines


def main() -> int:
    parts = [HEADER]
    for path in sorted(RESULTS.glob("*.json")):
        data = json.loads(path.read_text())
        when = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).strftime("%Y-%m-%d %H:%M")
        parts.append(f"\n## {path.stem} ({when} UTC, `{path.relative_to(ROOT)}`)\n")
        machine = data.get("machine", {})
        if machine:
            parts.append("Machine: " + ", ".join(f"{k} {v}" for k, v in machine.items()) + "\n")
        summary = _summary(path.stem, data)
        if summary:
            parts.append("\n".join(summary) + "\n")
    OUT.write_text("\n".join(parts), encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
