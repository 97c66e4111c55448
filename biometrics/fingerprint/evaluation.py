"""Error rates of the fingerprint matcher over an FVC-style folder, and of the NIST baseline
in the same run.

Layout: files named NNN_K.<image suffix> (finger NNN, impression K), in DIR or in folders
below it; each folder holding such files is a database, and a finger is its database plus
NNN (finger 101 of DB1 is not finger 101 of DB2). Comparisons stay within a database.

Two protocols, over the same scores:
- all pairs: every pair of impressions of one finger is genuine, every pair of impressions
  of two different fingers is an impostor pair (FVC2002 DB_B: 280 + 2,880 per database);
- FVC: the same genuine pairs, impostors only between the first impressions (45 per
  database of 10 fingers).

Figures (each a count as well as a rate): EER (the point where FNMR and FMR cross), FMR100,
FMR1000 and ZeroFMR (the lowest FNMR at a threshold where FMR <= 1 %, <= 0.1 %, = 0). The
top-level figures pool every database's comparisons under one threshold, the way one
deployed threshold meets every sensor; `mean_eer` is the mean of the databases' EERs (how
FVC ranks). An image the extractor cannot use (too few minutiae, unreadable) counts in
`failed_to_extract`, and its comparisons count as non-matches (score 0), as in FVC.

Timings: `median_extract_ms` is one image to a comparable template (for us: ridge maps,
minutiae and cylinders; for NBIS: mindtct); `median_match_ms` is one comparison.
"""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np

from biometrics.evaluation import equal_error_rate, error_rates, fnmr_at_fmr
from biometrics.fingerprint import baseline as nbis
from biometrics.fingerprint.errors import FingerInputError, FingerprintError, ImageMissing
from biometrics.fingerprint.extract import analyze, load_image
from biometrics.fingerprint.matcher import DEFAULT_THRESHOLD, similarity
from biometrics.fingerprint.template import EXTRACTOR, EXTRACTOR_VERSION, MIN_MINUTIAE, read_iso

IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".bmp", ".pgm", ".jpg", ".jpeg", ".wsq")
RECORD_SUFFIXES = (".iso",)
_NAME = re.compile(r"^(\d+)_(\d+)$")


@dataclass(frozen=True)
class Sample:
    database: str
    finger: str
    impression: int
    path: Path

    @property
    def identity(self) -> tuple[str, str]:
        return self.database, self.finger


def scan(root: str | Path, *, records: bool = False) -> dict[str, list[Sample]]:
    """{database: samples sorted by finger and impression}. Raises `FingerInputError` for a
    missing folder or one without NNN_K files."""
    base = Path(root)
    if not base.exists():
        raise ImageMissing(f"no such folder: {base}")
    if not base.is_dir():
        raise FingerInputError(f"not a folder: {base}", "not_a_folder")
    suffixes = RECORD_SUFFIXES if records else IMAGE_SUFFIXES
    dbs: dict[str, list[Sample]] = {}
    for p in sorted(base.rglob("*")):
        if not p.is_file() or p.suffix.lower() not in suffixes:
            continue
        m = _NAME.match(p.stem)
        if not m:
            continue
        rel = p.parent.relative_to(base).as_posix()
        db = rel if rel != "." else base.name or "."
        dbs.setdefault(db, []).append(Sample(db, m.group(1), int(m.group(2)), p))
    if not dbs:
        kind = "ISO records (NNN_K.iso)" if records else "fingerprint images (NNN_K.png ...)"
        raise FingerInputError(f"no {kind} under {base}", "empty")
    for samples in dbs.values():
        samples.sort(key=lambda s: (s.finger, s.impression, s.path.name))
    return dict(sorted(dbs.items()))


def rate_block(genuine, impostor) -> dict:
    g = np.asarray(genuine, dtype=np.float64)
    i = np.asarray(impostor, dtype=np.float64)
    out: dict = {"genuine_pairs": len(g), "impostor_pairs": len(i)}
    if not len(g) or not len(i):
        out.update(eer=None, fmr100=None, fmr1000=None, zero_fmr=None)
        return out
    eer, t = equal_error_rate(g, i, higher_is_genuine=True)
    fnmr, fmr = error_rates(g, i, t, higher_is_genuine=True)
    out["eer"] = {
        "rate": round(eer, 6),
        "threshold": round(t, 6),
        "false_non_matches": fnmr.errors,
        "false_matches": fmr.errors,
        "fnmr": round(fnmr.value, 6),
        "fmr": round(fmr.value, 6),
    }
    for key, target in (("fmr100", 0.01), ("fmr1000", 0.001), ("zero_fmr", 0.0)):
        rate, thr = fnmr_at_fmr(g, i, target, higher_is_genuine=True)
        out[key] = {
            "fnmr": round(rate.value, 6),
            "false_non_matches": rate.errors,
            "genuine_pairs": rate.trials,
            "fnmr_upper95": round(rate.upper95, 6),
            "threshold": round(thr, 6) if np.isfinite(thr) else None,
        }
    return out


