"""Liveness on a few real clips from ../shared/data/videos (KIOSK_EVAL_DATA overrides
../shared/data; skipped with a reason when absent): blinks against the hand labels, a screen
replay seen by the passive check, a live face not flagged, and the `kiosk bio liveness` and
`liveness-eval` commands. The whole folder is evaluated by bench/liveness.py."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from biometrics.face.liveness.evaluation import (
    analyse_clip,
    blink_agreement,
    clip_events,
    clip_passive,
    precision_recall,
)
from kiosk.cli import main
from tests.biometrics.face.conftest import eval_data

LABELS = Path(__file__).with_name("blink_labels.json")


@pytest.fixture(scope="module")
def videos() -> Path:
    path = eval_data() / "videos"
    if not (path / "PROVENANCE.tsv").is_file():
        pytest.skip(f"evaluation clips not found at {path} (set KIOSK_EVAL_DATA)")
    return path


def clip(videos: Path, name: str) -> Path:
    path = videos / name
    if not path.is_file():
        pytest.skip(f"evaluation clip {path} not found")
    return path


def test_the_blink_labels_are_well_formed():
    data = json.loads(LABELS.read_text(encoding="utf-8"))
    assert len(data["clips"]) >= 5
    for name, c in data["clips"].items():
        assert c["fps"] > 0 and c["frames"] > 0, name
        spans = c["blinks"] + c.get("winks", [])
        assert all(0 <= a <= b < c["frames"] for a, b in spans), name
        starts = [a for a, _ in sorted(c["blinks"])]
        assert starts == sorted(set(starts)), name
    assert sum(len(c["blinks"]) for c in data["clips"].values()) >= 30


# A few short labelled clips (the full set runs in bench/liveness.py).
SHORT = ["retalking/face3.mp4", "lipnet_grid/id2_vcd_swwp2s.mpg", "liveportrait/d7.mp4"]


def test_blinks_match_the_hand_labels(videos):
    labels = json.loads(LABELS.read_text(encoding="utf-8"))["clips"]
    rows = []
    for name in SHORT:
        c = analyse_clip(clip(videos, name), descriptors=False)
        lab = labels[name]
        assert c.frames == lab["frames"]
        rows.append(blink_agreement(clip_events(c), lab["blinks"], lab.get("winks", []), c.fps))
    pr = precision_recall(rows)
    assert pr["labelled"] == 14
    assert pr["recall"] >= 0.9 and pr["precision"] >= 0.9, (pr, rows)


def test_a_phone_replay_is_flagged_and_the_live_face_beside_it_is_not(videos):
    """The same man in the same office: live at the laptop's webcam, then his photo on a
    phone held up to it (pyis_liveness_b). A whiteboard and a pillar stand beside the live
    face; the phone's edges run on below the chin, in front of where a body would be."""
    fake = clip_passive(analyse_clip(clip(videos, "pyis_liveness_b/fake.mp4"), descriptors=False))
    real = clip_passive(analyse_clip(clip(videos, "pyis_liveness_b/real.mp4"), descriptors=False))
    assert fake.flagged() and fake.scores()["border"] >= 0.5
    assert not real.flagged() and real.attack_score() < 0.5


def run(capsys, *argv):
    code = main(["bio", *map(str, argv)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_liveness_command(capsys, videos):
    path = clip(videos, "lipnet_grid/id2_vcd_swwp2s.mpg")
    code, out, err = run(capsys, "liveness", path, "--json", "--challenges", "blink,turn_left")
    assert code == 0, err
    r = json.loads(out)
    assert r["events"]["blink"] == 3 and len(r["event_times"]["blink"]) == 3
    assert all(e["t"] > e["start"] > 0 for e in r["event_times"]["blink"])
    ch = r["challenges"]
    assert ch["sequence"] == ["blink", "turn_left"] and ch["passed"] is False
    assert ch["trace"]["challenges"][0]["passed"] is True  # he blinks after the prompt
    assert ch["reason"] == "ended"  # ... and never turns before the clip ends
    assert r["passive"]["flagged"] is False


def test_liveness_eval_command(capsys, videos, tmp_path):
    """A small folder (links to three clips, no copies): a genuine clip, a screen replay and
    another category, each reported where it belongs, with counts."""
    rows = [("live.mpg", "lipnet_grid/pwij3p.mpg", "genuine"),
            ("fake.mp4", "pyis_liveness_b/fake.mp4", "attack-screen"),
            ("ted.mp4", "spectre_lrs3/OzA6jRYjVQs_00004.mp4", "genuine-marginal")]  # fmt: skip
    lines = ["file\tcategory"]
    for link, target, category in rows:
        (tmp_path / link).symlink_to(clip(videos, target))
        lines.append(f"{link}\t{category}")
    (tmp_path / "PROVENANCE.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out, err = run(capsys, "liveness-eval", tmp_path, "--json", "--schedules", "5",
                         "--jobs", "1")  # fmt: skip
    assert code == 0, err
    r = json.loads(out)
    assert r["schedules_per_clip"] == 5 and r["clips"] == 3
    b = r["bpcer"]
    assert (b["category"], b["trials"], b["errors"]) == ("genuine", 1, 0)
    assert set(b) >= {"rate", "upper95", "windows", "events"}
    screen = r["apcer"]["attack-screen"]
    assert (screen["trials"], screen["errors"], screen["clips"]) == (5, 0, 1)
    assert screen["passive_flagged_clips"]["errors"] == 1
    assert r["apcer"]["attack-print"]["clips"] == 0 and r["apcer"]["attack-print"]["rate"] is None
    assert list(r["other_categories"]) == ["genuine-marginal"]
    assert {d["file"] for d in r["per_clip"]} == {"live.mpg", "fake.mp4", "ted.mp4"}


def test_liveness_bad_input_is_one_line(capsys, tmp_path):
    missing = tmp_path / "nowhere.mp4"
    code, out, err = run(capsys, "liveness", missing, "--json")
    assert code != 0 and out == "" and err.count("\n") == 1 and "no such file" in err
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    code, out, err = run(capsys, "liveness", text, "--json")
    assert code != 0 and err.count("\n") == 1 and "not a video" in err
    blank = tmp_path / "blank.avi"
    writer = cv2.VideoWriter(str(blank), cv2.VideoWriter_fourcc(*"MJPG"), 15, (320, 240))
    for _ in range(10):
        writer.write(np.full((240, 320, 3), 90, np.uint8))
    writer.release()
    code, out, err = run(capsys, "liveness", blank, "--json")
    assert code != 0 and err.count("\n") == 1 and "no face" in err
    code, out, err = run(capsys, "liveness", blank, "--challenges", "blink,wink")
    assert code == 2 and "wink" in err
    code, out, err = run(capsys, "liveness-eval", tmp_path, "--json")
    assert code != 0 and err.count("\n") == 1 and "PROVENANCE.tsv" in err
    code, out, err = run(capsys, "liveness-eval", tmp_path / "nowhere", "--json")
    assert code != 0 and "no such folder" in err
