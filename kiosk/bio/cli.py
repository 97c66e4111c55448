"""`kiosk bio` subcommands: face-compare and face-eval.

Bad input (a missing file, not a picture, no face, a folder without identities) ends with
one line on stderr and exit status 1, through the `kiosk` command's error handling.
"""

from __future__ import annotations

import argparse
import json

from kiosk.bio.args import finite_float

_threshold = finite_float(lambda v: v > 0, "a positive distance")


def register(subparsers) -> None:
    """Add `bio` and its actions to the `kiosk` command's subparsers."""
    bio = subparsers.add_parser("bio", help="biometrics: compare faces, evaluate on a folder")
    actions = bio.add_subparsers(dest="bio_cmd", required=True, metavar="ACTION")

    sp = actions.add_parser("face-compare", help="compare the faces in two photos (1:1)")
    sp.add_argument("a", metavar="A", help="first photo")
    sp.add_argument("b", metavar="B", help="second photo")
    sp.add_argument("--json", action="store_true", help="print JSON")
    sp.add_argument(
        "--threshold", type=_threshold, default=None, metavar="DISTANCE",
        help="decision threshold (default: the library's documented operating point)",
    )  # fmt: skip
    sp.set_defaults(func=cmd_face_compare)

    sp = actions.add_parser(
        "face-eval",
        help="error rates over a folder of identity folders (folders starting with _ skipped)",
    )
    sp.add_argument("dir", metavar="DIR")
    sp.add_argument("--json", action="store_true", help="print JSON")
    sp.add_argument(
        "--baseline", choices=["default"], default=None,
        help="also evaluate face_recognition used as its README shows, in the same run",
    )  # fmt: skip
    sp.add_argument("--threshold", type=_threshold, default=None, metavar="DISTANCE")
    sp.set_defaults(func=cmd_face_eval)


def _command_error(exc: Exception):
    from kiosk.cli import CommandError

    return CommandError(str(exc))


def cmd_face_compare(args) -> int:
    from biometrics.face import DEFAULT_THRESHOLD, FaceError, StillTemplates, compare

    threshold = args.threshold or DEFAULT_THRESHOLD
    try:
        stills = StillTemplates()
        a = stills.from_path(args.a).template
        b = stills.from_path(args.b).template
        result = compare(a, b, threshold).to_dict()
    except FaceError as exc:
        raise _command_error(exc) from exc
    _print(result, args.json)
    return 0


def cmd_face_eval(args) -> int:
    from biometrics.face import DEFAULT_THRESHOLD, FaceError
    from biometrics.face.evaluation import face_eval

    try:
        result = face_eval(
            args.dir,
            baseline=args.baseline == "default",
            threshold=args.threshold or DEFAULT_THRESHOLD,
        )
    except FaceError as exc:
        raise _command_error(exc) from exc
    _print(result, args.json)
    return 0


def _print(result: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return
    for key, value in result.items():
        if isinstance(value, dict):
            print(f"{key}:")
            for k, v in value.items():
                print(f"  {k}: {v}")
        else:
            print(f"{key}: {value}")


# Liveness actions (kiosk/bio/liveness.py), added to `bio` after the ones above.
def _register_with_liveness(subparsers, _previous=register) -> None:
    from kiosk.bio.liveness import register as register_liveness

    _previous(subparsers)
    bio = subparsers.choices["bio"]
    actions = next(a for a in bio._actions if isinstance(a, argparse._SubParsersAction))
    register_liveness(actions)


register = _register_with_liveness


# Fingerprint actions (kiosk/bio/finger.py), added to `bio` after the ones above.
def _register_with_finger(subparsers, _previous=register) -> None:
    from kiosk.bio.finger import register as register_finger

    _previous(subparsers)
    bio = subparsers.choices["bio"]
    actions = next(a for a in bio._actions if isinstance(a, argparse._SubParsersAction))
    register_finger(actions)


register = _register_with_finger
