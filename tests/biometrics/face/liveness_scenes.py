"""Scenes for the liveness tests, built from still photos: what a camera would see when an
attacker holds a photo (moved, turned, on a phone), swaps photos, or replays a clip, and a
synthetic resident who performs the challenges.

The "performing" face is the still photo re-posed by a piecewise-affine warp of its
landmarks: eyelids pulled down (a blink), the jaw lowered and the mouth painted dark (an
open mouth), every landmark moved by a rough 3D depth when the head turns (so the nose
leaves the plane of the eyes, as a real head's does). It is crude, but the landmark model
reads it as the action; it stands for a live resident (or for a re-enactment attack fed
straight into the camera, which no check here can see: that needs a trusted camera).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from biometrics.face import FaceAnalyzer

FRAME = (640, 480)


# -- the performing face --------------------------------------------------------------------


def _depth68() -> np.ndarray:
    """Rough depth (mm, towards the camera) of the 68 iBUG points, for a fake 3D turn."""
    z = np.zeros(68)
    z[0:17] = -75 + 65 * np.sin(np.pi * np.linspace(0, 1, 17))
    z[17:27] = [-20, -10, -3, 0, 2, 2, 0, -3, -10, -20]
    z[27:31] = [17, 22, 27, 32]
    z[31:36] = [10, 15, 20, 15, 10]
    z[36:48] = [0, 8, 10, 12, 10, 8, 12, 10, 8, 0, 8, 10]
    z[48:68] = [2, 10, 14, 16, 14, 10, 2, 10, 14, 15, 14, 10, 4, 13, 15, 13, 4, 13, 15, 13]
    return z


def landmarks_of(frame: np.ndarray) -> np.ndarray:
    a = FaceAnalyzer().process(frame)
    assert a.landmarks is not None and a.landmarks.points.shape == (68, 2)
    return a.landmarks.points.astype(np.float64)


def _warp(frame: np.ndarray, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Piecewise-affine warp moving `src` points to `dst` (triangles of the source points,
    plus a fixed ring and frame around the face so the rest of the picture stays put)."""
    from scipy.spatial import Delaunay

    h, w = frame.shape[:2]
    c, span = src.mean(0), np.ptp(src, axis=0)
    ring = [
        c + 1.5 * span / 2 * np.array([math.cos(a), math.sin(a)])
        for a in np.linspace(0, 2 * math.pi, 20, endpoint=False)
    ]
    corners = [(0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1)]
    anchors = np.vstack([ring, corners]).astype(np.float64)
    s = np.vstack([src, anchors])
    d = np.vstack([dst, anchors])
    out = frame.copy()
    for tri in Delaunay(s).simplices:
        ts, td = s[tri].astype(np.float32), d[tri].astype(np.float32)
        x, y, bw, bh = cv2.boundingRect(td)
        x0, y0 = max(0, x), max(0, y)
        x1, y1 = min(w, x + bw), min(h, y + bh)
        if x1 <= x0 or y1 <= y0:
            continue
        m = cv2.getAffineTransform(ts, td - np.float32([x0, y0]))
        patch = cv2.warpAffine(frame, m, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REFLECT)  # fmt: skip
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillConvexPoly(mask, np.round((td - [x0, y0]) * 16).astype(np.int32), 1, cv2.LINE_AA, 4)
        region = out[y0:y1, x0:x1]
        region[mask > 0] = patch[mask > 0]
    return out


