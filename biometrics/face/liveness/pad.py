"""Passive presentation-attack cues from classical image analysis (no trained model).

Each cue is measured on single frames (every `PadConfig.every`-th frame of a session) and
summarised over the session by `PadAccumulator`; each summary becomes a score where 0.5 is
its decision limit, and the attack score is the largest of them.

- **border**: a phone, tablet or sheet of paper held up to the camera has straight edges
  beside the face. A straight edge beside a *real* face is background (a door frame, a
  pillar, a whiteboard) and the resident's own shoulders hide it below the chin; an edge
  that runs on, straight, past the chin down to where the shoulders must be is in front of
  the body: the edge of whatever carries the face. The cue looks for near-vertical line
  segments (LSD, merged when collinear) up to `border_reach` face widths beside the face
  that reach the face's middle and run at least `border_extension` face heights below the
  chin, more the farther out they are (the shoulder line drops), or to the bottom of the
  picture. Summary: the share of sampled frames where such an edge is found. A tablet or
  a poster much wider than a body shows no such edge: the other cues must see it.
- **glare**: a screen or a glossy print reflects room lights as one sheet: a large part of
  the face box saturated and colourless, where skin shows only small highlights (forehead,
  nose tip, glasses). Summary: the median share over the sampled frames.
- **moire**: an LCD filmed at close range adds a periodic pixel pattern (and its moire
  with the camera's sensor): isolated spikes in the high-frequency spectrum of the face
  patch. Summary: the median over sampled frames of the most prominent spike (log power
  over its neighbourhood). Video compression removes much of it (none of the evaluation's
  screen replays shows it); it fires on a strong pattern only.
- **flat**: when the head turns, a real face's landmarks leave the plane of its eye
  corners and its eye line shrinks as much as the yaw says; a photo's landmarks move by one
  homography however it is turned, and it must be turned far (its eye line shrinking a
  lot) before solvePnP reads a yaw from it. Measured over the frames of every head turn
  against the frontal frame before it (signals.plane_residual, signals.foreshortening).
  Summary: the flattest turn of the session.

Each limit in `PadConfig` says where it comes from. The border, glare and flat limits follow
from geometry and optics (where shoulders are, how a flat sheet moves, what a reflection
does) with margins checked on the evaluation clips and on the synthetic attacks of the
tests; the moire limit sits above what live faces gave on the clips and below what a
synthetic pixel grid gives: it is the least validated (no real clip shows a moire).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from biometrics.face.geometry import Box
from biometrics.face.liveness.regions import Regions


@dataclass(frozen=True)
class PadConfig:
    every: int = 2  # measure frame cues on every n-th frame (0: never)
    # border: where an edge counts, in face widths beside the face box
    border_reach: float = 1.2
    border_inside: float = 0.1  # how far into the face box an edge may lie
    border_max_tilt_deg: float = 15.0
    border_min_length: float = 0.25  # segments shorter than this (face heights) are ignored
    # An edge must run this far (face heights) below the chin: a live face's shoulders
    # start about 0.2-0.4 face heights below the chin beside the face and hide the
    # background from there; farther out the shoulder line drops, by about `border_slope`
    # face heights per face width (an edge a face width away must run 1.0 below the chin).
    border_extension: float = 0.5
    border_slope: float = 0.5
    border_fraction: float = 0.2  # share of sampled frames with such an edge -> score 0.5
    # glare: pixels at least this bright with at most this saturation (HSV, 0-255)
    glare_value: int = 245
    glare_saturation: int = 40
    glare_share: float = 0.03  # median share of the face box -> score 0.5
    # moire: median over the session of the face patch's most prominent spectral peak
    # (log-power excess over its neighbourhood) -> score 0.5. Live faces in the evaluation
    # clips: medians 1.6-2.7 (single frames up to 3.3); a screen's pixel grid filmed head-on
    # 6+, turned 20 degrees ~4.
    moire_excess: float = 4.0
    # flat: two signs that a turn was a flat picture being turned, both needed (each alone
    # is marginal on small or blurred live faces, whose landmarks the shape model's prior
    # flattens):
    # - one homography explains the landmark motion: residual (interocular distances) at or
    #   below `flat_residual`. Photos turned 35-55 degrees: 0.02-0.04 (landmark noise);
    #   live heads turned 15-25 degrees: 0.07-0.15, the worst small face 0.04;
    # - the eye line shrank more than the measured yaw explains: median of (eye-line
    #   foreshortening - cos(yaw change)) at or below -`flat_foreshortening`. A photo must be
    #   turned ~45 degrees before solvePnP reads a 15 degree yaw from it: -0.19 to -0.26;
    #   live heads: within about +-0.13.
    # score = 0.5 x (flat_residual / residual) x (-excess / flat_foreshortening).
    flat_residual: float = 0.035
    flat_foreshortening: float = 0.15
    decision: float = 0.5  # attack when the attack score reaches this


@dataclass(frozen=True)
class FrameCues:
    border: float  # best edge's run below the chin (face heights) less its distance's due
    border_found: bool
    glare: float  # share of the face box
    moire: float  # spectral peak prominence (nan when the face patch is too small)


def frame_cues(frame: np.ndarray, box: Box, regions: Regions, cfg: PadConfig) -> FrameCues:
    gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    extension, found = border_cue(gray, box, cfg)
    glare = glare_cue(frame, box, cfg) if frame.ndim == 3 else 0.0
    return FrameCues(extension, found, glare, moire_cue(gray, box))


# -- border ---------------------------------------------------------------------------

_LSD: list = []


def _lsd():
    if not _LSD:
        _LSD.append(cv2.createLineSegmentDetector())
    return _LSD[0]


def border_cue(gray: np.ndarray, box: Box, cfg: PadConfig) -> tuple[float, bool]:
    """(how far the best edge beside the face runs below the chin, in face heights, less
    what its distance from the face requires beyond `border_extension`; found)."""
    frame_h, frame_w = gray.shape[:2]
    reach = cfg.border_reach
    x0 = max(0, int(box.x - (reach + 0.1) * box.w))
    x1 = min(frame_w, math.ceil(box.x + box.w * (1 + reach + 0.1)))
    y0 = max(0, int(box.y))
    roi = gray[y0:frame_h, x0:x1]
    if roi.shape[0] < 16 or roi.shape[1] < 16:
        return 0.0, False
    scale = min(1.0, 90.0 / max(box.w, 1.0))  # the face about 90 px wide is plenty
    if scale < 1.0:
        roi = cv2.resize(roi, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    segments = _lsd().detect(roi)[0]
    if segments is None:
        return 0.0, False
    segs = segments.reshape(-1, 4).astype(np.float64) / scale
    segs[:, [0, 2]] += x0
    segs[:, [1, 3]] += y0
    lines = _vertical_lines(segs, box, cfg)
    chin = box.y + box.h
    best, found = 0.0, False
    for xc, top, bottom in lines:
        left = box.x - reach * box.w <= xc <= box.x + cfg.border_inside * box.w
        right = box.x + (1 - cfg.border_inside) * box.w <= xc <= box.x + (1 + reach) * box.w
        if not (left or right) or top > box.y + 0.5 * box.h:
            continue
        extension = (bottom - chin) / box.h
        outside = max(0.0, box.x - xc, xc - (box.x + box.w)) / box.w
        need = cfg.border_extension + cfg.border_slope * outside
        to_edge = bottom >= frame_h - 3 and extension >= 0.6 * need
        best = max(best, extension - need + cfg.border_extension)
        found = found or extension >= need or to_edge
    return float(max(0.0, best)), found


def _vertical_lines(segs: np.ndarray, box: Box, cfg: PadConfig):
    """Near-vertical segments merged into lines: (x at the face's middle, top, bottom)."""
    cy = box.y + box.h / 2
    max_tilt = math.sin(math.radians(cfg.border_max_tilt_deg))
    cands = []
    for x1, y1, x2, y2 in segs:
        dx, dy = x2 - x1, y2 - y1
        length = math.hypot(dx, dy)
        if length < cfg.border_min_length * box.h or abs(dx) > max_tilt * length:
            continue
        if y1 > y2:
            x1, y1, x2, y2 = x2, y2, x1, y1
        slope = (x2 - x1) / (y2 - y1)
        cands.append((x1 + slope * (cy - y1), slope, y1, y2))
    cands.sort()
    groups: list[list] = []
    for xc, slope, ya, yb in cands:
        for g in groups:
            if abs(g[0] - xc) < 0.03 * box.w and abs(g[1] - slope) < 0.06:
                g[2].append((ya, yb))
                break
        else:
            groups.append([xc, slope, [(ya, yb)]])
    out = []
    for xc, _, spans in groups:
        spans.sort()
        top, bottom = spans[0]
        for ya, yb in spans[1:]:
            if ya <= bottom + 0.25 * box.h:
                bottom = max(bottom, yb)
            else:
                out.append((xc, top, bottom))
                top, bottom = ya, yb
        out.append((xc, top, bottom))
    return out


# -- glare ------------------------------------------------------------------------------


def glare_cue(frame: np.ndarray, box: Box, cfg: PadConfig) -> float:
    h, w = frame.shape[:2]
    x0, y0, x1, y1 = box.clipped(w, h)
    patch = frame[y0:y1, x0:x1]
    if patch.size == 0:
        return 0.0
    hsv = cv2.cvtColor(patch, cv2.COLOR_BGR2HSV)
    sheet = (hsv[..., 2] >= cfg.glare_value) & (hsv[..., 1] <= cfg.glare_saturation)
    return float(sheet.mean())


# -- moire ------------------------------------------------------------------------------


def moire_cue(gray: np.ndarray, box: Box) -> float:
    """The most prominent isolated peak of the face patch's high-frequency spectrum: the
    largest log-power excess over the local (5 x 5 median) spectral background, between
    0.1 and 0.5 cycles per pixel, leaving out the two axes (block and line structure of
    video coding). A periodic pattern (a screen's pixel grid, its moire with the sensor)
    makes isolated spikes; a live face's spectrum is smooth, and its largest excess is what
    chance gives among a few thousand frequency bins (2-3 on the evaluation clips)."""
    side = int(0.6 * min(box.w, box.h)) // 2 * 2
    x0, y0 = int(box.x + 0.2 * box.w), int(box.y + 0.2 * box.h)
    patch = gray[max(0, y0) : y0 + side, max(0, x0) : x0 + side].astype(np.float32)
    n = min(patch.shape[:2]) if patch.ndim == 2 else 0
    if n < 32:
        return float("nan")
    patch = patch[:n, :n]
    patch = patch - cv2.GaussianBlur(patch, (0, 0), 3)
    window = np.outer(np.hanning(n), np.hanning(n)).astype(np.float32)
    power = np.abs(np.fft.fftshift(np.fft.fft2(patch * window))) ** 2
    logp = np.log(power + 1e-6).astype(np.float32)
    excess = logp - cv2.medianBlur(logp, 5)
    f = np.fft.fftshift(np.fft.fftfreq(n))
    fy, fx = np.meshgrid(f, f, indexing="ij")
    r = np.hypot(fx, fy)
    band = (r > 0.1) & (r < 0.5) & (np.abs(fx) >= 1.5 / n) & (np.abs(fy) >= 1.5 / n)
    return float(excess[band].max())


# -- flat face on turns -------------------------------------------------------------------


@dataclass(frozen=True)
class FlatCheck:
    """One head turn judged for flatness, over the frames turned past the limit (medians:
    a single frame's landmarks are noisy)."""

    yaw_change: float  # degrees, at the turn's peak
    frames: int
    residual: float | None  # median homography residual, interocular distances
    excess: float | None  # median of (foreshortening - cos(yaw change)): ~0 live, < 0 flat

    def score(self, cfg: PadConfig) -> float:
        """0.5 when both signs sit at their limits; above: flat."""
        if self.residual is None or self.excess is None:
            return 0.0
        plane = cfg.flat_residual / max(self.residual, 1e-6)
        shrink = max(0.0, -self.excess) / cfg.flat_foreshortening
        return float(min(1.0, 0.5 * plane * shrink))

    def to_dict(self) -> dict:
        return {
            "yaw_change": round(self.yaw_change, 2),
            "frames": self.frames,
            "residual": None if self.residual is None else round(self.residual, 4),
            "foreshortening_excess": None if self.excess is None else round(self.excess, 4),
        }


def flat_check(turn) -> FlatCheck:
    """Flatness of an `events.Turn` (its frontal reference against its turned frames)."""
    from biometrics.face.liveness.signals import foreshortening, plane_residual

    residuals, excesses = [], []
    for o in turn.frames:
        r = plane_residual(turn.reference, o.regions)
        f = foreshortening(turn.reference, o.regions)
        if r is not None:
            residuals.append(r)
        if f is not None:
            excesses.append(f - math.cos(math.radians(o.pose.yaw - turn.reference_yaw)))
    return FlatCheck(
        yaw_change=float(turn.yaw_change),
        frames=len(turn.frames),
        residual=float(np.median(residuals)) if residuals else None,
        excess=float(np.median(excesses)) if excesses else None,
    )


# -- the session's summary ----------------------------------------------------------------


@dataclass
class PadAccumulator:
    """Collects the frame cues and turn checks of one session and scores them."""

    config: PadConfig = field(default_factory=PadConfig)
    frames: int = 0
    border_hits: int = 0
    border_ext: list[float] = field(default_factory=list)
    glare: list[float] = field(default_factory=list)
    moire: list[float] = field(default_factory=list)
    flats: list[FlatCheck] = field(default_factory=list)

    def add(self, cues: FrameCues | None) -> None:
        if cues is None:
            return
        self.frames += 1
        self.border_hits += int(cues.border_found)
        self.border_ext.append(cues.border)
        self.glare.append(cues.glare)
        if not math.isnan(cues.moire):
            self.moire.append(cues.moire)

    def add_turn(self, check: FlatCheck) -> None:
        self.flats.append(check)

    def summary(self) -> dict[str, float | None]:
        n = self.frames
        return {
            "frames": n,
            "border": self.border_hits / n if n else None,
            "glare": float(np.median(self.glare)) if self.glare else None,
            "moire": float(np.median(self.moire)) if self.moire else None,
            "flat": max((f.score(self.config) for f in self.flats), default=None),
        }

    def scores(self) -> dict[str, float]:
        c = self.config
        s = self.summary()
        out = {}
        if s["border"] is not None:
            out["border"] = min(1.0, 0.5 * s["border"] / c.border_fraction)
        if s["glare"] is not None:
            out["glare"] = min(1.0, 0.5 * s["glare"] / c.glare_share)
        if s["moire"] is not None:
            out["moire"] = min(1.0, 0.5 * s["moire"] / c.moire_excess)
        if s["flat"] is not None:
            out["flat"] = s["flat"]
        return {k: round(float(v), 4) for k, v in out.items()}

    def attack_score(self) -> float:
        return max(self.scores().values(), default=0.0)

    def flagged(self) -> bool:
        return self.attack_score() >= self.config.decision

    def to_dict(self) -> dict:
        s = self.summary()
        return {
            "attack_score": round(self.attack_score(), 4),
            "flagged": self.flagged(),
            "scores": self.scores(),
            "measures": {k: (round(v, 5) if isinstance(v, float) else v) for k, v in s.items()},
            "turns": [f.to_dict() for f in self.flats],
        }
