"""The demo actor: a recorded person at a demo kiosk's simulated camera who does what the
kiosk asks, so that `kiosk run --demo` runs the live face pipeline (quality gate, active
liveness, passive attack check, template) on the simulated camera.

She is a genuine clip of the shared evaluation data (never copied into the repository; read
from $KIOSK_EVAL_DATA/videos, else ../shared/data/videos): `dfdc_ayhm23/real.mp4`, a woman
talking to the camera. `kiosk bio liveness` finds in it a blink at 1.9 s and a wide open
mouth at 4.0 s, and nothing of either in its first 0.9 s. The actor cuts the clip into
those parts: between prompts she is the first 0.9 s played forwards and back (idle); when
the kiosk prompts a blink or an open mouth, she waits a reaction time and plays that part
once, then idles again. Her reference for the demo pensioners is a frame 8 s in, outside
every part she plays (`enrolment_png`, stored by the demo back end's `enrol --all-demo`).

She can only do what was recorded: a demo kiosk with the actor asks for a blink and an open
mouth, in random order (`CHALLENGES`), and no head turn (no clip of the set has one person
turning both ways on cue). Without the clip, `find_actor` says why and the demo keeps the
simulated resident's captures.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from drivers.camera.sources import SourceImage
from drivers.eval_data import eval_data_root
from kiosk.flow.context import CHALLENGE_PROMPTS

Span = tuple[float, float]  # seconds into the clip: [start, end)


@dataclass(frozen=True)
class ActorSpec:
    clip: str  # under <eval data>/videos
    crop: tuple[int, int, int, int]  # x, y, w, h: how a kiosk camera would frame her
    idle: Span
    acts: dict[str, Span]  # challenge kind -> the part of the clip that answers it
    enrol_at_s: float
    reaction_s: float = 0.5  # from the prompt to the start of the act
    about: str = ""


AYHM = ActorSpec(
    clip="dfdc_ayhm23/real.mp4",
    crop=(775, 101, 750, 562),
    idle=(0.0, 0.9),
    acts={"blink": (1.75, 2.75), "open_mouth": (3.9, 4.6)},
    enrol_at_s=8.0,
    about="dfdc_ayhm23/real.mp4 (genuine): blink at 1.9 s, open mouth at 4.0 s",
)
CHALLENGES = tuple(AYHM.acts)


class ActorUnavailable(LookupError):
    """The actor's clip cannot be read; the message says where it was looked for."""


def clip_path(spec: ActorSpec = AYHM, root: Path | None = None) -> Path:
    return (root or eval_data_root()) / "videos" / spec.clip


def find_actor(spec: ActorSpec = AYHM, root: Path | None = None) -> tuple[bool, str]:
    """(usable, a line that says so and where)."""
    path = clip_path(spec, root)
    if path.is_file():
        return True, f"demo actor: {spec.about} ({path})"
    return False, f"demo actor's clip not found at {path} (set KIOSK_EVAL_DATA)"


def _read(path: Path, spans: Iterable[Span]) -> tuple[float, dict[Span, list[np.ndarray]]]:
    """The clip's frames inside each span (BGR, uncropped)."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise ActorUnavailable(f"cannot play {path}")
    try:
        fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
        spans = list(spans)
        last = max(end for _, end in spans)
        out: dict[Span, list[np.ndarray]] = {s: [] for s in spans}
        i = 0
        while i / fps < last:
            ok, image = cap.read()
            if not ok:
                break
            t = i / fps
            for start, end in spans:
                if start <= t < end:
                    out[(start, end)].append(image)
            i += 1
    finally:
        cap.release()
    empty = [s for s, frames in out.items() if not frames]
    if empty:
        raise ActorUnavailable(f"{path}: no frames in {empty}")
    return fps, out


def enrolment_png(spec: ActorSpec = AYHM, root: Path | None = None) -> bytes:
    """The frame her demo reference is made from, framed like the camera's, as PNG."""
    import cv2

    t = spec.enrol_at_s
    _fps, parts = _read(clip_path(spec, root), [(t, t + 0.2)])
    x, y, w, h = spec.crop
    ok, png = cv2.imencode(".png", parts[(t, t + 0.2)][0][y : y + h, x : x + w])
    if not ok:
        raise ActorUnavailable("cannot encode the enrolment frame")
    return png.tobytes()


@dataclass
class DemoActor:
    """A `Scene` for the simulated camera (drivers/camera/simulator.py): one picture per
    camera frame, from the reading thread; `react` is called from the capture's thread."""

    spec: ActorSpec = AYHM
    root: Path | None = None
    fps: float = 0.0
    name: str = field(init=False, default="demo-actor")
    _idle: list[SourceImage] = field(init=False, default_factory=list)
    _acts: dict[str, list[SourceImage]] = field(init=False, default_factory=dict)
    _queue: deque = field(init=False, default_factory=deque)
    _tick: int = field(init=False, default=0)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        spec = self.spec
        spans = [spec.idle, *spec.acts.values()]
        self.fps, parts = _read(clip_path(spec, self.root), spans)

        def framed(images: list[np.ndarray]) -> list[SourceImage]:
            return [SourceImage(image=i, crop=spec.crop, name=spec.clip) for i in images]

        idle = framed(parts[spec.idle])
        self._idle = idle + idle[-2:0:-1]  # forwards and back: no jump where it loops
        self._acts = {kind: framed(parts[span]) for kind, span in spec.acts.items()}

    @property
    def can(self) -> tuple[str, ...]:
        return tuple(self._acts)

    def next_scene(self) -> SourceImage:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
            scene = self._idle[self._tick % len(self._idle)]
            self._tick += 1
            return scene

    def react(self, message_key: str) -> None:
        """The kiosk said `message_key`; a challenge prompt she can answer gets its act after
        her reaction time (idle frames meanwhile). Anything else: she stays as she is."""
        kind = next((k for k, key in CHALLENGE_PROMPTS.items() if key == message_key), None)
        if kind not in self._acts:
            return
        with self._lock:
            if self._queue:
                return  # still answering: one prompt, one answer
            wait = round(self.spec.reaction_s * self.fps)
            self._queue.extend(self._idle[(self._tick + k) % len(self._idle)] for k in range(wait))
            self._queue.extend(self._acts[kind])

    def reset(self) -> None:
        """Back to idle, at the start of a capture."""
        with self._lock:
            self._queue.clear()


class ActingFaceCapturer:
    """The face capture port with the actor listening to the prompts it sends the screen."""

    def __init__(self, capturer, actor: DemoActor):
        self.capturer = capturer  # kiosk.devices.face_capture.LiveFaceCapturer
        self.actor = actor

    def warm(self) -> None:
        self.capturer.warm()

    def capture(self, server_nonce, challenges, cancel, progress):
        self.actor.reset()

        def heard(key: str, fraction: float) -> None:
            self.actor.react(key)
            progress(key, fraction)

        return self.capturer.capture(server_nonce, challenges, cancel, heard)
