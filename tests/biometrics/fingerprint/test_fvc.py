"""On the FVC2002 evaluation data (skipped when absent): a small subset only, the full
evaluation is bench/finger.py. Separation of genuine and impostor pairs, ISO records
matched against each other and against images, the evaluation's protocol counts."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest

from biometrics.fingerprint import DEFAULT_THRESHOLD, compare, load_template, similarity
from biometrics.fingerprint.evaluation import finger_eval, scan

FINGERS = ("101", "102", "103")
IMPRESSIONS = (1, 2, 3, 4)


@pytest.fixture(scope="module")
def db1(fvc_dir):
    """Templates of DB1_B's first 3 fingers x 4 impressions, from images and records."""
    out = {}
    for f, k in itertools.product(FINGERS, IMPRESSIONS):
        out[(f, k, "png")] = load_template(fvc_dir / "DB1_B" / f"{f}_{k}.png")
        out[(f, k, "iso")] = load_template(fvc_dir / "DB1_B" / f"{f}_{k}.iso")
    return out


def _split(db1, kind_a, kind_b):
    genuine, impostor = [], []
    keys = [(f, k) for f, k in itertools.product(FINGERS, IMPRESSIONS)]
    for (fa, ka), (fb, kb) in itertools.combinations(keys, 2):
        s = similarity(db1[(fa, ka, kind_a)], db1[(fb, kb, kind_b)])[0]
        (genuine if fa == fb else impostor).append(s)
    return genuine, impostor


def test_images_separate(db1):
    genuine, impostor = _split(db1, "png", "png")
    assert max(impostor) < DEFAULT_THRESHOLD
    assert sorted(genuine)[1] > max(impostor)  # at most one genuine pair overlaps
    assert sum(g >= DEFAULT_THRESHOLD for g in genuine) >= 0.8 * len(genuine)


def test_iso_records_separate(db1):
    genuine, impostor = _split(db1, "iso", "iso")
    assert max(impostor) < DEFAULT_THRESHOLD
    assert sum(g >= DEFAULT_THRESHOLD for g in genuine) >= 0.7 * len(genuine)


def test_image_against_iso_record(db1):
    """The records' coordinates are of a resampled image: they do not line up with the PNG,
    and still an image matches its finger's records better than other fingers' records."""
    genuine, impostor = _split(db1, "png", "iso")
    assert max(impostor) < DEFAULT_THRESHOLD
    assert sum(g >= DEFAULT_THRESHOLD for g in genuine) >= 0.6 * len(genuine)
    same = [compare(db1[(f, k, "png")], db1[(f, k, "iso")]) for f, k in [("101", 1), ("102", 2)]]
    assert all(c.match for c in same)


def _subset(tmp_path: Path, fvc_dir: Path) -> Path:
    """Two databases holding the same finger numbers: DB1_B and DB3_B, fingers 101-102,
    impressions 1-3 (symlinks, nothing copied)."""
    root = tmp_path / "fvc"
    for db in ("DB1_B", "DB3_B"):
        (root / "nested" / db).mkdir(parents=True)
        for f, k in itertools.product(("101", "102"), (1, 2, 3)):
            for suffix in (".png", ".iso"):
                src = fvc_dir / db / f"{f}_{k}{suffix}"
                os.symlink(src, root / "nested" / db / src.name)
    return root


def test_evaluation_protocols(tmp_path, fvc_dir):
    root = _subset(tmp_path, fvc_dir)
    assert list(scan(root)) == ["nested/DB1_B", "nested/DB3_B"]
    r = finger_eval(root)
    # per database: 6 images, 2 x 3 genuine pairs, 3 x 3 impostor pairs; FVC: 1 impostor
    assert r["images"] == 12 and r["failed_to_extract"] == 0
    assert (r["genuine_pairs"], r["impostor_pairs"]) == (12, 18)
    assert (r["fvc"]["genuine_pairs"], r["fvc"]["impostor_pairs"]) == (12, 2)
    db = r["per_database"]["nested/DB1_B"]
    assert (db["genuine_pairs"], db["impostor_pairs"], db["fvc"]["impostor_pairs"]) == (6, 9, 1)
    for key in ("eer", "fmr100", "fmr1000", "zero_fmr"):
        assert key in r and key in db
    assert r["eer"]["rate"] <= 0.2
    assert r["zero_fmr"]["genuine_pairs"] == 12
    assert r["median_extract_ms"] > 0 and r["median_match_ms"] > 0
    records = finger_eval(root, records=True)
    assert records["images"] == 12 and records["genuine_pairs"] == 12
