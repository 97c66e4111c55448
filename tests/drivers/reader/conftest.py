"""Readers under the contract: the simulator (virtual and real time), the keyboard-wedge
reader fed a scanner's key events, and the camera QR reader on a simulated camera whose
scene the test changes (a QR code held up, taken away)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import cv2
import numpy as np
import pytest

from drivers.camera.simulator import SimulatedCamera
from drivers.camera.sources import SourceImage, SourceMissing, cover, default_face
from drivers.printer.render import qr_matrix
from drivers.reader.base import Reader
from drivers.reader.camera_qr import CameraQrReader
from drivers.reader.simulator import SimulatedReader
from drivers.reader.wedge import WedgeReader

SIZE = (1280, 720)


def background(size=SIZE) -> np.ndarray:
    """A kiosk camera's view: the default face if scikit-image is installed, else a
    textured card (the detector must ignore a face, a collar, hair)."""
    try:
        src = default_face()
        return cover(src.image, size, src.crop)
    except SourceMissing:
        w, h = size
        rng = np.random.default_rng(7)
        noise = (rng.random((h, w, 3)) * 120 + 60).astype(np.uint8)
        return cv2.GaussianBlur(noise, (0, 0), 2)


def qr_picture(text: str, module_px: float = 4.0) -> np.ndarray:
    """The QR code of `text` as a camera would see it: a grey picture of `module_px` pixels
    per module (fractions allowed), drawn sharp at 10 pixels per module and scaled down with
    area averaging, so module edges blur as they do through a lens."""
    symbol = np.where(qr_matrix(text), 0, 255).astype(np.uint8)
    sharp = np.repeat(np.repeat(symbol, 10, axis=0), 10, axis=1)
    side = round(symbol.shape[0] * module_px)
    return cv2.resize(sharp, (side, side), interpolation=cv2.INTER_AREA)


def place(
    picture: np.ndarray,
    *,
    centre: tuple[float, float] = (0.5, 0.45),
    angle: float = 7.0,
    scene: np.ndarray | None = None,
) -> np.ndarray:
    """`picture` (grey) rotated by `angle` degrees and pasted into a 1280x720 scene with its
    centre at `centre` (fractions of the width and height)."""
    scene = background() if scene is None else scene.copy()
    h, w = scene.shape[:2]
    ph, pw = picture.shape[:2]
    matrix = cv2.getRotationMatrix2D((pw / 2, ph / 2), angle, 1.0)
    matrix[0, 2] += centre[0] * w - pw / 2
    matrix[1, 2] += centre[1] * h - ph / 2
    bgr = cv2.cvtColor(picture, cv2.COLOR_GRAY2BGR)
    # A card or a phone screen: the code's white quiet zone, pasted over the scene.
    mask = cv2.warpAffine(np.full((ph, pw), 255, np.uint8), matrix, (w, h))
    warped = cv2.warpAffine(bgr, matrix, (w, h), flags=cv2.INTER_LINEAR)
    scene[mask > 127] = warped[mask > 127]
    return scene


def damaged(picture: np.ndarray) -> np.ndarray:
    """The code with its middle painted over: found by its finder patterns, never decoded."""
    out = picture.copy()
    n = out.shape[0]
    out[int(n * 0.3) : int(n * 0.72), int(n * 0.3) : int(n * 0.72)] = 255
    return out


class Stage:
    """What a simulated camera sees, changeable while it runs: the camera plays one still
    picture, and `show` repaints that picture in place."""

    def __init__(self, size=SIZE):
        self.empty = background(size)
        self.buffer = self.empty.copy()
        self.source = SourceImage(self.buffer, name="stage")

    def show(self, scene: np.ndarray) -> None:
        self.buffer[:] = scene

    def hold_up(self, text: str, **kw) -> None:
        self.show(place(qr_picture(text), scene=self.empty, **kw))

    def clear(self) -> None:
        self.buffer[:] = self.empty


def type_burst(reader: WedgeReader, text: str, *, gap: float = 0.004, end: str = "enter"):
    """What a USB scanner does: every character a few milliseconds apart, then Enter."""
    t = reader.clock()
    for ch in text:
        reader.feed(ch, t)
        t += gap
    if end:
        reader.feed(end, t)


@dataclass
class Rig:
    """A reader and how to make things happen in front of it."""

    reader: Reader
    scan: callable  # scan(text): a resident scans `text`
    unreadable: callable  # unreadable(): a scan the reader cannot read
    blocks: bool  # read waits in real time (cancel/close from another thread apply)
    keeps_scans: bool  # scans made between reads are kept for the next read
    extra: dict = field(default_factory=dict)


KINDS = ["simulator", "simulator-realtime", "wedge", "camera", "camera-realtime"]


@pytest.fixture(params=KINDS)
def rig(request):
    kind = request.param
    made: list[Reader] = []
    if kind.startswith("simulator"):
        realtime = kind.endswith("realtime")
        reader = SimulatedReader(realtime=realtime)

        def sim_unreadable():
            reader.faults.unreadable = True
            reader.scan("JMEC1.anything")

        r = Rig(reader, reader.scan, sim_unreadable, realtime, True)
        r.extra["after_unreadable"] = lambda: setattr(reader.faults, "unreadable", False)
    elif kind == "wedge":
        reader = WedgeReader()
        r = Rig(
            reader,
            lambda text: type_burst(reader, text),
            lambda: type_burst(reader, "JMEC1.cut-off-scan", end=""),
            True,
            True,
        )
        r.extra["after_unreadable"] = lambda: None
    else:
        stage = Stage()
        realtime = kind.endswith("realtime")
        camera = SimulatedCamera(stage.source, resolution=SIZE, fps=15, realtime=realtime)
        reader = CameraQrReader(camera, unreadable_after_s=0.5)
        r = Rig(
            reader,
            lambda text: stage.hold_up(text),
            lambda: stage.show(place(damaged(qr_picture("JMEC1." + "B" * 200)), scene=stage.empty)),
            realtime,
            False,
        )
        r.extra["after_unreadable"] = stage.clear
        r.extra["stage"] = stage
    made.append(reader)
    r.extra["kind"] = kind
    yield r
    for rd in made:
        rd.close()


def in_thread(fn, *args):
    """Runs fn(*args) on a thread; returns (thread, box) where box gets "result" or "error"."""
    box: dict = {}

    def run():
        try:
            box["result"] = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            box["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, box


def wait_until(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False
