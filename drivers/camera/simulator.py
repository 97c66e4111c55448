"""A scriptable simulated camera: plays pictures, picture sequences and video files, and
composes the scenes the face pipeline must cope with.

Fault switches (`SimFaults`, changeable at any time and by a per-frame `schedule`):

- `missing`: `open()` raises `DeviceUnavailable` (no camera at start);
- `no_frames`: opens, then never delivers (`read` -> retry, then `DeviceError` once the
  reconnect budget is spent);
- `black`: frames are black (lens covered, sensor dead);
- `unplug_at=N`: after frame N the camera is gone (RECONNECTING, then FAILED);
  `replug_after_s` brings it back after that long (None: never);
- `two_faces`: two people side by side (the scene's centre, twice, the second mirrored);
- `small_face`: the scene shrunk to `small_scale` on a grey wall (resident too far away);
- `gain` (brightness factor: 0.2 is a dark room) and `blur` (Gaussian sigma in pixels).

Time: with `realtime=True` (the kiosk's demo) frames are due every 1/fps seconds of the
injected clock and `read` sleeps until the next one, skipping frames a slow consumer missed,
like a real camera. With `realtime=False` (tests) time is virtual: every `read` returns the
next frame at once, stamped 1/fps after the previous one, and a `read` that finds nothing
advances the virtual clock by its timeout instead of sleeping.

Without a `source`, the simulator shows the default face (drivers/camera/sources.py).
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from drivers.camera.base import (
    Camera,
    CameraHealth,
    CameraInfo,
    CameraState,
    DeviceCancelled,
    DeviceError,
    DeviceErrorKind,
    DeviceUnavailable,
    Frame,
    HealthCallback,
    RateMeter,
    ReconnectPolicy,
    no_frame,
    not_open,
)
from drivers.camera.sources import SourceImage, SourceMissing, cover, default_face, read_image

try:
    import cv2
except ImportError:  # pragma: no cover
    cv2 = None

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg"}

_UNPLUGGED = "simulated: unplugged"
_SILENT = "simulated: no frames"

SourceItem = str | os.PathLike | np.ndarray | SourceImage  # or a Scene (below)


@dataclass
class SimFaults:
    """The fault switches. Change them on the fly (`cam.faults.black = True`) or script them
    with `SimulatedCamera(schedule={frame_seq: {"two_faces": True}, ...})`."""

    missing: bool = False
    no_frames: bool = False
    black: bool = False
    unplug_at: int | None = None
    replug_after_s: float | None = None
    two_faces: bool = False
    small_face: bool = False
    small_scale: float = 0.5
    gain: float = 1.0
    blur: float = 0.0


class Scene(Protocol):
    """A live source: asked for the picture of every frame as the frame is made (someone who
    reacts to what the kiosk says: kiosk/devices/demo_actor.py). Called on the reading
    thread; must not block."""

    name: str

    def next_scene(self) -> SourceImage: ...


class _Item:
    """One entry of the play list: a still shown for `hold` frames, a video file, or a live
    scene."""

    def __init__(
        self,
        still: SourceImage | None = None,
        video: Path | None = None,
        hold: int = 1,
        scene: Scene | None = None,
    ):
        self.still = still
        self.video = video
        self.scene = scene
        self.hold = max(1, hold)
        self._cap: Any = None

    def open(self) -> None:
        if self.video is None:
            return
        self._cap = cv2.VideoCapture(str(self.video))
        if not self._cap.isOpened():
            raise DeviceUnavailable(f"cannot play {self.video}", device="camera")

    def frames(self) -> Iterable[SourceImage]:
        if self.scene is not None:
            while True:
                yield self.scene.next_scene()
        if self.still is not None:
            for _ in range(self.hold):
                yield self.still
            return
        cap = self._cap
        cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
        while True:
            ok, image = cap.read()
            if not ok or image is None:
                return
            yield SourceImage(image=image, name=self.video.name)

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


def _expand(source: SourceItem | Iterable[SourceItem] | None, hold: int) -> list[_Item]:
    if source is None:
        try:
            return [_Item(still=default_face(), hold=hold)]
        except SourceMissing as exc:
            raise DeviceUnavailable(str(exc), device="camera", reason="no_source") from exc
    if hasattr(source, "next_scene"):
        return [_Item(scene=source)]
    if isinstance(source, (str, os.PathLike, np.ndarray, SourceImage)):
        source = [source]
    items: list[_Item] = []
    for entry in source:
        if isinstance(entry, SourceImage):
            items.append(_Item(still=entry, hold=hold))
        elif isinstance(entry, np.ndarray):
            items.append(_Item(still=SourceImage(image=_bgr(entry)), hold=hold))
        else:
            path = Path(entry)
            if path.is_dir():
                children = sorted(
                    p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES
                )
                if not children:
                    raise DeviceUnavailable(f"no pictures or videos in {path}", device="camera")
                items += _expand(children, hold)
            elif not path.is_file():
                raise DeviceUnavailable(f"no such file: {path}", device="camera")
            elif path.suffix.lower() in VIDEO_SUFFIXES:
                items.append(_Item(video=path, hold=hold))
            else:
                try:
                    still = SourceImage(read_image(path), name=path.name)
                    items.append(_Item(still=still, hold=hold))
                except ValueError as exc:
                    raise DeviceUnavailable(str(exc), device="camera") from exc
    if not items:
        raise DeviceUnavailable("nothing to play", device="camera")
    return items


def _bgr(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise DeviceUnavailable("source pictures are uint8", device="camera")
    if image.ndim == 2:
        return np.dstack([image] * 3)
    return np.ascontiguousarray(image[:, :, :3])


class SimulatedCamera(Camera):
    """The simulator. `source`: None (the default face), a picture, a video file, a folder of
    them, a numpy picture (BGR), a `SourceImage`, or a list of any of these (played in
    order, looping); or a live `Scene`. `hold`: how many frames each still stays on screen."""

    def __init__(
        self,
        source: SourceItem | Iterable[SourceItem] | None = None,
        *,
        resolution: tuple[int, int] = (640, 480),
        fps: float = 15.0,
        faults: SimFaults | None = None,
        schedule: dict[int, dict[str, Any]] | None = None,
        hold: int = 1,
        realtime: bool = True,
        reconnect: ReconnectPolicy | None = None,
        on_health: HealthCallback | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self._source = source
        self.resolution = (int(resolution[0]), int(resolution[1]))
        self._fps = float(fps)
        self.faults = faults or SimFaults()
        self.schedule = dict(schedule or {})
        self.hold = hold
        self.realtime = realtime
        self.policy = reconnect or ReconnectPolicy()
        self.on_health = on_health
        self._real_clock = clock
        self._real_sleep = sleep
        self._lock = threading.Lock()
        self._closed_event = threading.Event()
        self._state = CameraState.CLOSED
        self._info: CameraInfo | None = None
        self._items: list[_Item] = []
        self._player: Any = None
        self._seq = -1
        self._t0 = 0.0
        self._vnow = 0.0
        self._lost_at: float | None = None
        self._last_frame_t: float | None = None
        self._reconnects = 0
        self._last_error: str | None = None
        self._meter = RateMeter()
        self._applied: set[int] = set()
        self._replugged_at: int | None = None

    # -- time -------------------------------------------------------------------------

    def clock(self) -> float:
        return self._real_clock() if self.realtime else self._vnow

    def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        if not self.realtime:
            self._vnow += seconds
        elif self._real_sleep is time.sleep:
            self._closed_event.wait(seconds)  # close() wakes a waiting read
        else:
            self._real_sleep(seconds)

    @property
    def target_fps(self) -> float:
        return self._fps

    def present(self, source: SourceItem | Iterable[SourceItem] | None) -> None:
        """What stands in front of the camera from its next `open` on (a resident holding
        up a card, then their face); same forms as the constructor's `source`."""
        with self._lock:
            self._source = source

    # -- contract ---------------------------------------------------------------------

    @property
    def info(self) -> CameraInfo:
        if self._info is None:
            raise not_open(self.device)
        return self._info

    def open(self) -> CameraInfo:
        self.close()
        if self.faults.missing:
            raise DeviceUnavailable("simulated: no camera", device=self.device)
        if cv2 is None:  # pragma: no cover
            raise DeviceUnavailable("OpenCV is not installed", device=self.device, reason="library")
        items = _expand(self._source, self.hold)
        try:
            for item in items:
                item.open()
        except DeviceUnavailable:
            for item in items:
                item.close()
            raise
        self._items = items
        self._player = self._play()
        self._closed_event.clear()
        with self._lock:
            self._seq = -1
            self._applied = set()
            self._replugged_at = None
            self._t0 = self.clock()
            self._lost_at = None
            self._last_frame_t = None
            self._reconnects = 0
            self._last_error = None
            self._state = CameraState.STREAMING
        self._info = CameraInfo(
            source="simulator:" + ",".join(self._names()),
            backend="simulator",
            resolution=self.resolution,
            fps=self._fps,
            details={"realtime": self.realtime},
        )
        self._notify()
        return self._info

    def read(self, timeout: float = 1.0) -> Frame:
        if self._state is CameraState.CLOSED:
            raise not_open(self.device)
        deadline = self.clock() + max(0.0, timeout)
        while True:
            frame = self._try_frame()
            if frame is not None:
                return frame
            now = self.clock()
            if self._state is CameraState.STREAMING:
                next_due = self._t0 + (self._seq + 1) / self._fps
            else:
                next_due = now + 0.05  # poll while unplugged / silent
            if next_due > deadline:
                self.sleep(deadline - now)
                frame = self._try_frame()
                if frame is not None:
                    return frame
                raise no_frame(self.device, f"state {self._state.name.lower()}")
            self.sleep(next_due - now)

    def _try_frame(self) -> Frame | None:
        """The next frame if one is due now; raises when closed or failed."""
        if self._state is CameraState.CLOSED:
            raise DeviceCancelled("closed while reading", device=self.device)
        now = self.clock()
        blocked = self._blocked(now)
        if blocked is CameraState.FAILED:
            kind = (
                DeviceErrorKind.UNPLUGGED
                if self._last_error == _UNPLUGGED
                else DeviceErrorKind.TIMEOUT
            )
            raise DeviceError(kind, self._last_error or "no frames", device=self.device)
        if blocked is None:
            seq = self._due_seq(now)
            if seq > self._seq:
                return self._produce(seq, now)
        return None

    def health(self) -> CameraHealth:
        now = self.clock()
        if self._state is not CameraState.CLOSED:
            self._blocked(now)  # faults switched on since the last read show at once
        with self._lock:
            age = None if self._last_frame_t is None else now - self._last_frame_t
            return CameraHealth(
                ok=self._state is CameraState.STREAMING,
                state=self._state,
                frames=self._seq + 1,
                reconnects=self._reconnects,
                last_frame_age_s=age,
                measured_fps=round(self._meter.rate(now), 2),
                last_error=self._last_error,
                details={
                    "source": self._info.source if self._info else None,
                    "faults": dataclasses.asdict(self.faults),
                },
            )

    def close(self) -> None:
        was_open = self._state is not CameraState.CLOSED
        self._state = CameraState.CLOSED
        self._closed_event.set()
        for item in self._items:
            item.close()
        self._items = []
        self._player = None
        if was_open:
            self._notify()

    # -- the scene --------------------------------------------------------------------

    def _names(self) -> list[str]:
        names = []
        for item in self._items:
            if item.scene is not None:
                names.append(getattr(item.scene, "name", "scene"))
            elif item.still is not None:
                names.append(item.still.name or "picture")
            else:
                names.append(item.video.name)
        return names

    def _play(self):
        while True:
            for item in self._items:
                yield from item.frames()

    def _due_seq(self, now: float) -> int:
        if not self.realtime:
            return self._seq + 1
        return int((now - self._t0) * self._fps + 1e-9)

    def _blocked(self, now: float) -> CameraState | None:
        """None when frames flow; otherwise the state the faults put the camera in."""
        f = self.faults
        changed = False
        with self._lock:
            if f.unplug_at is not None and self._seq + 1 >= f.unplug_at and not self._replugged():
                if self._lost_at is None:
                    self._lost_at = now
                    self._last_error = _UNPLUGGED
                if f.replug_after_s is not None and now - self._lost_at >= f.replug_after_s:
                    self._lost_at = None
                    self._reconnects += 1
                    self._replugged_at = self._seq + 1
                    self._state = CameraState.STREAMING
                    changed = True
            elif f.no_frames:
                if self._lost_at is None:
                    self._lost_at = self._last_frame_t if self._last_frame_t is not None else now
                    self._last_error = _SILENT
            elif self._lost_at is not None:  # a switch was turned off
                self._lost_at = None
                self._state = CameraState.STREAMING
                changed = True
            state = None
            if self._lost_at is not None:
                spent = now - self._lost_at >= self.policy.budget_s
                new = CameraState.FAILED if spent else CameraState.RECONNECTING
                if new is not self._state:
                    self._state = new
                    changed = True
                state = new
        if changed:
            self._notify()
        if state is not None and self.realtime:
            self._t0 = now - (self._seq + 1) / self._fps  # frames resume from here
        return state

    def _replugged(self) -> bool:
        return self._replugged_at == self.faults.unplug_at

    def _produce(self, seq: int, now: float) -> Frame:
        skipped = seq - self._seq
        for k in range(self._seq + 1, seq + 1):
            changes = self.schedule.get(k)
            if changes and k not in self._applied:
                self._applied.add(k)
                for name, value in changes.items():
                    setattr(self.faults, name, value)
        src = None
        for _ in range(skipped):
            src = next(self._player)
        image = self._compose(src)
        if self.realtime:
            stamp = now
        else:
            last = self._last_frame_t
            stamp = self._vnow if last is None else max(self._vnow, last + 1.0 / self._fps)
            self._vnow = stamp
        with self._lock:
            self._seq = seq
            self._last_frame_t = stamp
            self._meter.tick(stamp)
        return Frame(image=image, seq=seq, timestamp=stamp)

    def _compose(self, src: SourceImage) -> np.ndarray:
        f = self.faults
        width, height = self.resolution
        if f.black:
            return np.zeros((height, width, 3), np.uint8)
        scene = cover(src.image, (width, height), src.crop)
        if f.two_faces:
            half = width // 2
            x0 = (width - half) // 2
            centre = scene[:, x0 : x0 + half]
            scene = np.ascontiguousarray(np.hstack([centre, centre[:, ::-1]]))
            if scene.shape[1] != width:
                scene = cv2.resize(scene, (width, height))
        if f.small_face:
            s = min(max(f.small_scale, 0.05), 1.0)
            small = cv2.resize(
                scene,
                (max(1, round(width * s)), max(1, round(height * s))),
                interpolation=cv2.INTER_AREA,
            )
            wall = np.full_like(scene, 118)
            y0 = (height - small.shape[0]) // 2
            x0 = (width - small.shape[1]) // 2
            wall[y0 : y0 + small.shape[0], x0 : x0 + small.shape[1]] = small
            scene = wall
        if f.blur > 0:
            scene = cv2.GaussianBlur(scene, (0, 0), f.blur)
        if f.gain != 1.0:
            scene = cv2.convertScaleAbs(scene, alpha=max(0.0, f.gain))
        return scene

    def _notify(self) -> None:
        if self.on_health is None:
            return
        try:
            self.on_health(self.health())
        except Exception:  # a broken callback must not stop the camera
            import logging

            logging.getLogger(__name__).exception("camera health callback failed")


__all__ = ["SimFaults", "SimulatedCamera"]
