"""`kiosk bio finger-compare / finger-eval / finger-quality`: output and bad input."""

from __future__ import annotations

import json

import cv2
import pytest

from kiosk.cli import main


def run(capsys, *argv):
    code = main(["bio", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def prints(tmp_path_factory, synthetic):
    d = tmp_path_factory.mktemp("prints")
    paths = {}
    for f in (0, 1):
        for k in (0, 1):
            p = d / f"{101 + f}_{k + 1}.png"
            cv2.imwrite(str(p), synthetic(f, k))
            paths[(f, k)] = p
    return d, paths


def test_compare_json(capsys, prints):
    _, p = prints
    code, out, _ = run(capsys, "finger-compare", p[(0, 0)], p[(0, 1)], "--json")
    assert code == 0
    r = json.loads(out)
    assert set(r) == {"score", "match", "threshold"}
    assert r["match"] is True
    code, out, _ = run(capsys, "finger-compare", p[(0, 0)], p[(1, 0)], "--json")
    assert json.loads(out)["match"] is False


def test_compare_image_with_record(capsys, prints, tmp_path):
    from biometrics.fingerprint import load_template

    _, p = prints
    record = tmp_path / "ref.iso"
    record.write_bytes(load_template(p[(0, 0)]).to_iso().to_bytes())
    code, out, _ = run(capsys, "finger-compare", p[(0, 1)], record, "--json")
    assert code == 0 and json.loads(out)["match"] is True


@pytest.mark.parametrize(
    "case, fragment",
    [
        ("missing", "no such file"),
        ("not_image", "not an image"),
        ("bad_record", "not a valid ISO/IEC 19794-2 record"),
        ("blank", "minutiae found"),
    ],
)
def test_compare_bad_input(capsys, prints, tmp_path, case, fragment):
    import numpy as np

    _, p = prints
    bad = {
        "missing": tmp_path / "nope.png",
        "not_image": tmp_path / "notes.png",
        "bad_record": tmp_path / "cut.iso",
        "blank": tmp_path / "blank.png",
    }[case]
    if case == "not_image":
        bad.write_text("hello")
    elif case == "bad_record":
        bad.write_bytes(b"FMR\x00 20\x00\x00\x00\x00\x30")
    elif case == "blank":
        cv2.imwrite(str(bad), np.full((300, 300), 250, np.uint8))
    code, out, err = run(capsys, "finger-compare", p[(0, 0)], bad, "--json")
    assert code == 1 and out == ""
    assert len(err.strip().splitlines()) == 1 and fragment in err


def test_eval_json_on_a_synthetic_folder(capsys, prints):
    d, _ = prints
    code, out, _ = run(capsys, "finger-eval", d, "--json")
    assert code == 0
    r = json.loads(out)
    for key in (
        "images",
        "failed_to_extract",
        "genuine_pairs",
        "impostor_pairs",
        "eer",
        "fmr100",
        "fmr1000",
        "zero_fmr",
        "median_extract_ms",
        "median_match_ms",
        "per_database",
    ):
        assert key in r
    assert (r["images"], r["genuine_pairs"], r["impostor_pairs"]) == (4, 2, 4)
    assert r["eer"]["rate"] == 0.0


@pytest.mark.parametrize("case", ["missing", "empty", "file"])
def test_eval_bad_input(capsys, tmp_path, case):
    target = {"missing": tmp_path / "nope", "empty": tmp_path, "file": tmp_path / "a.txt"}[case]
    if case == "file":
        target.write_text("x")
    code, out, err = run(capsys, "finger-eval", target, "--json")
    assert code == 1 and out == ""
    assert len(err.strip().splitlines()) == 1


def test_eval_baseline_on_records_is_refused(capsys, prints):
    d, _ = prints
    code, _, err = run(capsys, "finger-eval", d, "--records", "--baseline", "nbis")
    assert code == 1 and len(err.strip().splitlines()) == 1


def test_quality_json(capsys, prints):
    _, p = prints
    code, out, _ = run(capsys, "finger-quality", p[(0, 0)], "--json")
    assert code == 0
    r = json.loads(out)
    assert r["coaching"] is None and 0 <= r["score"] <= 100
