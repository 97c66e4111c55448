"""Fingerprint templates: the minutiae of one finger impression, from an image (our
extractor) or from an ISO/IEC 19794-2 record (any producer), and back to a record.

A template keeps its minutiae in its own pixel frame with the frame's size and resolution;
the matcher brings every template to 500 dpi before comparing. Minutiae rows are
(x, y, angle, kind, quality): angle in radians in the image frame (x right, y down, from
+x towards +y), kind 0 other / 1 ridge ending / 2 bifurcation, quality 0..1.

ISO angles run counter-clockwise with y up, in units of 360/256 degrees: ours is the same
direction mirrored (angle = -iso angle). The direction conventions agree (checked on the
evaluation set's records: flipping our ridge endings or bifurcations by pi makes them stop
matching the records).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from biometrics import iso19794_2 as iso
from biometrics.fingerprint import mcc
from biometrics.fingerprint.errors import (
    ImageMissing,
    IncompatibleTemplates,
    NoFeatures,
    NotARecord,
)

EXTRACTOR = "gabor-mcc"
EXTRACTOR_VERSION = 1
CANONICAL_DPI = 500.0
SOURCE_IMAGE = "image"
SOURCE_ISO = "iso"
MIN_MINUTIAE = 4  # below this a template cannot be compared meaningfully
FORMAT = 1  # of to_dict / from_dict


@dataclass(frozen=True, eq=False)
class FingerTemplate:
    minutiae: np.ndarray  # (N, 5) float64
    width: int
    height: int
    dpi_x: float = CANONICAL_DPI
    dpi_y: float = CANONICAL_DPI
    source: str = SOURCE_IMAGE
    extractor: str = EXTRACTOR
    version: int = EXTRACTOR_VERSION
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.minutiae)

    # -- the matcher's view ---------------------------------------------------------------

    def canonical(self) -> np.ndarray:
        """(N, 3) x, y, angle at 500 dpi."""
        m = np.asarray(self.minutiae, dtype=np.float64).reshape(-1, 5)
        sx, sy = CANONICAL_DPI / self.dpi_x, CANONICAL_DPI / self.dpi_y
        return _scaled(m[:, :3], sx, sy)

    def cylinders(self) -> mcc.Cylinders:
        cyl = self._cache.get("cylinders")
        if cyl is None:
            cyl = mcc.build(self.canonical())
            self._cache["cylinders"] = cyl
        return cyl

    def resampled_to(self, other: FingerTemplate) -> FingerTemplate:
        """This template as if its image had been resampled to `other`'s frame size and
        resolution (kept, so a probe compared with many records of one frame is moved
        once)."""
        key = ("resampled", other.width, other.height, other.dpi_x, other.dpi_y)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        sx, sy = other.width / self.width, other.height / self.height
        m = np.asarray(self.minutiae, dtype=np.float64).copy()
        m[:, :3] = _scaled(m[:, :3], sx, sy)
        moved = replace(
            self,
            minutiae=m,
            width=other.width,
            height=other.height,
            dpi_x=other.dpi_x,
            dpi_y=other.dpi_y,
            _cache={},
        )
        self._cache[key] = moved
        return moved

    # -- ISO/IEC 19794-2 ------------------------------------------------------------------

    def to_iso(self, *, finger_position: int = 0, quality: int = 0) -> iso.FingerMinutiaeRecord:
        """The template as a 2005 record (positions rounded, angles to 360/256 degrees)."""
        minutiae = []
        for x, y, angle, kind, q in np.asarray(self.minutiae, dtype=np.float64):
            minutiae.append(
                iso.Minutia(
                    x=int(min(max(round(x), 0), self.width - 1)),
                    y=int(min(max(round(y), 0), self.height - 1)),
                    angle=iso.Minutia.angle_from_degrees(math.degrees(-angle)),
                    type=int(kind) if int(kind) in (0, 1, 2) else 0,
                    quality=int(min(max(round(q * 100), 1), 100)),
                )
            )
        view = iso.FingerView(
            minutiae=tuple(minutiae[:255]), finger_position=finger_position, quality=quality
        )
        return iso.FingerMinutiaeRecord(
            width=self.width,
            height=self.height,
            x_resolution=round(self.dpi_x / 2.54),
            y_resolution=round(self.dpi_y / 2.54),
            views=(view,),
        )

    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "extractor": self.extractor,
            "version": self.version,
            "source": self.source,
            "width": self.width,
            "height": self.height,
            "dpi": [self.dpi_x, self.dpi_y],
            "minutiae": np.round(np.asarray(self.minutiae, dtype=np.float64), 4).tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict) -> FingerTemplate:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise IncompatibleTemplates("not a fingerprint template of format 1")
        m = np.asarray(data.get("minutiae", []), dtype=np.float64).reshape(-1, 5)
        dpi = data.get("dpi", [CANONICAL_DPI, CANONICAL_DPI])
        return cls(
            minutiae=m,
            width=int(data["width"]),
            height=int(data["height"]),
            dpi_x=float(dpi[0]),
            dpi_y=float(dpi[1]),
            source=str(data.get("source", SOURCE_IMAGE)),
            extractor=str(data.get("extractor", EXTRACTOR)),
            version=int(data.get("version", EXTRACTOR_VERSION)),
        )


def _scaled(m: np.ndarray, sx: float, sy: float) -> np.ndarray:
    """(x, y, angle) rows after scaling x by sx and y by sy (directions follow)."""
    out = np.array(m, dtype=np.float64, copy=True)
    if sx == 1.0 and sy == 1.0:
        return out
    out[:, 0] *= sx
    out[:, 1] *= sy
    out[:, 2] = np.mod(np.arctan2(np.sin(m[:, 2]) * sy, np.cos(m[:, 2]) * sx), 2 * np.pi)
    return out


def from_iso(record: iso.FingerMinutiaeRecord, view: int = 0) -> FingerTemplate:
    """The template of one finger view of a record. Quality 0 ("not reported") reads 1."""
    if not record.views:
        raise NoFeatures("the record holds no finger view")
    if not 0 <= view < len(record.views):
        raise NoFeatures(f"the record has {len(record.views)} finger views, not {view + 1}")
    rows = [
        (m.x, m.y, math.radians(-m.angle_degrees) % (2 * math.pi), m.type, m.quality / 100 or 1.0)
        for m in record.views[view].minutiae
    ]
    minutiae = np.asarray(rows, dtype=np.float64).reshape(-1, 5)
    return FingerTemplate(
        minutiae=minutiae,
        width=record.width,
        height=record.height,
        dpi_x=(record.x_resolution or 197) * 2.54,
        dpi_y=(record.y_resolution or 197) * 2.54,
        source=SOURCE_ISO,
        extractor="iso19794-2",
        version=0,
    )


def read_iso(path: str | Path, view: int = 0) -> FingerTemplate:
    """A template from an ISO/IEC 19794-2:2005 record file."""
    p = Path(path)
    if not p.exists():
        raise ImageMissing(f"no such file: {p}")
    if not p.is_file():
        raise NotARecord(f"not a record file: {p}")
    try:
        record = iso.read(p)
    except iso.ISORecordError as exc:
        raise NotARecord(f"{p}: not a valid ISO/IEC 19794-2 record: {exc}") from exc
    return from_iso(record, view)
