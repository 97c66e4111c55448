"""A simulated R30x-family fingerprint module that speaks the real protocol byte for byte.

It serves on a pseudo-terminal (`start()` returns its slave path, which pyserial opens like a
real /dev/ttyUSB0, so the real driver and third-party clients such as pyfingerprint run
unchanged) or on any pyserial-compatible stream (`start(stream=...)`, e.g. a real serial port
wired to another machine). Images come from a folder (cropped or padded to the 256x288
sensor at its native 500 dpi) or, on a fresh clone without evaluation data, from the
synthetic ridge generator.

Faults are switched at run time, from Python or as text commands (like libfprint's virtual
device), on `command()` or on an optional control socket:

    finger                      a finger is on the glass (the default)
    no_finger [SECONDS]         no finger for SECONDS (forever without a number)
    retry moved|smudged|few_features [COUNT]
                                the next COUNT captures fail the way a resident causes
    unplug [after=BYTES] [mode=silent|hangup]
                                now, or once BYTES of the next image upload are sent:
                                silent stops answering; hangup closes the line for good
    replug                      answer again after a silent unplug (like a power cycle)
    corrupt [COUNT] [ack|data]  the next COUNT packets (of that kind) carry a bad checksum
    slow SECONDS                the sensor takes SECONDS longer to take an image
    line_speed FACTOR|off       pace the bytes like a real line at the module's baud rate
    image INDEX|PATH            serve that image next
    reset                       clear every fault
    status                      one line of state

It also emulates the line's baud rate on a pseudo-terminal: bytes the host sends at another
rate than the module's are noise to it (no answer), as on a real wire.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import select
import shlex
import signal
import socket
import termios
import threading
import time
import tty
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, Self

import numpy as np

from drivers.eval_data import eval_data_root
from drivers.fingerprint import r30x_protocol as p
from drivers.fingerprint.synthetic import synthetic_fingerprint

log = logging.getLogger(__name__)

KEPT_IMAGES = 8
KEPT_INSTRUCTIONS = 4096
IMAGE_SUFFIXES = {".png", ".tif", ".tiff", ".bmp", ".pgm", ".jpg", ".jpeg"}

#: Retry names of the fault scripts and the confirmation codes a real module gives for them.
CAPTURE_FAULTS = {
    "moved": ("gen", p.Confirmation.IMAGE_FAIL),
    "no_finger": ("gen", p.Confirmation.NO_FINGER),
    "smudged": ("tz", p.Confirmation.IMAGE_MESSY),
    "few_features": ("tz", p.Confirmation.FEW_FEATURES),
}


# -- image sources ----------------------------------------------------------------------------


def fit_to_sensor(
    image: np.ndarray, width: int = p.IMAGE_WIDTH, height: int = p.IMAGE_HEIGHT
) -> np.ndarray:
    """Centre-crop (or pad with white) a grayscale image to the sensor's size.

    No resampling: the evaluation images are about 500 dpi like the R30x, and scaling would
    change the ridge spacing a matcher relies on.
    """
    img = np.asarray(image)
    if img.ndim == 3:
        img = img[..., :3].mean(axis=2)
    img = np.clip(img, 0, 255).astype(np.uint8)
    out = np.full((height, width), 255, dtype=np.uint8)
    h, w = img.shape
    sy, sx = max(0, (h - height) // 2), max(0, (w - width) // 2)
    crop = img[sy : sy + height, sx : sx + width]
    dy, dx = (height - crop.shape[0]) // 2, (width - crop.shape[1]) // 2
    out[dy : dy + crop.shape[0], dx : dx + crop.shape[1]] = crop
    return out


def load_image(path: str | Path) -> np.ndarray:
    from PIL import Image  # a dependency of the kiosk; only needed for folders of images

    with Image.open(path) as im:
        return np.asarray(im.convert("L"))


class ImageSource(Protocol):
    def next_image(self) -> np.ndarray:
        """The next sensor-sized uint8 image to serve."""
        ...


class SyntheticImages:
    """Synthetic fingers: finger f impression i in turn (f = 0..fingers-1, then i + 1)."""

    def __init__(self, fingers: int = 4, impressions: int = 4):
        self.items = [(f, i) for i in range(impressions) for f in range(fingers)]
        self._n = 0

    def __len__(self) -> int:
        return len(self.items)

    def image(self, index: int) -> np.ndarray:
        finger, impression = self.items[index % len(self.items)]
        return synthetic_fingerprint(finger, impression)

    def next_image(self) -> np.ndarray:
        img = self.image(self._n)
        self._n += 1
        return img

    def __repr__(self) -> str:
        return f"SyntheticImages({len(self.items)} images)"


class FolderImages:
    """Every image file under `folder` (recursively, sorted), in turn."""

    def __init__(self, folder: str | Path, pattern: str = "*"):
        self.folder = Path(folder)
        self.paths = sorted(
            f for f in self.folder.rglob(pattern) if f.suffix.lower() in IMAGE_SUFFIXES
        )
        if not self.paths:
            raise FileNotFoundError(f"no images under {self.folder}")
        self._n = 0

    def __len__(self) -> int:
        return len(self.paths)

    def image(self, index: int) -> np.ndarray:
        return fit_to_sensor(load_image(self.paths[index % len(self.paths)]))

    def next_image(self) -> np.ndarray:
        img = self.image(self._n)
        self._n += 1
        return img

    def __repr__(self) -> str:
        return f"FolderImages({self.folder}, {len(self.paths)} images)"


class ArrayImages:
    """Images given as arrays, in turn."""

    def __init__(self, images: Sequence[np.ndarray]):
        if not images:
            raise ValueError("no images")
        self.images = [fit_to_sensor(i) for i in images]
        self._n = 0

    def __len__(self) -> int:
        return len(self.images)

    def image(self, index: int) -> np.ndarray:
        return self.images[index % len(self.images)]

    def next_image(self) -> np.ndarray:
        img = self.image(self._n)
        self._n += 1
        return img


def default_images() -> ImageSource:
    """The evaluation fingers when present (`<eval data>/fingers`), else synthetic ones."""
    folder = eval_data_root() / "fingers"
    with contextlib.suppress(FileNotFoundError, OSError):
        if folder.is_dir():
            return FolderImages(folder)
    return SyntheticImages()


def as_image_source(images: Any) -> ImageSource:
    if images is None:
        return default_images()
    if isinstance(images, (str, Path)):
        return FolderImages(images)
    if isinstance(images, np.ndarray):
        return ArrayImages([images])
    if hasattr(images, "next_image"):
        return images
    return ArrayImages(list(images))


# -- links: where the bytes go ------------------------------------------------------------------

_TERMIOS_RATES = {
    getattr(termios, f"B{r}"): r
    for r in (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400)
    if hasattr(termios, f"B{r}")
}


class _Link:
    def read_some(self, timeout: float) -> bytes: ...
    def write(self, data: bytes) -> None: ...
    def host_baudrate(self) -> int | None: ...
    def set_module_baudrate(self, rate: int) -> None: ...
    def hangup(self) -> None: ...
    def close(self) -> None: ...


class _PtyLink(_Link):
    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)
        self.closed = False

    def read_some(self, timeout: float) -> bytes:
        if self.closed:
            time.sleep(timeout)
            return b""
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return b""
        try:
            return os.read(self.master, 4096)
        except OSError:  # nobody has the slave open right now
            time.sleep(timeout)
            return b""

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view and not self.closed:
            _, ready, _ = select.select([], [self.master], [], 0.5)
            if not ready:
                continue
            n = os.write(self.master, view)
            view = view[n:]

    def host_baudrate(self) -> int | None:
        """The rate the host set on its end (pyserial sets it on the slave's termios)."""
        try:
            speed = termios.tcgetattr(self.slave)[5]
        except (termios.error, OSError):
            return None
        return _TERMIOS_RATES.get(speed)

    def set_module_baudrate(self, rate: int) -> None:
        pass  # the host's rate is read back from the slave; nothing to set on a pty

    def hangup(self) -> None:
        """Close the master: the host's next read or write fails, as when USB is pulled."""
        if not self.closed:
            self.closed = True
            os.close(self.master)

    def close(self) -> None:
        self.hangup()
        with contextlib.suppress(OSError):
            os.close(self.slave)


class _StreamLink(_Link):
    """A pyserial-compatible stream (read/write/timeout/baudrate)."""

    def __init__(self, stream: Any):
        self.stream = stream
        self.closed = False

    def read_some(self, timeout: float) -> bytes:
        if self.closed:
            time.sleep(timeout)
            return b""
        if hasattr(self.stream, "timeout"):
            self.stream.timeout = timeout
        waiting = getattr(self.stream, "in_waiting", 0) or 0
        return bytes(self.stream.read(max(1, min(waiting, 4096))))

    def write(self, data: bytes) -> None:
        if not self.closed:
            self.stream.write(data)
            with contextlib.suppress(AttributeError):
                self.stream.flush()

    def host_baudrate(self) -> int | None:
        return None  # a real wire garbles a mismatch by itself

    def set_module_baudrate(self, rate: int) -> None:
        if hasattr(self.stream, "baudrate"):
            self.stream.baudrate = rate

    def hangup(self) -> None:
        if not self.closed:
            self.closed = True
            with contextlib.suppress(Exception):
                self.stream.close()

    def close(self) -> None:
        self.hangup()


# -- the module ---------------------------------------------------------------------------------


@dataclass
class _Faults:
    finger_at: float = 0.0  # monotonic time from which a finger is on the glass
    capture_codes: deque = field(default_factory=deque)  # scripted GenImg answers
    feature_codes: deque = field(default_factory=deque)  # scripted Img2Tz answers
    unplug_after: int | None = None  # image bytes before the next upload unplugs
    unplug_mode: str = "silent"
    corrupt: deque = field(default_factory=deque)  # kinds ("any", "ack", "data") to corrupt
    slow_s: float = 0.0
    line_speed: float | None = None
    next_image: np.ndarray | None = None


class R30xSimulator:
    """An R30x module: password, address, system parameters, GenImg, Img2Tz, UpImage."""

    def __init__(
        self,
        images: Any = None,
        *,
        password: int = 0,
        address: int = p.DEFAULT_ADDRESS,
        baudrate: int = 57600,
        packet_size: int = 128,
        library_size: int = 1000,
        security_level: int = 3,
        system_id: int = 0,
        supported_baudrates: Iterable[int] = tuple(n * p.BAUD_UNIT for n in range(1, 13)),
        baud_applies: str = "immediately",  # or "after_power_cycle"
        emulate_baud_mismatch: bool = True,
        control_socket: str | Path | None = None,
    ):
        if baud_applies not in ("immediately", "after_power_cycle"):
            raise ValueError(f"baud_applies: {baud_applies!r}")
        self.images = as_image_source(images)
        self.password = password
        self.address = address
        self.baudrate = baudrate  # the rate the module talks at now
        self.stored_baudrate = baudrate  # the rate it comes up with after a power cycle
        self.packet_size_code = p.PACKET_SIZES.index(packet_size)
        self.library_size = library_size
        self.security_level = security_level
        self.system_id = system_id
        self.supported_baudrates = set(supported_baudrates)
        self.baud_applies = baud_applies
        self.emulate_baud_mismatch = emulate_baud_mismatch
        self.control_socket = Path(control_socket) if control_socket else None

        self.image_buffer: np.ndarray | None = None  # 8-bit, before 4-bit upload quantising
        # The latest images taken by GenImg and instructions received, in order. Bounded: a
        # demo kiosk runs the simulator for months.
        self.served: list[np.ndarray] = []
        self.images_served = 0
        self.instructions: list[int] = []
        self.garbled_bytes = 0  # bytes received at a baud rate other than the module's

        self._faults = _Faults()
        self._lock = threading.RLock()
        self._verified = password == 0
        self._silent = False
        self._link: _Link | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._parser = p.PacketParser()
        self._control: socket.socket | None = None
        self._prefetched: np.ndarray | None = None
        self._prefetcher: threading.Thread | None = None
        self.path: str | None = None

    # -- face -----------------------------------------------------------------------------------

    def start(self, stream: Any = None) -> str | None:
        """Start serving: on a new pseudo-terminal (returns the path for pyserial), or on
        `stream` (returns None)."""
        if self._threads:
            raise RuntimeError("already started")
        self._stop.clear()
        if self._prefetched is None:
            self._prefetched = self.images.next_image()  # ready before the first GenImg
        if stream is None:
            link = _PtyLink()
            self.path = link.path
        else:
            link = _StreamLink(stream)
            link.set_module_baudrate(self.baudrate)
        self._link = link
        self._spawn(self._serve, "r30x-sim")
        if self.control_socket is not None:
            self._open_control()
        return self.path

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=2)
        self._threads.clear()
        if self._link is not None:
            self._link.close()
            self._link = None
        if self._control is not None:
            self._control.close()
            self._control = None
            with contextlib.suppress(OSError):
                self.control_socket.unlink()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- fault switches ---------------------------------------------------------------------------

    def place_finger(self) -> None:
        with self._lock:
            self._faults.finger_at = 0.0

    def no_finger(self, seconds: float = math.inf) -> None:
        """No finger on the glass for `seconds` from now (forever by default)."""
        with self._lock:
            self._faults.finger_at = time.monotonic() + seconds

    def fail_captures(self, kind: str, count: int = 1) -> None:
        """The next `count` captures fail as a resident makes them fail: "moved" (GenImg
        answers 0x03), "smudged" (Img2Tz 0x06), "few_features" (Img2Tz 0x07)."""
        stage, code = CAPTURE_FAULTS[kind]
        with self._lock:
            queue = self._faults.capture_codes if stage == "gen" else self._faults.feature_codes
            queue.extend([code] * count)

    def unplug(self, after_bytes: int | None = None, mode: str = "silent") -> None:
        """Unplug now, or once `after_bytes` image bytes of the next upload are on the line.
        "silent": stop answering (undo with `replug`); "hangup": close the line for good."""
        if mode not in ("silent", "hangup"):
            raise ValueError(f"unplug mode {mode!r}")
        with self._lock:
            self._faults.unplug_mode = mode
            if after_bytes is None:
                self._do_unplug(mode)
            else:
                self._faults.unplug_after = after_bytes

    def replug(self) -> None:
        """Answer again after a silent unplug. The module comes back as after a power cycle:
        its stored baud rate, no image, password not verified."""
        with self._lock:
            if isinstance(self._link, _PtyLink) and self._link.closed:
                raise RuntimeError("a hung-up line cannot come back; start a new simulator")
            self._silent = False
            self._faults.unplug_after = None
            self.power_cycle()

    def power_cycle(self) -> None:
        with self._lock:
            self.baudrate = self.stored_baudrate
            if self._link is not None:
                self._link.set_module_baudrate(self.baudrate)
            self.image_buffer = None
            self._verified = self.password == 0
            self._parser.clear()

    def corrupt_checksum(self, count: int = 1, kind: str = "any") -> None:
        """The next `count` packets the module sends (of `kind`: any, ack, data) carry a wrong
        checksum."""
        if kind not in ("any", "ack", "data"):
            raise ValueError(f"packet kind {kind!r}")
        with self._lock:
            self._faults.corrupt.extend([kind] * count)

    def slow_sensor(self, seconds: float) -> None:
        """Each GenImg (and Img2Tz) takes `seconds` longer to answer (0 = normal)."""
        with self._lock:
            self._faults.slow_s = max(0.0, seconds)

    def line_speed(self, factor: float | None) -> None:
        """Pace outgoing bytes like the module's baud rate (10 bits a byte) times `factor`
        (1.0 = real time); None = as fast as the host reads."""
        with self._lock:
            self._faults.line_speed = factor

    def serve_next(self, image: np.ndarray | int | str | Path) -> None:
        """The next GenImg takes this image (an array, an index into the source, or a path)."""
        if isinstance(image, int):
            img = self.images.image(image)  # type: ignore[attr-defined]
        elif isinstance(image, (str, Path)):
            img = fit_to_sensor(load_image(image))
        else:
            img = fit_to_sensor(image)
        with self._lock:
            self._faults.next_image = img

    def reset_faults(self) -> None:
        with self._lock:
            self._faults = _Faults()
            self._silent = False

    def status(self) -> dict[str, Any]:
        with self._lock:
            f = self._faults
            now = time.monotonic()
            return {
                "path": self.path,
                "baudrate": self.baudrate,
                "finger": f.finger_at <= now,
                "no_finger_s": max(0.0, f.finger_at - now),
                "unplugged": self._silent or bool(getattr(self._link, "closed", False)),
                "scripted": len(f.capture_codes) + len(f.feature_codes),
                "corrupt": len(f.corrupt),
                "slow_s": f.slow_s,
                "images_served": self.images_served,
            }

    def command(self, line: str) -> str:
        """Run one text command (see the module docstring); returns "ok ..." or "error ..."."""
        try:
            words = shlex.split(line)
        except ValueError as exc:
            return f"error {exc}"
        if not words:
            return "error empty command"
        verb, args = words[0].lower(), words[1:]
        opts = dict(a.split("=", 1) for a in args if "=" in a)
        plain = [a for a in args if "=" not in a]
        try:
            if verb == "finger":
                self.place_finger()
            elif verb == "no_finger":
                self.no_finger(float(plain[0]) if plain else math.inf)
            elif verb == "retry":
                self.fail_captures(plain[0], int(plain[1]) if len(plain) > 1 else 1)
            elif verb == "unplug":
                after = opts.get("after")
                self.unplug(int(after) if after else None, opts.get("mode", "silent"))
            elif verb == "replug":
                self.replug()
            elif verb == "corrupt":
                count = int(plain[0]) if plain and plain[0].isdigit() else 1
                kinds = [a for a in plain if not a.isdigit()]
                self.corrupt_checksum(count, kinds[0] if kinds else "any")
            elif verb == "slow":
                self.slow_sensor(float(plain[0]))
            elif verb == "line_speed":
                self.line_speed(None if plain[0] == "off" else float(plain[0]))
            elif verb == "image":
                self.serve_next(int(plain[0]) if plain[0].isdigit() else plain[0])
            elif verb == "reset":
                self.reset_faults()
            elif verb == "status":
                return "ok " + " ".join(f"{k}={v}" for k, v in self.status().items())
            else:
                return f"error unknown command {verb!r}"
        except (
            IndexError,
            KeyError,
            ValueError,
            TypeError,
            AttributeError,
            OSError,
            RuntimeError,
        ) as exc:
            return f"error {verb}: {exc!r}"
        return "ok"

    # -- serving ----------------------------------------------------------------------------------

    def _spawn(self, target: Any, name: str) -> None:
        t = threading.Thread(target=target, name=name, daemon=True)
        t.start()
        self._threads.append(t)

    def _serve(self) -> None:
        while not self._stop.is_set():
            link = self._link
            if link is None:
                return
            try:
                data = link.read_some(0.02)
            except (OSError, ValueError) as exc:  # the stream failed: nothing more to serve
                log.debug("simulator link read: %s", exc)
                return
            if not data:
                continue
            with self._lock:
                if self._silent:
                    continue
                host = link.host_baudrate() if self.emulate_baud_mismatch else None
                if host is not None and host != self.baudrate:
                    self.garbled_bytes += len(data)
                    self._parser.clear()
                    continue
            try:
                packets = self._parser.feed(data)
            except p.FramingError:
                self._parser.clear()
                continue
            for packet in packets:
                try:
                    self._handle(packet)
                except OSError as exc:  # the host went away mid-answer
                    log.debug("simulator write: %s", exc)

    def _handle(self, packet: p.Packet) -> None:
        if packet.address != self.address or packet.pid != p.PacketId.COMMAND:
            return  # not for this module / not a command: a real module ignores it
        if not packet.checksum_ok or not packet.payload:
            self._ack(p.Confirmation.RECEIVE_ERROR)
            return
        ins, params = packet.payload[0], packet.payload[1:]
        self.instructions.append(ins)
        if len(self.instructions) > KEPT_INSTRUCTIONS:
            del self.instructions[: KEPT_INSTRUCTIONS // 2]
        if not self._verified and ins != p.Instruction.VFY_PWD:
            self._ack(p.Confirmation.MUST_VERIFY_PASSWORD)
            return
        handler = {
            p.Instruction.VFY_PWD: self._vfy_pwd,
            p.Instruction.READ_SYS_PARA: self._read_sys_para,
            p.Instruction.SET_SYS_PARA: self._set_sys_para,
            p.Instruction.GEN_IMG: self._gen_img,
            p.Instruction.IMG2TZ: self._img2tz,
            p.Instruction.UP_IMAGE: self._up_image,
            p.Instruction.TEMPLATE_NUM: lambda _params: self._ack(p.Confirmation.OK, b"\0\0"),
        }.get(ins)
        if handler is None:
            self._ack(p.Confirmation.RECEIVE_ERROR)
            return
        handler(params)

    def _vfy_pwd(self, params: bytes) -> None:
        if len(params) != 4:
            self._ack(p.Confirmation.RECEIVE_ERROR)
        elif int.from_bytes(params, "big") == self.password:
            self._verified = True
            self._ack(p.Confirmation.OK)
        else:
            self._ack(p.Confirmation.WRONG_PASSWORD)

    def _sys_params(self) -> p.SystemParameters:
        status = 0x04 if self._verified else 0
        if self.image_buffer is not None:
            status |= 0x08
        return p.SystemParameters(
            status=status,
            system_id=self.system_id,
            library_size=self.library_size,
            security_level=self.security_level,
            address=self.address,
            packet_size_code=self.packet_size_code,
            baud_n=self.baudrate // p.BAUD_UNIT,
        )

    def _read_sys_para(self, _params: bytes) -> None:
        self._ack(p.Confirmation.OK, self._sys_params().pack())

    def _set_sys_para(self, params: bytes) -> None:
        if len(params) != 2:
            self._ack(p.Confirmation.RECEIVE_ERROR)
            return
        number, value = params
        if number == p.SysParam.BAUD and value * p.BAUD_UNIT in self.supported_baudrates:
            with self._lock:
                old = self.baudrate
                self.stored_baudrate = value * p.BAUD_UNIT
                if self.baud_applies == "immediately":
                    self.baudrate = self.stored_baudrate
            # Answered at the old rate; the module listens at the new one from then on.
            if self._link is not None:
                self._link.set_module_baudrate(old)
            self._ack(p.Confirmation.OK)
            with self._lock:
                if self._link is not None:
                    self._link.set_module_baudrate(self.baudrate)
        elif number == p.SysParam.SECURITY_LEVEL and 1 <= value <= 5:
            self.security_level = value
            self._ack(p.Confirmation.OK)
        elif number == p.SysParam.PACKET_SIZE and 0 <= value <= 3:
            self.packet_size_code = value
            self._ack(p.Confirmation.OK)
        else:
            self._ack(p.Confirmation.INVALID_REGISTER)

    def _sleep(self, seconds: float) -> None:
        self._stop.wait(seconds)

    def _gen_img(self, _params: bytes) -> None:
        with self._lock:
            slow = self._faults.slow_s
        self._sleep(slow)
        with self._lock:
            f = self._faults
            if f.capture_codes:
                code = f.capture_codes.popleft()
                if code == p.Confirmation.IMAGE_FAIL:
                    self.image_buffer = None
            elif time.monotonic() < f.finger_at:
                code = p.Confirmation.NO_FINGER
            else:
                img = f.next_image if f.next_image is not None else self._take_image()
                f.next_image = None
                self.image_buffer = img
                self.served.append(img)
                self.images_served += 1
                if len(self.served) > KEPT_IMAGES:
                    del self.served[0]
                code = p.Confirmation.OK
        self._ack(code)

    def _take_image(self) -> np.ndarray:
        """The next image of the source, made ahead of time (a synthetic one takes a few
        tenths of a second, longer than a host waits for GenImg)."""
        if self._prefetcher is not None:
            self._prefetcher.join()
        img, self._prefetched = self._prefetched, None
        if img is None:
            img = self.images.next_image()
        self._prefetch()
        return img

    def _prefetch(self) -> None:
        def run() -> None:
            self._prefetched = self.images.next_image()

        self._prefetcher = threading.Thread(target=run, name="r30x-sim-images", daemon=True)
        self._prefetcher.start()

    def _img2tz(self, params: bytes) -> None:
        if len(params) != 1 or params[0] not in (1, 2):
            self._ack(p.Confirmation.RECEIVE_ERROR)
            return
        with self._lock:
            slow = self._faults.slow_s
        self._sleep(slow / 2)
        with self._lock:
            if self.image_buffer is None:
                code = p.Confirmation.NO_VALID_IMAGE
            elif self._faults.feature_codes:
                code = self._faults.feature_codes.popleft()
            elif _ridge_coverage(self.image_buffer) < 0.15:
                code = p.Confirmation.FEW_FEATURES
            else:
                code = p.Confirmation.OK
        self._ack(code)

    def _up_image(self, _params: bytes) -> None:
        with self._lock:
            img = self.image_buffer
        if img is None:
            self._ack(p.Confirmation.UPLOAD_IMAGE_FAIL)
            return
        self._ack(p.Confirmation.OK)
        data = p.pack_image(img)
        size = p.PACKET_SIZES[self.packet_size_code]
        sent = 0
        for start in range(0, len(data), size):
            chunk = data[start : start + size]
            pid = p.PacketId.END_DATA if start + size >= len(data) else p.PacketId.DATA
            packet = p.encode_packet(pid, chunk, self.address)
            with self._lock:
                after = self._faults.unplug_after
                if after is not None and sent + len(chunk) > after:
                    # the cable goes with this packet partly on the line
                    self._faults.unplug_after = None
                    head = packet[: p.HEADER_SIZE + max(0, after - sent)]
                    self._do_unplug(self._faults.unplug_mode, partial=head)
                    return
                if self._silent or self._stop.is_set():
                    return
            self._send(packet, "data")
            sent += len(chunk)

    # -- output -----------------------------------------------------------------------------------

    def _ack(self, code: int, extra: bytes = b"") -> None:
        self._send(p.encode_packet(p.PacketId.ACK, bytes([code]) + extra, self.address), "ack")

    def _send(self, packet: bytes, kind: str) -> None:
        with self._lock:
            if self._silent or self._link is None:
                return
            corrupt = self._faults.corrupt
            if corrupt and corrupt[0] in ("any", kind):
                corrupt.popleft()
                packet = packet[:-1] + bytes([packet[-1] ^ 0x5A])
            pace = self._faults.line_speed
            link, rate = self._link, self.baudrate
        if pace:
            for i in range(0, len(packet), 32):
                piece = packet[i : i + 32]
                link.write(piece)
                self._sleep(len(piece) * 10 / rate * pace)
        else:
            link.write(packet)

    def _do_unplug(self, mode: str, partial: bytes = b"") -> None:
        with self._lock:
            link = self._link
            if partial and link is not None and not self._silent:
                link.write(partial)
            if mode == "hangup" and link is not None:
                link.hangup()
            self._silent = True

    # -- control socket ---------------------------------------------------------------------------

    def _open_control(self) -> None:
        path = self.control_socket
        assert path is not None
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(str(path))
        srv.listen(4)
        srv.settimeout(0.2)
        self._control = srv
        self._spawn(self._control_loop, "r30x-sim-control")

    def _control_loop(self) -> None:
        srv = self._control
        while srv is not None and not self._stop.is_set():
            try:
                conn, _ = srv.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                self._control_session(conn)

    def _control_session(self, conn: socket.socket) -> None:
        conn.settimeout(0.2)
        buf = b""
        while not self._stop.is_set():
            try:
                chunk = conn.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            if not chunk:
                return
            buf += chunk
            while b"\n" in buf:
                raw, buf = buf.split(b"\n", 1)
                line = raw.decode("utf-8", "replace").strip()
                if line:
                    try:
                        conn.sendall((self.command(line) + "\n").encode())
                    except OSError:
                        return


def _ridge_coverage(image: np.ndarray, block: int = 16) -> float:
    img = np.asarray(image, dtype=np.float32)
    h, w = (img.shape[0] // block) * block, (img.shape[1] // block) * block
    blocks = img[:h, :w].reshape(h // block, block, w // block, block).swapaxes(1, 2)
    return float((blocks.std(axis=(2, 3)) > 20.0).mean())


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m drivers.fingerprint.simulator [--images DIR] [--control SOCKET]`: serve until
    interrupted, printing the port path for `kiosk run --fingerprint PATH`."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m drivers.fingerprint.simulator")
    ap.add_argument(
        "--images", help="folder of fingerprint images (default: eval data or synthetic)"
    )
    ap.add_argument("--control", help="unix socket for fault commands (see the module doc)")
    ap.add_argument("--baudrate", type=int, default=57600)
    ap.add_argument(
        "--line-speed",
        type=float,
        default=None,
        help="pace bytes like a real line (1.0 = real time)",
    )
    args = ap.parse_args(argv)
    sim = R30xSimulator(args.images, baudrate=args.baudrate, control_socket=args.control)
    sim.line_speed(args.line_speed)
    path = sim.start()
    print(f"R30x simulator on {path} ({sim.images!r})", flush=True)
    if args.control:
        print(f"control: {args.control}", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