def _ms(values) -> float | None:
    return round(statistics.median(values) * 1000, 3) if values else None


@dataclass
class Method:
    """One extractor + matcher under evaluation."""

    name: str
    extract: Callable  # Sample -> template; FingerprintError = failed to extract
    score: Callable  # (template, template) -> float, higher = more alike
    usable: Callable  # template -> bool (False = failed to extract)


def ours(records: bool = False) -> Method:
    def ext(sample: Sample):
        t = read_iso(sample.path) if records else analyze(load_image(sample.path)).template
        t.cylinders()  # part of making a comparable template: timed here
        return t

    return Method(
        name=f"{EXTRACTOR}/{EXTRACTOR_VERSION}",
        extract=ext,
        score=lambda a, b: similarity(a, b)[0],
        usable=lambda t: len(t) >= MIN_MINUTIAE,
    )


def nbis_baseline() -> Method:
    nbis._loader()  # BaselineUnavailable now rather than after our half of the run
    return Method(
        name=nbis.NAME,
        extract=lambda s: nbis.extract(load_image(s.path)),
        score=nbis.score,
        usable=lambda t: len(t) >= 1,
    )


def evaluate_method(
    method: Method, dbs: dict[str, list[Sample]], progress: Callable[[str], None] | None
) -> dict:
    per_db: dict[str, dict] = {}
    pooled = {"all": ([], []), "fvc": ([], [])}
    all_extract: list[float] = []
    all_match: list[float] = []
    images = failed = 0
    for db, samples in dbs.items():
        if progress:
            progress(f"{method.name}: {db}: {len(samples)} images")
        templates = []
        extract_s = []
        db_failed = 0
        for s in samples:
            t0 = time.perf_counter()
            try:
                t = method.extract(s)
            except FingerprintError:
                t = None
            extract_s.append(time.perf_counter() - t0)
            if t is None or not method.usable(t):
                t = None
                db_failed += 1
            templates.append(t)
        first: dict[str, int] = {}
        for k, s in enumerate(samples):
            first.setdefault(s.finger, k)
        firsts = set(first.values())
        g_all, i_all, i_fvc = [], [], []
        match_s = []
        for a, b in combinations(range(len(samples)), 2):
            ta, tb = templates[a], templates[b]
            if ta is None or tb is None:
                value = 0.0
            else:
                t0 = time.perf_counter()
                value = float(method.score(ta, tb))
                match_s.append(time.perf_counter() - t0)
            if samples[a].finger == samples[b].finger:
                g_all.append(value)
            else:
                i_all.append(value)
                if a in firsts and b in firsts:
                    i_fvc.append(value)
        entry = {"images": len(samples), "failed_to_extract": db_failed}
        entry.update(rate_block(g_all, i_all))
        entry["fvc"] = rate_block(g_all, i_fvc)
        entry["median_extract_ms"] = _ms(extract_s)
        entry["median_match_ms"] = _ms(match_s)
        per_db[db] = entry
        pooled["all"][0].extend(g_all)
        pooled["all"][1].extend(i_all)
        pooled["fvc"][0].extend(g_all)
        pooled["fvc"][1].extend(i_fvc)
        all_extract += extract_s
        all_match += match_s
        images += len(samples)
        failed += db_failed

    def mean_eer(key=None):
        vals = [(e[key] if key else e)["eer"] for e in per_db.values()]
        vals = [v["rate"] for v in vals if v]
        return round(float(np.mean(vals)), 6) if vals else None

    out = {"method": method.name, "images": images, "failed_to_extract": failed}
    out.update(rate_block(*pooled["all"]))
    out["mean_eer"] = mean_eer()
    fvc = rate_block(*pooled["fvc"])
    fvc["mean_eer"] = mean_eer("fvc")
    out["fvc"] = fvc
    out["median_extract_ms"] = _ms(all_extract)
    out["median_match_ms"] = _ms(all_match)
    out["per_database"] = per_db
    return out


def finger_eval(
    root: str | Path,
    *,
    baseline: bool = False,
    records: bool = False,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Evaluate our matcher (and NBIS with `baseline`) over an FVC-style folder.

    `records`: compare the folder's ISO/IEC 19794-2 records (NNN_K.iso) instead of its
    images (the baseline needs images, so it is not available then)."""
    dbs = scan(root, records=records)
    if baseline and records:
        raise FingerInputError("the NIST baseline works on images, not on ISO records")
    base = nbis_baseline() if baseline else None
    result = {
        "dataset": str(root),
        "databases": list(dbs),
        "protocol": "all pairs within each database; 'fvc': impostors from first impressions",
        "default_threshold": DEFAULT_THRESHOLD,
    }
    result.update(evaluate_method(ours(records), dbs, progress))
    if base is not None:
        result["baseline"] = evaluate_method(base, dbs, progress)
    return result
