"""Fingerprint image quality: a score 0..100 and what the resident should do about a poor
capture, as message keys (the UI speaks and shows them), never sentences.

Keys, in the order they are coached (the first failing one is `coaching`):

| key | measure | default limit |
| --- | --- | --- |
| finger_no_finger | share of the image that shows ridges, or ridge depth | < 0.04, < 10 |
| finger_press_harder | ridges too faint: ridge depth (grey levels, see below) | < 40 |
| finger_smudged | clarity (local correlation of the image with its ridge model), or | < 0.45 |
| | valley fill (how dark the valleys print, 0 white .. 1 as dark as ridges) | > 0.85 |
| | or both middling | > 0.70 and < 0.70 |
| finger_off_centre | the print runs off one side of the image and its centre is off | see below |
| finger_too_few_features | ridge area (mm2 at 500 dpi) or minutiae | < 45 mm2 or < 10 |

Ridge depth: the lightest grey of the image (99th percentile) minus the median grey of the
ridges (the pixels the Gabor model calls ridge). Valley fill: (lightest - median grey of
the valleys) / ridge depth.

"Off centre": more than 35 % of one image side is covered by the print and the print's
centre is more than 22 % of the image's size from the image's centre.

The score multiplies five factors, each 0..1: ridge area (full at 120 mm2), clarity
(0 at 0.40, full at 0.70), minutiae (full at 25), ridge depth (0 at 10, full at 60 grey
levels) and valley fill (full up to 0.6, 0 at 1). It is meant for choosing the best of
several captures and for the coaching loop, not as a matching threshold. Limits were set
on FVC2002 DB1_B..DB4_B (every image there is a usable capture, some deliberately dry or wet;
5th percentiles: ridge depth 52 grey levels, clarity 0.65, area 109 mm2, 20 minutiae; of
the 320 images the defaults coach 10 as smudged, 8 as off centre, 5 as too faint) and on
synthetic bad captures (blank, noise, faint, wet, small, shifted prints:
tests/biometrics/fingerprint/test_quality.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from biometrics.fingerprint.extract import Analysis, analyze

FINGER_NO_FINGER = "finger_no_finger"
FINGER_PRESS_HARDER = "finger_press_harder"
FINGER_SMUDGED = "finger_smudged"
FINGER_OFF_CENTRE = "finger_off_centre"
FINGER_TOO_FEW_FEATURES = "finger_too_few_features"

COACHING_KEYS = (
    FINGER_NO_FINGER,
    FINGER_PRESS_HARDER,
    FINGER_SMUDGED,
    FINGER_OFF_CENTRE,
    FINGER_TOO_FEW_FEATURES,
)

MM_PER_PX = 25.4 / 500.0


@dataclass(frozen=True)
class QualityConfig:
    min_foreground: float = 0.04
    min_ink: float = 10.0  # ridge depth below this: nothing printed at all
    min_ridge_depth: float = 40.0
    min_clarity: float = 0.45
    max_valley_fill: float = 0.85
    max_valley_fill_unclear: float = 0.70
    unclear: float = 0.70
    max_edge_cover: float = 0.35
    max_offset: float = 0.22
    min_area_mm2: float = 45.0
    min_minutiae: int = 10
    full_area_mm2: float = 120.0
    clarity_low: float = 0.40
    clarity_high: float = 0.70
    full_minutiae: int = 25
    full_ink: float = 60.0
    full_fill: float = 0.6


@dataclass(frozen=True)
class FingerQuality:
    score: int  # 0..100
    coaching: str | None  # the first failing key, None when the capture is good
    keys: tuple[str, ...] = ()  # every failing key, in coaching order
    measures: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.coaching is None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["keys"] = list(self.keys)
        return d


def _measures(gray: np.ndarray, a: Analysis) -> dict:
    maps = a.maps
    mask = maps.mask
    h, w = mask.shape
    fg = float(mask.mean())
    area = float(mask.sum()) * MM_PER_PX**2
    clarity = float(np.median(maps.clarity[mask])) if mask.any() else 0.0
    if mask.any():
        # ridge depth: grey levels between ridges (dark) and valleys (light) in the print
        work = gray if a.scale == 1.0 else None
        if work is None:
            import cv2

            work = cv2.resize(gray, (w, h), interpolation=cv2.INTER_AREA)
        vals = work[mask].astype(np.float64)
        ridge = maps.enhanced[mask] > 0
        bright = float(np.percentile(work, 99))
        if ridge.any() and (~ridge).any():
            ridge_grey = float(np.median(vals[ridge]))
            valley_grey = float(np.median(vals[~ridge]))
        else:
            ridge_grey = valley_grey = float(np.median(vals))
        depth = bright - ridge_grey  # how dark the ridges print against the lightest grey
        fill = (bright - valley_grey) / max(depth, 1.0)  # 1: valleys as dark as ridges
        ys, xs = np.nonzero(mask)
        offset = max(abs(xs.mean() / w - 0.5), abs(ys.mean() / h - 0.5))
        cover = max(mask[0, :].mean(), mask[-1, :].mean(), mask[:, 0].mean(), mask[:, -1].mean())
    else:
        depth, fill, offset, cover = 0.0, 0.0, 0.5, 0.0
    return {
        "foreground": round(fg, 4),
        "area_mm2": round(area, 1),
        "clarity": round(clarity, 4),
        "ridge_depth": round(depth, 1),
        "valley_fill": round(float(fill), 4),
        "edge_cover": round(float(cover), 4),
        "offset": round(float(offset), 4),
        "minutiae": len(a.template),
    }


def assess(analysis: Analysis, gray: np.ndarray, config: QualityConfig | None = None):
    """The quality of an analysed image (see `quality` for an image alone)."""
    c = config or QualityConfig()
    m = _measures(gray, analysis)
    keys = []
    if m["foreground"] < c.min_foreground or m["ridge_depth"] < c.min_ink:
        keys.append(FINGER_NO_FINGER)
    else:
        if m["ridge_depth"] < c.min_ridge_depth:
            keys.append(FINGER_PRESS_HARDER)
        if (
            m["clarity"] < c.min_clarity
            or m["valley_fill"] > c.max_valley_fill
            or (m["valley_fill"] > c.max_valley_fill_unclear and m["clarity"] < c.unclear)
        ):
            keys.append(FINGER_SMUDGED)
        if m["edge_cover"] > c.max_edge_cover and m["offset"] > c.max_offset:
            keys.append(FINGER_OFF_CENTRE)
        if m["area_mm2"] < c.min_area_mm2 or m["minutiae"] < c.min_minutiae:
            keys.append(FINGER_TOO_FEW_FEATURES)
    f_area = min(1.0, m["area_mm2"] / c.full_area_mm2)
    f_clarity = float(
        np.clip((m["clarity"] - c.clarity_low) / (c.clarity_high - c.clarity_low), 0, 1)
    )
    f_min = min(1.0, m["minutiae"] / c.full_minutiae)
    f_ink = float(np.clip((m["ridge_depth"] - c.min_ink) / (c.full_ink - c.min_ink), 0, 1))
    f_fill = float(np.clip((1.0 - m["valley_fill"]) / (1.0 - c.full_fill), 0, 1))
    factors = f_area * f_clarity * f_min * f_ink * f_fill
    score = 0 if FINGER_NO_FINGER in keys else round(100 * factors)
    return FingerQuality(
        score=int(score), coaching=keys[0] if keys else None, keys=tuple(keys), measures=m
    )


def quality(image, dpi: float = 500.0, config: QualityConfig | None = None) -> FingerQuality:
    """Score and coaching for one captured image."""
    from biometrics.fingerprint.extract import as_gray

    gray = as_gray(image)
    return assess(analyze(gray, dpi), gray, config)
