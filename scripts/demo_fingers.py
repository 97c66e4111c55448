"""Writes assets/demo/fingers.json: the demo pensioners' fingerprint references.

Every enrolled finger of every demo pensioner (assets/demo/pensioners.json) is a synthetic
finger (drivers/fingerprint/synthetic.py, numpy alone, no dataset image). Its reference is
the kiosk's own template (biometrics/fingerprint, `gabor-mcc`) of impression 0; at a demo
kiosk the fingerprint simulator serves the other impressions of the same finger, so the
real driver, the real extractor and the back end's real matcher decide.

The references are computed here once and committed, because the back end seeds demo
databases often (every test that starts one) and an extraction takes about 100 ms; the
back end reads the JSON and never imports the generator. tests/kiosk/test_demo_fingers.py
checks the file against the generator.

    .venv/bin/python scripts/demo_fingers.py [--check]
"""

from __future__ import annotations

import argparse
import json
import sys
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PENSIONERS = ROOT / "assets" / "demo" / "pensioners.json"
FINGERS = ROOT / "assets" / "demo" / "fingers.json"
REFERENCE_IMPRESSION = 0


def finger_id(persona_key: str, position: int) -> int:
    """The synthetic generator's finger number of a demo pensioner's finger: stable, and
    distinct for the demo set (checked when the file is written)."""
    return zlib.crc32(f"{persona_key}/{position}".encode()) % 1_000_000


def reference(fid: int) -> dict:
    from biometrics.fingerprint import analyze, assess
    from drivers.fingerprint.synthetic import synthetic_fingerprint

    image = synthetic_fingerprint(fid, REFERENCE_IMPRESSION)
    analysis = analyze(image)
    report = assess(analysis, image)
    if report.coaching is not None:
        raise SystemExit(f"demo_fingers: synthetic finger {fid} fails quality: {report.keys}")
    return analysis.template.to_dict()


def build() -> dict:
    from biometrics.fingerprint import EXTRACTOR, EXTRACTOR_VERSION

    personas = json.loads(PENSIONERS.read_text(encoding="utf-8"))["pensioners"]
    fingers = {}
    for p in personas:
        for position in p["fingers"]:
            fid = finger_id(p["key"], position)
            fingers[f"{p['key']}/{position}"] = {"finger": fid, "template": reference(fid)}
    ids = [f["finger"] for f in fingers.values()]
    if len(set(ids)) != len(ids):
        raise SystemExit("demo_fingers: two demo fingers share a synthetic finger number")
    return {
        "about": "demo fingerprint references: synthetic fingers, scripts/demo_fingers.py",
        "extractor": EXTRACTOR,
        "extractor_version": str(EXTRACTOR_VERSION),
        "reference_impression": REFERENCE_IMPRESSION,
        "fingers": fingers,
    }


def render(data: dict) -> str:
    """One finger a line: diffs stay readable when a reference changes."""
    head = {k: v for k, v in data.items() if k != "fingers"}
    lines = [json.dumps(head, sort_keys=True)[:-1] + ', "fingers": {']
    items = sorted(data["fingers"].items())
    for i, (key, value) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        lines.append(f"  {json.dumps(key)}: {json.dumps(value, sort_keys=True)}{comma}")
    lines.append("}}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    args = parser.parse_args(argv)
    text = render(build())
    if args.check:
        if not FINGERS.exists() or FINGERS.read_text(encoding="utf-8") != text:
            print(f"demo_fingers: {FINGERS} is stale; run scripts/demo_fingers.py", file=sys.stderr)
            return 1
        print(f"demo_fingers: {FINGERS} is up to date")
        return 0
    FINGERS.write_text(text, encoding="utf-8")
    print(f"demo_fingers: {len(json.loads(text)['fingers'])} references written to {FINGERS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
