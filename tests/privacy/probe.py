"""Looking for biometric data on a disk, in every form it could take there.

- a template (a vector of floats): any three consecutive values as text (repr, or 4 to 8
  decimals), as packed float32/float64 (little and big endian), or the packed vector (and its
  JSON) in base64;
- a face picture: any file that decodes as an image, and any JPEG, PNG or BMP stream
  embedded in a file (SQLite pages, WAL, free pages), in which a face is found;
- a fingerprint: such an image in which the kiosk's fingerprint extractor finds a finger it
  would accept (no coaching, at least 12 minutiae); a fingerprint template in the kiosk's
  own form, whose JSON names its extractor, as text or in base64.
"""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Iterable, Sequence
from pathlib import Path

import cv2
import numpy as np

_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"BM")


def template_forms(vector: Sequence[float]) -> dict[str, bytes]:
    v = [float(x) for x in vector]
    forms: dict[str, bytes] = {}
    for i in range(0, len(v) - 2, max(1, len(v) // 8)):
        run = v[i : i + 3]
        forms[f"repr@{i}"] = ", ".join(repr(x) for x in run).encode()
        forms[f"json@{i}"] = ",".join(repr(x) for x in run).encode()
        for places in (4, 5, 6, 8):
            forms[f"text{places}@{i}"] = "".join(f"{x:.{places}f}" for x in run[:1]).encode()
        for code in ("<f", ">f", "<d", ">d"):
            forms[f"{code}@{i}"] = b"".join(struct.pack(code, x) for x in run)
    for code in ("<f", "<d"):
        packed = b"".join(struct.pack(code, x) for x in v)
        forms[f"b64{code}"] = base64.b64encode(packed)[:32]
        forms[f"b64url{code}"] = base64.urlsafe_b64encode(packed)[:32]
    forms["b64json"] = base64.b64encode(json.dumps(v).encode())[:32]
    # A 4-decimal value alone can occur by chance in a big file; keep only the distinctive
    # ones (at least 6 characters of digits after "0.").
    return {k: f for k, f in forms.items() if len(f) >= 8}


def files_under(roots: Iterable[Path], skip=lambda p: False) -> list[Path]:
    out = []
    for root in roots:
        root = Path(root)
        if root.is_file():
            out.append(root)
            continue
        for p in sorted(root.rglob("*")):
            if p.is_file() and not p.is_symlink() and not skip(p):
                out.append(p)
    return out


def find_template(files: Iterable[Path], vector: Sequence[float]) -> list[str]:
    forms = template_forms(vector)
    found = []
    for p in files:
        data = p.read_bytes()
        for name, form in forms.items():
            if form in data:
                found.append(f"{p}: {name}")
    return found


def _has_face(image: np.ndarray | None) -> bool:
    if image is None or image.ndim < 2 or min(image.shape[:2]) < 40:
        return False
    from biometrics.face.detect import FaceDetector, to_gray

    gray = to_gray(image) if image.ndim == 3 else image
    return bool(FaceDetector(detect_width=640, upsample=1).detect(gray))


def _images(data: bytes):
    """(offset, picture) of the file itself and of every image stream embedded in it."""
    starts = {0}
    for magic in _IMAGE_MAGIC:
        at = data.find(magic)
        while at != -1:
            starts.add(at)
            at = data.find(magic, at + 1)
    for at in sorted(starts):
        buf = np.frombuffer(data[at:], np.uint8)
        image = cv2.imdecode(buf, cv2.IMREAD_COLOR) if buf.size else None
        if image is not None:
            yield at, image


def find_face_images(files: Iterable[Path]) -> list[str]:
    found = []
    for p in files:
        for at, image in _images(p.read_bytes()):
            if _has_face(image):
                found.append(f"{p}@{at}")
                break
    return found


def _has_finger(image: np.ndarray) -> bool:
    """A grey picture (sensors give one channel; a colour photo is not a finger, even where
    the extractor finds ridge-like texture in it) of a finger the extractor would accept."""
    if min(image.shape[:2]) < 100:
        return False
    b, g, r = (image[:, :, k].astype(np.int16) for k in range(3))
    if np.abs(b - g).mean() > 2 or np.abs(g - r).mean() > 2:
        return False
    from biometrics.fingerprint import FingerprintError, analyze, assess

    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    try:
        analysis = analyze(gray)
    except FingerprintError:
        return False
    report = assess(analysis, gray)
    return report.coaching is None and report.measures["minutiae"] >= 12


def fingerprint_template_forms() -> dict[str, bytes]:
    from biometrics.fingerprint import EXTRACTOR

    head = f'{{"format":1,"extractor":"{EXTRACTOR}"'.encode()
    return {
        "extractor name": EXTRACTOR.encode(),
        "b64 head": base64.b64encode(head)[:32],
        "b64url head": base64.urlsafe_b64encode(head)[:32],
    }


def find_fingerprints(files: Iterable[Path]) -> list[str]:
    forms = fingerprint_template_forms()
    found = []
    for p in files:
        data = p.read_bytes()
        found += [f"{p}: template {name}" for name, form in forms.items() if form in data]
        for at, image in _images(data):
            if _has_finger(image):
                found.append(f"{p}@{at}: fingerprint image")
                break
    return found