def posed(frame: np.ndarray, p: np.ndarray, *, eyes=0.0, mouth=0.0, turn=0.0) -> np.ndarray:
    """The photo re-posed: `eyes` 0..1 closed, `mouth` 0..1 open, `turn` degrees (+ = the
    face's own left, towards the right of the picture)."""
    d = p.copy()
    for up, lo in ((37, 41), (38, 40), (43, 47), (44, 46)):
        d[up] = p[up] + eyes * 0.9 * (p[lo] - p[up])
    gap = mouth * 0.45 * float(np.linalg.norm(p[54] - p[48]))
    for i in (55, 56, 57, 58, 59, 65, 66, 67):
        d[i] = d[i] + [0, gap]
    for i in range(6, 11):
        d[i] = d[i] + [0, 0.8 * gap]
    for i in (5, 11):
        d[i] = d[i] + [0, 0.4 * gap]
    if turn:
        mm = float(np.linalg.norm(p[42:48].mean(0) - p[36:42].mean(0))) / 63.0
        z = _depth68() * mm
        th = math.radians(turn)
        cx = p[27:36].mean(0)[0]
        d[:, 0] = cx + (d[:, 0] - cx) * math.cos(th) + (z + 90 * mm) * math.sin(th)
        d[:, 0] -= 90 * mm * math.sin(th)
    out = _warp(frame, p, d)
    if mouth >= 0.3:
        painted = out.copy()
        cv2.fillPoly(painted, [d[60:68].astype(np.int32)], (30, 20, 60))
        out = cv2.addWeighted(painted, 0.85, out, 0.15, 0)
    return out


class Performer:
    """A still photo that can blink, turn and open its mouth (cached key frames)."""

    def __init__(self, frame: np.ndarray):
        self.frame = np.ascontiguousarray(frame)
        self.points = landmarks_of(self.frame)
        self._cache: dict[tuple, np.ndarray] = {}

    def pose(self, eyes=0.0, mouth=0.0, turn=0.0) -> np.ndarray:
        key = (round(eyes, 2), round(mouth, 2), round(turn, 1))
        if key not in self._cache:
            if key == (0.0, 0.0, 0.0):
                self._cache[key] = self.frame
            else:
                self._cache[key] = posed(self.frame, self.points, eyes=eyes, mouth=mouth, turn=turn)
        return self._cache[key]

    # action clips: lists of frames at 15 fps
    def neutral(self, seconds: float, fps: float = 15) -> list[np.ndarray]:
        return [self.pose()] * max(1, round(seconds * fps))

    def blink(self) -> list[np.ndarray]:
        return [self.pose(eyes=e) for e in (0.5, 1.0, 1.0, 0.5)]

    def open_mouth(self) -> list[np.ndarray]:
        return [self.pose(mouth=m) for m in (0.4, 0.8, 1.0, 1.0, 1.0, 1.0, 1.0, 0.8, 0.4)]

    def turn(self, side: str) -> list[np.ndarray]:
        sign = 1 if side == "turn_left" else -1
        steps = (6, 12, 18, 22, 26, 26, 26, 26, 26, 20, 12, 6)
        return [self.pose(turn=sign * a) for a in steps]

    def act(self, kind: str) -> list[np.ndarray]:
        if kind == "blink":
            return self.blink()
        if kind == "open_mouth":
            return self.open_mouth()
        return self.turn(kind)


# -- a photo held up to the camera -----------------------------------------------------------------


