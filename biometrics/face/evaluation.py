"""`kiosk bio face-eval`: verification figures over a folder of identity folders.

Layout: DIR/<identity>/<photo> ...; folders whose name starts with "_" (or ".") are skipped.
Every pair of enrolled photos of one identity is a genuine pair, every pair of photos of
two identities an impostor pair. A photo without a usable face is a failure to enrol: it is
counted, named, and left out of the pairs (FNMR and FMR are over enrolled photos).
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from biometrics import evaluation
from biometrics.face.compare import DEFAULT_THRESHOLD
from biometrics.face.errors import FaceInputError
from biometrics.face.images import load_image
from biometrics.face.still import StillTemplates
from biometrics.face.template import EXTRACTOR, EXTRACTOR_VERSION

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}


class EvalInputError(FaceInputError):
    """The folder cannot be evaluated (missing, no identities, no genuine pairs)."""


@dataclass
class Enrolled:
    identity: str
    path: Path
    vector: np.ndarray
    ms: float


@dataclass
class Enrolment:
    identities: int = 0
    images: int = 0
    enrolled: list[Enrolled] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)


def identity_folders(root: str | Path) -> dict[str, list[Path]]:
    root = Path(root)
    if not root.exists():
        raise EvalInputError(f"no such folder: {root}", reason="missing")
    if not root.is_dir():
        raise EvalInputError(f"not a folder of identity folders: {root}", reason="not_a_folder")
    out = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if folder.name.startswith(("_", ".")):
            continue
        photos = sorted(
            p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
        )
        if photos:
            out[folder.name] = photos
    if len(out) < 2:
        raise EvalInputError(
            f"{root} needs at least two identity folders with photos (found {len(out)})",
            reason="no_identities",
        )
    return out


Encoder = Callable[[Path], tuple[np.ndarray, float]]


def ours() -> Encoder:
    stills = StillTemplates(mirror=True)

    def encode(path: Path):
        result = stills.from_image(load_image(path), name=str(path))
        return result.template.vector.astype(np.float64), result.ms

    return encode


def enrol(folders: dict[str, list[Path]], encode: Encoder) -> Enrolment:
    e = Enrolment(identities=len(folders))
    for identity, photos in folders.items():
        for path in photos:
            e.images += 1
            try:
                vector, ms = encode(path)
            except FaceInputError as exc:
                e.failed.append({"file": str(path), "reason": exc.reason})
                continue
            e.enrolled.append(Enrolled(identity, path, vector, ms))
    return e


def pair_distances(enrolled: list[Enrolled]) -> tuple[list[float], list[float]]:
    genuine, impostor = [], []
    for a, b in itertools.combinations(enrolled, 2):
        d = float(np.linalg.norm(a.vector - b.vector))
        (genuine if a.identity == b.identity else impostor).append(d)
    return genuine, impostor


def figures(e: Enrolment, threshold: float) -> dict:
    genuine, impostor = pair_distances(e.enrolled)
    if not genuine or not impostor:
        raise EvalInputError(
            "no genuine or no impostor pairs: each identity needs two photos with a face",
            reason="no_pairs",
        )
    out = {
        "identities": e.identities,
        "images": e.images,
        "failed_to_enrol": len(e.failed),
    }
    out |= evaluation.summary(genuine, impostor, threshold, higher_is_genuine=False)
    out["median_template_ms"] = round(statistics.median(x.ms for x in e.enrolled), 1)
    out["genuine_distance"] = {
        "mean": round(float(np.mean(genuine)), 4),
        "max": round(float(np.max(genuine)), 4),
    }
    out["impostor_distance"] = {
        "mean": round(float(np.mean(impostor)), 4),
        "min": round(float(np.min(impostor)), 4),
    }
    out["failed_files"] = e.failed
    return out


def face_eval(
    root: str | Path, *, baseline: bool = False, threshold: float = DEFAULT_THRESHOLD
) -> dict:
    folders = identity_folders(root)
    result = figures(enrol(folders, ours()), threshold)
    result = {"pipeline": f"{EXTRACTOR} {EXTRACTOR_VERSION}"} | result
    if baseline:
        from biometrics.face import baseline as fr_baseline

        base = figures(enrol(folders, fr_baseline.encode_path), fr_baseline.TOLERANCE)
        result["baseline"] = {"pipeline": fr_baseline.NAME} | base
    return result
