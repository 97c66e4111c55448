"""`kiosk bio face-compare` and `face-eval`, bad input included."""

from __future__ import annotations

import json
import os

import cv2
import numpy as np
import pytest

from kiosk.cli import main

EVAL_KEYS = {
    "identities", "images", "failed_to_enrol", "genuine_pairs", "impostor_pairs", "threshold",
    "fnmr", "fmr", "fnmr_upper95", "fmr_upper95", "eer", "fnmr_at_fmr_0.1pct",
    "fnmr_at_fmr_0", "d_prime", "median_template_ms",
}  # fmt: skip


def run(capsys, *argv):
    code = main(["bio", *map(str, argv)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_face_compare_json(capsys, tmp_path, default_face, default_face_path):
    frame = tmp_path / "kiosk-frame.png"
    cv2.imwrite(str(frame), default_face)
    code, out, err = run(capsys, "face-compare", default_face_path, frame, "--json")
    assert code == 0, err
    result = json.loads(out)
    assert set(result) == {"distance", "score", "match", "threshold"}
    assert result["match"] is True and result["distance"] < 0.3 and result["threshold"] == 0.6


@pytest.mark.parametrize("case", ["missing", "not_an_image", "no_face"])
def test_face_compare_bad_input_is_one_line(capsys, tmp_path, default_face_path, case):
    bad = tmp_path / "bad.jpg"
    if case == "not_an_image":
        bad.write_text("hello")
    elif case == "no_face":
        cv2.imwrite(str(bad), np.full((300, 300, 3), 120, np.uint8))
    code, out, err = run(capsys, "face-compare", default_face_path, bad, "--json")
    assert code != 0 and out == ""
    assert err.count("\n") == 1 and str(bad) in err
    assert {"missing": "no such file", "not_an_image": "not a picture", "no_face": "no face"}[
        case
    ] in err


def test_face_eval_bad_input(capsys, tmp_path):
    code, _, err = run(capsys, "face-eval", tmp_path / "nowhere", "--json")
    assert code != 0 and "no such folder" in err and err.count("\n") == 1
    (tmp_path / "only_one").mkdir()
    code, _, err = run(capsys, "face-eval", tmp_path, "--json")
    assert code != 0 and "two identity folders" in err
    code, _, err = run(capsys, "face-eval", tmp_path, "--baseline", "mine")
    assert code == 2 and "invalid choice" in err


def test_face_eval_with_baseline_on_a_subset(capsys, tmp_path, faces_dir):
    """Three identities of the evaluation photos, plus a skipped folder and a photo without
    a face (a failure to enrol)."""
    for name in ("obama", "biden", "kit_harington"):
        (tmp_path / name).mkdir()
        for p in sorted((faces_dir / name).iterdir())[:3]:
            os.symlink(p, tmp_path / name / p.name)
    cv2.imwrite(str(tmp_path / "biden" / "blank.png"), np.full((200, 200, 3), 90, np.uint8))
    (tmp_path / "_misc").mkdir()
    os.symlink(faces_dir / "_misc_frames" / "two_people.jpg", tmp_path / "_misc" / "x.jpg")
    code, out, err = run(capsys, "face-eval", tmp_path, "--json", "--baseline", "default")
    assert code == 0, err
    result = json.loads(out)
    assert set(result) >= EVAL_KEYS and set(result["baseline"]) >= EVAL_KEYS
    assert result["identities"] == 3 and result["images"] == 9
    assert result["failed_to_enrol"] == 1 and result["baseline"]["failed_to_enrol"] == 1
    assert result["genuine_pairs"] == 3 + 1 + 3 and result["impostor_pairs"] == 28 - 7
    assert result["fnmr"] == 0 and result["fmr"] == 0
    assert result["d_prime"] > 3 and result["baseline"]["d_prime"] > 3