def wall(size=FRAME, grey=(118, 122, 128)) -> np.ndarray:
    w, h = size
    img = np.empty((h, w, 3), np.uint8)
    img[:] = grey
    # a little texture, as a real room has
    rng = np.random.default_rng(7)
    noise = rng.normal(0, 3, (h // 8, w // 8, 3))
    img = np.clip(img + cv2.resize(noise, (w, h)), 0, 255).astype(np.uint8)
    return img


def plane_view(
    photo: np.ndarray,
    *,
    yaw: float = 0.0,
    pitch: float = 0.0,
    roll: float = 0.0,
    scale: float = 1.0,
    shift=(0.0, 0.0),
    background: np.ndarray | None = None,
    distance: float = 1.0,
) -> np.ndarray:
    """The camera's view of a flat photo turned by yaw/pitch (degrees, about its centre),
    rolled, scaled and shifted: a perspective warp, as a pinhole camera sees a turned
    sheet (focal length = one frame width, photo at `distance` frame widths)."""
    h, w = photo.shape[:2]
    fw, fh = FRAME
    f = float(fw)
    z = f * distance
    r = cv2.Rodrigues(np.array([math.radians(pitch), math.radians(yaw), 0.0]))[0]
    rz = cv2.getRotationMatrix2D((0, 0), roll, 1.0)[:, :2]
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float64)
    xy = (corners - [w / 2, h / 2]) @ rz.T * scale * (fw / w)
    pts3 = np.c_[xy, np.zeros(4)] @ r.T + [0, 0, z]
    proj = np.c_[f * pts3[:, 0] / pts3[:, 2], f * pts3[:, 1] / pts3[:, 2]]
    proj += [fw / 2 + shift[0], fh / 2 + shift[1]]
    m = cv2.getPerspectiveTransform(corners.astype(np.float32), proj.astype(np.float32))
    bg = wall() if background is None else background
    out = cv2.warpPerspective(photo, m, FRAME, borderMode=cv2.BORDER_TRANSPARENT, dst=bg.copy())
    return out


def phone(
    photo: np.ndarray,
    *,
    yaw: float = 0.0,
    shift=(0.0, 0.0),
    scale: float = 1.0,
    glare: bool = False,
    pixels: bool = False,
) -> np.ndarray:
    """A kiosk frame (`photo`, 640x480 with the face in the middle) shown in portrait on a
    phone held up to the camera: the screen a 3:4 crop around the face, a black bezel round
    it, fingers over its sides; the face on the screen about as big as a resident's face
    would be. Optionally a reflected light over part of the screen and the screen's pixel
    grid (an LCD filmed up close)."""
    h, w = photo.shape[:2]
    sw = int(h * 0.55)  # a selfie crop: the face ~half the screen's width
    sh = int(sw * 4 / 3)
    x0, y0 = (w - sw) // 2, max(0, int(h * 0.47 - sh / 2))
    screen = photo[y0 : y0 + sh, x0 : x0 + sw].copy()
    if pixels:  # the pixel grid: darker lines every 3 screen pixels, both ways
        grid = np.ones(screen.shape[:2], np.float32)
        grid[::3, :] = 0.75
        grid[:, ::3] *= 0.75
        screen = (screen * grid[..., None]).astype(np.uint8)
    if glare:  # a ceiling light reflected over the upper right of the screen
        gh, gw = screen.shape[:2]
        overlay = screen.copy()
        cv2.ellipse(overlay, (int(gw * 0.8), int(gh * 0.3)), (int(gw * 0.25), int(gh * 0.12)),
                    -35, 0, 360, (255, 255, 255), -1)  # fmt: skip
        screen = cv2.addWeighted(overlay, 0.9, screen, 0.1, 0)
    bezel = max(6, sw // 30)
    body = cv2.copyMakeBorder(screen, bezel * 4, bezel * 4, bezel, bezel, cv2.BORDER_CONSTANT,
                              value=(20, 20, 22))  # fmt: skip
    fw, fh = FRAME
    # the face (~0.28 of the photo's width) about 0.3 of the frame's width
    s = scale * (0.3 * fw) / (0.28 * w)
    body = cv2.resize(body, None, fx=s, fy=s, interpolation=cv2.INTER_LINEAR)
    view = plane_view(body, yaw=yaw, shift=shift, scale=body.shape[1] / fw, background=wall())
    cx = fw / 2 + shift[0]
    half = body.shape[1] / 2
    for k in range(3):  # the fingers of the hand holding it, over its right side
        y = int(fh * 0.72 + k * 36 + shift[1])
        cv2.ellipse(view, (int(cx + half + 8), y), (28, 15), 0, 0, 360, (95, 120, 175), -1)
    cv2.ellipse(view, (int(cx - half * 0.4), fh - 10), (40, 24), 20, 0, 360, (95, 120, 175), -1)
    return view


def kiosk_frame(image: np.ndarray, face_box=None) -> np.ndarray:
    """A photo framed as a kiosk camera sees a resident: the face about a third of the
    frame wide, centred a little above the middle."""
    from biometrics.face.detect import FaceDetector

    if face_box is None:
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        boxes = FaceDetector().detect(gray, width=min(gray.shape[1], 800), upsample=1)
        assert boxes, "no face in the photo"
        face_box = boxes[0]
    b = face_box
    cw = b.w / 0.32
    ch = cw * 3 / 4
    x0, y0 = b.cx - cw / 2, b.cy - ch * 0.45
    sx, sy = FRAME[0] / cw, FRAME[1] / ch
    m = np.float32([[sx, 0, -x0 * sx], [0, sy, -y0 * sy]])
    return cv2.warpAffine(image, m, FRAME, flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)
