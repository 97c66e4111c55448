"""`kiosk bio liveness VIDEO` and `kiosk bio liveness-eval DIR`.

    kiosk bio liveness clip.mp4 --json                        # the actions found, with times
    kiosk bio liveness clip.mp4 --challenges blink,turn_left  # ... and whether it passes them
    kiosk bio liveness-eval ../shared/data/videos --json      # BPCER / APCER with counts

Bad input (a missing file, not a video, no face, a folder without PROVENANCE.tsv) ends with
one line on stderr and exit status 1, through the `kiosk` command's error handling.
"""

from __future__ import annotations

import argparse
import json
import os

from kiosk.bio.args import finite_float


def _challenges(text: str) -> tuple[str, ...]:
    from biometrics.face.liveness import KINDS

    kinds = tuple(k.strip() for k in text.split(",") if k.strip())
    bad = [k for k in kinds if k not in KINDS]
    if bad or not kinds:
        raise argparse.ArgumentTypeError(
            f"challenges are a comma-separated list of {', '.join(KINDS)}: {text!r}"
        )
    if len(set(kinds)) != len(kinds):
        raise argparse.ArgumentTypeError(f"a challenge appears twice: {text!r}")
    return kinds


_seconds = finite_float(lambda v: v >= 0, "zero or more seconds")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more: {text!r}")
    return value


def register(actions) -> None:
    """Add the liveness actions to `kiosk bio`'s subparsers."""
    sp = actions.add_parser(
        "liveness",
        help="blinks, head turns and mouth openings in a video; whether it passes challenges",
    )
    sp.add_argument("video", metavar="VIDEO", help="a video file (or a still picture)")
    sp.add_argument("--json", action="store_true", help="print JSON")
    sp.add_argument(
        "--challenges", type=_challenges, default=None, metavar="KIND,KIND",
        help="a challenge sequence to replay the video against (blink, turn_left, "
        "turn_right, open_mouth; turn_left = the person's own left)",
    )  # fmt: skip
    sp.add_argument(
        "--start", type=_seconds, default=0.0, metavar="SECONDS",
        help="where in the video the replayed session starts (default 0)",
    )  # fmt: skip
    sp.set_defaults(func=cmd_liveness)

    sp = actions.add_parser(
        "liveness-eval",
        help="liveness error rates over a folder of clips with a PROVENANCE.tsv",
    )
    sp.add_argument("dir", metavar="DIR")
    sp.add_argument("--json", action="store_true", help="print JSON")
    sp.add_argument(
        "--schedules", type=_positive, default=100, metavar="N",
        help="random challenge schedules per clip (default 100)",
    )  # fmt: skip
    sp.add_argument("--seed", type=int, default=0, help="seed of the schedules (default 0)")
    sp.add_argument(
        "--jobs", type=_positive, default=None, metavar="N",
        help="worker processes (default: the number of CPUs, at most 4)",
    )  # fmt: skip
    sp.add_argument(
        "--per-clip", action="store_true", help="include every clip's figures and event times"
    )
    sp.set_defaults(func=cmd_liveness_eval)


def _command_error(exc: Exception):
    from kiosk.cli import CommandError

    return CommandError(str(exc))


def cmd_liveness(args) -> int:
    from biometrics.face import FaceError
    from biometrics.face.liveness.evaluation import liveness_of_video

    try:
        result = liveness_of_video(args.video, args.challenges, start_s=args.start)
    except FaceError as exc:
        raise _command_error(exc) from exc
    _print(result, args.json)
    return 0


def cmd_liveness_eval(args) -> int:
    from biometrics.face import FaceError
    from biometrics.face.liveness.evaluation import liveness_eval

    jobs = args.jobs or min(4, os.cpu_count() or 1)
    try:
        result = liveness_eval(args.dir, schedules_per_clip=args.schedules, seed=args.seed,
                               jobs=jobs)  # fmt: skip
    except FaceError as exc:
        raise _command_error(exc) from exc
    if not args.per_clip:
        result["per_clip"] = [_brief(d) for d in result["per_clip"]]
    _print(result, args.json)
    return 0


def _brief(clip: dict) -> dict:
    """A clip's line in the summary: what was found and what happened, without the times."""
    if "error" in clip:
        return clip
    return {
        "file": clip["file"],
        "category": clip["category"],
        "frames": clip["frames"],
        "face_frames": clip["face_frames"],
        "events": clip["events"],
        "passive": {k: clip["passive"][k] for k in ("attack_score", "flagged", "scores")},
        "schedules": clip["schedules"],
    }


def _print(result: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return
    for key, value in result.items():
        if isinstance(value, (dict, list)):
            print(f"{key}: {json.dumps(value, ensure_ascii=False)}")
        else:
            print(f"{key}: {value}")
