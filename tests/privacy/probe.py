"""Looking for biometric data on a disk, in every form it could take there.

- a template (a vector of floats): any three consecutive values as text (repr, or 4 to 8
  decimals), as packed float32/float64 (little and big endian), or the packed vector (and its
  JSON) in base64;
- a face picture: any file that decodes as an image, and any JPEG, PNG or BMP stream
  embedded in a file (SQLite pages, WAL, free pages), in which a face is found.
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


def find_face_images(files: Iterable[Path]) -> list[str]:
    found = []
    for p in files:
        data = p.read_bytes()
        starts = {0}
        for magic in _IMAGE_MAGIC:
            at = data.find(magic)
            while at != -1:
                starts.add(at)
                at = data.find(magic, at + 1)
        for at in sorted(starts):
            buf = np.frombuffer(data[at:], np.uint8)
            image = cv2.imdecode(buf, cv2.IMREAD_COLOR) if buf.size else None
            if _has_face(image):
                found.append(f"{p}@{at}")
                break
    return found
