"""`kiosk bio` fingerprint actions: finger-compare, finger-eval, finger-quality.

    kiosk bio finger-compare A B --json        A, B: images (PNG, TIFF ...) or .iso records
    kiosk bio finger-eval DIR --json [--baseline nbis] [--records]
    kiosk bio finger-quality IMAGE --json

Bad input (a missing file, not an image, not a record, no fingerprint in it, a folder without
NNN_K images, the baseline not installed) ends with one line on stderr and exit status 1,
through the `kiosk` command's error handling.
"""

from __future__ import annotations

import json
import sys

from kiosk.bio.args import finite_float

_threshold = finite_float(lambda v: 0 < v < 1, "a score between 0 and 1")


_dpi = finite_float(lambda v: 100 <= v <= 2000, "a resolution of 100..2000 dpi")


def register(actions) -> None:
    """Add the fingerprint actions to `kiosk bio`'s subparsers."""
    sp = actions.add_parser(
        "finger-compare", help="compare two fingerprints (images or ISO/IEC 19794-2 records)"
    )
    sp.add_argument("a", metavar="A", help="first fingerprint: an image or an .iso record")
    sp.add_argument("b", metavar="B", help="second fingerprint: an image or an .iso record")
    sp.add_argument("--json", action="store_true", help="print JSON")
    sp.add_argument(
        "--threshold", type=_threshold, default=None, metavar="SCORE",
        help="decision threshold (default: the library's documented operating point)",
    )  # fmt: skip
    sp.add_argument("--dpi", type=_dpi, default=500.0, help="resolution of the images (500)")
    sp.set_defaults(func=cmd_finger_compare)

    sp = actions.add_parser(
        "finger-eval",
        help="error rates over an FVC-style folder (NNN_K.png; one database per folder)",
    )
    sp.add_argument("dir", metavar="DIR")
    sp.add_argument("--json", action="store_true", help="print JSON")
    sp.add_argument(
        "--baseline", choices=["nbis"], default=None,
        help="also evaluate NIST mindtct + bozorth3 in the same run",
    )  # fmt: skip
    sp.add_argument(
        "--records", action="store_true",
        help="compare the folder's ISO/IEC 19794-2 records (NNN_K.iso) instead of its images",
    )  # fmt: skip
    sp.set_defaults(func=cmd_finger_eval)

    sp = actions.add_parser("finger-quality", help="quality score and coaching of one image")
    sp.add_argument("image", metavar="IMAGE")
    sp.add_argument("--json", action="store_true", help="print JSON")
    sp.add_argument("--dpi", type=_dpi, default=500.0, help="resolution of the image (500)")
    sp.set_defaults(func=cmd_finger_quality)


def _command_error(exc: Exception):
    from kiosk.cli import CommandError

    return CommandError(str(exc))


def _template(path: str, dpi: float):
    from biometrics.fingerprint import NoFeatures, load_template
    from biometrics.fingerprint.template import MIN_MINUTIAE

    t = load_template(path, dpi)
    if len(t) < MIN_MINUTIAE:
        raise NoFeatures(
            f"{path}: {len(t)} minutiae found, at least {MIN_MINUTIAE} are needed to compare "
            "(no fingerprint, or a poor capture)"
        )
    return t


def cmd_finger_compare(args) -> int:
    from biometrics.fingerprint import DEFAULT_THRESHOLD, FingerprintError, compare

    threshold = args.threshold or DEFAULT_THRESHOLD
    try:
        a = _template(args.a, args.dpi)
        b = _template(args.b, args.dpi)
        result = compare(a, b, threshold).to_dict()
    except FingerprintError as exc:
        raise _command_error(exc) from exc
    _print(result, args.json)
    return 0


def cmd_finger_eval(args) -> int:
    from biometrics.fingerprint import FingerprintError
    from biometrics.fingerprint.evaluation import finger_eval

    progress = None
    if sys.stderr.isatty():

        def progress(line: str) -> None:
            print(line, file=sys.stderr, flush=True)

    try:
        result = finger_eval(
            args.dir,
            baseline=args.baseline == "nbis",
            records=args.records,
            progress=progress,
        )
    except FingerprintError as exc:
        raise _command_error(exc) from exc
    _print(result, args.json)
    return 0


def cmd_finger_quality(args) -> int:
    from biometrics.fingerprint import FingerprintError, load_image, quality

    try:
        report = quality(load_image(args.image), args.dpi)
    except FingerprintError as exc:
        raise _command_error(exc) from exc
    _print(report.to_dict(), args.json)
    return 0


def _print(result: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return
    _print_plain(result, 0)


def _print_plain(result: dict, depth: int) -> None:
    pad = "  " * depth
    for key, value in result.items():
        if isinstance(value, dict):
            print(f"{pad}{key}:")
            _print_plain(value, depth + 1)
        else:
            print(f"{pad}{key}: {value}")
