"""The real driver for ZhianTec R30x-family fingerprint modules over a serial line (pyserial).

What it does on the wire (see `r30x_protocol` for the framing):

- `open`: finds the module's baud rate (the configured one first, then the usual ones),
  checks the handshake password (VfyPwd), reads the system parameters (ReadSysPara), then
  raises the line to the highest rate the module accepts (SetSysPara baud, answered at the
  old rate; the host follows to the new rate and checks the module answers there, else it
  goes back: some modules only apply a new rate after a power cycle).
- `capture`: polls GenImg until a finger is there or the timeout passes (no finger = a
  retry for the resident, not an error), lets the module's own feature extractor judge the
  image (Img2Tz: too few features / messy image are retries), then UpImage: the 256x288
  image arrives as 4-bit pixels in data packets, with progress reported in bytes.

The module's own templates are proprietary; extraction and matching run on the host from
the uploaded image. pyserial is optional: `is_usable()` says whether it imports, and the
driver raises `DeviceUnavailable` instead of failing at import time.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import numpy as np

from drivers.errors import (
    DeviceCancelled,
    DeviceError,
    DeviceErrorKind,
    DeviceProblem,
    DeviceRetry,
    DeviceUnavailable,
)
from drivers.fingerprint import r30x_protocol as p
from drivers.fingerprint.base import (
    Capture,
    CaptureProgress,
    CaptureStage,
    FingerprintSensor,
    Health,
    ProgressCallback,
    RetryReason,
    SensorInfo,
    not_open,
)

try:  # optional: the kiosk starts (with the simulator, or without a sensor) when it is missing
    import serial
except ImportError:  # pragma: no cover - exercised only where pyserial is absent
    serial = None

log = logging.getLogger(__name__)

#: Rates tried when looking for a module, after the configured one.
PROBE_BAUDRATES = (57600, 115200, 9600, 19200, 38400)
#: Rates the driver may raise the line to, fastest first (all N x 9600 and standard termios).
FAST_BAUDRATES = (115200, 57600, 38400, 19200, 9600)

# What using a vanished port raises: pyserial's SerialException is an OSError, but on POSIX
# a flush or a baud change can fail with termios.error, which is not.
_LINE_ERRORS: tuple[type[BaseException], ...] = (OSError, ValueError, TypeError, AttributeError)
try:
    import termios

    _LINE_ERRORS += (termios.error,)
except ImportError:  # pragma: no cover - Windows
    pass

# Confirmation codes of GenImg / Img2Tz that the resident can fix.
_RETRY_CODES = {
    p.Confirmation.NO_FINGER: RetryReason.NO_FINGER,
    p.Confirmation.IMAGE_FAIL: RetryReason.FINGER_MOVED,
    p.Confirmation.IMAGE_MESSY: RetryReason.SMUDGED,
    p.Confirmation.FEW_FEATURES: RetryReason.TOO_FEW_FEATURES,
    p.Confirmation.NO_VALID_IMAGE: RetryReason.SMUDGED,
}


def is_usable() -> bool:
    """Whether pyserial is installed (the only thing this driver needs besides numpy)."""
    return serial is not None


def image_quality(image: np.ndarray, block: int = 16) -> float:
    """A cheap device-level quality gate in 0..1: the share of blocks that hold ridges
    (enough local contrast, not blank white). Not the biometric quality of biometrics/."""
    img = np.asarray(image, dtype=np.float32)
    h, w = (img.shape[0] // block) * block, (img.shape[1] // block) * block
    if h == 0 or w == 0:
        return 0.0
    blocks = img[:h, :w].reshape(h // block, block, w // block, block).swapaxes(1, 2)
    std = blocks.std(axis=(2, 3))
    mean = blocks.mean(axis=(2, 3))
    good = (std > 20.0) & (mean < 225.0)
    return float(good.mean())


def _confirmation_name(code: int) -> str:
    try:
        return p.Confirmation(code).name
    except ValueError:
        return f"0x{code:02X}"


class R30xSensor(FingerprintSensor):
    """An R30x-family module on a serial port (`port`: a path such as /dev/ttyUSB0 or any
    pyserial URL), or on an already open pyserial-compatible `stream`."""

    model = "R30x"

    def __init__(
        self,
        port: str | None = None,
        *,
        stream: Any = None,
        baudrate: int = 57600,
        target_baudrate: int | None = 115200,
        address: int = p.DEFAULT_ADDRESS,
        password: int = 0,
        response_timeout: float = 2.0,
        poll_interval: float = 0.05,
        module_quality_check: bool = True,
    ):
        if (port is None) == (stream is None):
            raise ValueError("give exactly one of port or stream")
        self.port = port
        self._stream = stream
        self.baudrate = baudrate
        self.target_baudrate = target_baudrate
        self.address = address
        self.password = password
        self.response_timeout = response_timeout
        self.poll_interval = poll_interval
        self.module_quality_check = module_quality_check

        self._ser: Any = None
        self._info: SensorInfo | None = None
        self._params: p.SystemParameters | None = None
        self._parser = p.PacketParser()
        self._io = threading.Lock()  # one conversation on the line at a time
        self._state = threading.Lock()
        self._capturing = False
        self._cancel = threading.Event()
        self._cancel_event: threading.Event | None = None
        self._last_health = Health(False, "device_unavailable", {"reason": "not_open"})

    @classmethod
    def is_usable(cls) -> bool:
        return is_usable()

    # -- the contract ---------------------------------------------------------------------

    @property
    def info(self) -> SensorInfo:
        if self._info is None:
            raise not_open(self.device)
        return self._info

    def open(self) -> SensorInfo:
        with self._io:
            self._close_port()
            self._open_port()
            try:
                self._find_module()
                self._params = self._read_sys_para()
                if self.target_baudrate:
                    self._raise_baudrate(self.target_baudrate)
                    self._params = self._read_sys_para()
            except DeviceUnavailable:
                self._close_port()
                raise
            except DeviceProblem as exc:
                self._close_port()
                raise DeviceUnavailable(str(exc), device=self.device, reason="no_answer") from exc
            params = self._params
            self._info = SensorInfo(
                model=self.model,
                width=p.IMAGE_WIDTH,
                height=p.IMAGE_HEIGHT,
                dpi=p.IMAGE_DPI,
                details={
                    "port": self.port,
                    "baudrate": self._line_baudrate(),
                    "module_baudrate": params.baudrate,
                    "packet_size": params.packet_size,
                    "system_id": params.system_id,
                    "library_size": params.library_size,
                    "security_level": params.security_level,
                    "address": f"{params.address:08X}",
                },
            )
            self._last_health = Health(True, "device_ok", dict(self._info.details))
            return self._info

    def capture(
        self,
        *,
        timeout: float,
        progress: ProgressCallback | None = None,
        cancel_event: threading.Event | None = None,
    ) -> Capture:
        """See `FingerprintSensor.capture`. `cancel_event`, when given, cancels like
        `cancel()` without the race of a cancel sent before the capture started."""
        if self._ser is None:
            raise not_open(self.device)
        with self._state:
            self._capturing = True
            self._cancel.clear()
            self._cancel_event = cancel_event
        try:
            with self._io:
                return self._capture(timeout, progress or (lambda _p: None))
        finally:
            with self._state:
                self._capturing = False
                self._cancel.clear()
                self._cancel_event = None

    def cancel(self) -> None:
        with self._state:
            if self._capturing:
                self._cancel.set()

    def health(self) -> Health:
        if self._ser is None:
            return Health(False, "device_unavailable", {"reason": "not_open"})
        if not self._io.acquire(blocking=False):  # a capture holds the line
            return self._last_health
        try:
            params = self._read_sys_para()
            self._last_health = Health(
                True,
                "device_ok",
                {"baudrate": self._line_baudrate(), "status": params.status},
            )
        except DeviceProblem as exc:
            self._last_health = Health(False, exc.message_key, {"detail": exc.detail})
        finally:
            self._io.release()
        return self._last_health

    def close(self) -> None:
        with self._io:
            self._close_port()
            self._info = None
            self._last_health = Health(False, "device_unavailable", {"reason": "closed"})

    # -- capture --------------------------------------------------------------------------

    def _cancelled(self) -> bool:
        ev = self._cancel_event
        return self._cancel.is_set() or (ev is not None and ev.is_set())

    def _capture(self, timeout: float, progress: ProgressCallback) -> Capture:
        started = time.monotonic()
        deadline = started + timeout
        progress(CaptureProgress(CaptureStage.WAITING, 0.0))
        polls = 0
        while True:
            if self._cancelled():
                raise DeviceCancelled("while waiting for a finger", device=self.device)
            code, _ = self._transact(p.Instruction.GEN_IMG)
            polls += 1
            if code == p.Confirmation.OK:
                break
            if code != p.Confirmation.NO_FINGER:
                raise self._error_for(code, "GenImg")
            if time.monotonic() >= deadline:
                raise DeviceRetry(RetryReason.NO_FINGER, f"after {timeout:g} s", device=self.device)
            self._wait(min(self.poll_interval, max(0.0, deadline - time.monotonic())))
        if self._cancelled():
            raise DeviceCancelled("after the image was taken", device=self.device)
        progress(CaptureProgress(CaptureStage.DETECTED, 0.05))

        if self.module_quality_check:
            code, _ = self._transact(p.Instruction.IMG2TZ, b"\x01")
            if code != p.Confirmation.OK:
                raise self._error_for(code, "Img2Tz")
            if self._cancelled():
                raise DeviceCancelled("after the image was taken", device=self.device)
        progress(CaptureProgress(CaptureStage.DETECTED, 0.1))

        data = self._upload_image(progress)
        image = p.unpack_image(data)
        progress(CaptureProgress(CaptureStage.DONE, 1.0, len(data), len(data)))
        return Capture(
            image=image,
            quality=image_quality(image),
            duration_s=time.monotonic() - started,
            details={"polls": polls, "baudrate": self._line_baudrate()},
        )

    def _wait(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while not self._cancelled():
            left = end - time.monotonic()
            if left <= 0:
                return
            self._cancel.wait(min(left, 0.02))

    def _upload_image(self, progress: ProgressCallback) -> bytes:
        code, _ = self._transact(p.Instruction.UP_IMAGE)
        if code != p.Confirmation.OK:
            raise self._error_for(code, "UpImage")
        expected = p.IMAGE_UPLOAD_BYTES
        data = bytearray()
        progress(CaptureProgress(CaptureStage.TRANSFERRING, 0.1, 0, expected))
        while True:
            if self._cancelled():
                self._drain()
                raise DeviceCancelled("during the image upload", device=self.device)
            packet = self._read_packet(self.response_timeout)
            if not packet.checksum_ok:
                self._drain()
                raise DeviceError(
                    DeviceErrorKind.CHECKSUM,
                    f"data packet at byte {len(data)} of {expected}",
                    device=self.device,
                )
            if packet.pid not in (p.PacketId.DATA, p.PacketId.END_DATA):
                self._drain()
                raise DeviceError(
                    DeviceErrorKind.PROTOCOL,
                    f"packet id 0x{packet.pid:02X} inside an image upload",
                    device=self.device,
                )
            data += packet.payload
            if len(data) > expected:
                self._drain()
                raise DeviceError(
                    DeviceErrorKind.PROTOCOL,
                    f"image upload longer than {expected} bytes",
                    device=self.device,
                )
            done = len(data)
            progress(
                CaptureProgress(
                    CaptureStage.TRANSFERRING, 0.1 + 0.89 * done / expected, done, expected
                )
            )
            if packet.pid == p.PacketId.END_DATA:
                break
        if len(data) != expected:
            raise DeviceError(
                DeviceErrorKind.PROTOCOL,
                f"image upload of {len(data)} bytes, expected {expected}",
                device=self.device,
            )
        return bytes(data)

    def _drain(self) -> None:
        """Read and drop whatever the module is still sending (the rest of an upload it cannot
        be told to stop), until the end packet or a quiet line, so the next command starts
        clean."""
        try:
            while True:
                packet = self._read_packet(min(self.response_timeout, 0.5))
                if packet.pid == p.PacketId.END_DATA:
                    return
        except DeviceProblem:
            pass
        finally:
            self._parser.clear()
            self._reset_input()

    def _error_for(self, code: int, what: str) -> DeviceProblem:
        reason = _RETRY_CODES.get(code)  # type: ignore[call-overload]
        name = _confirmation_name(code)
        if reason is not None:
            return DeviceRetry(reason, f"{what}: {name}", device=self.device)
        if code == p.Confirmation.RECEIVE_ERROR:
            return DeviceError(
                DeviceErrorKind.PROTOCOL,
                f"{what}: the module got a corrupt packet",
                device=self.device,
            )
        if code == p.Confirmation.MUST_VERIFY_PASSWORD:
            return DeviceError(
                DeviceErrorKind.PROTOCOL,
                f"{what}: the module wants the password again (it was power-cycled?)",
                device=self.device,
            )
        return DeviceError(DeviceErrorKind.HARDWARE, f"{what}: {name}", device=self.device)

    # -- open: port, baud rate, password --------------------------------------------------

    def _open_port(self) -> None:
        if self._stream is not None:
            self._ser = self._stream
            if hasattr(self._ser, "timeout"):  # reads must come back to check cancel/deadlines
                self._ser.timeout = self.poll_interval
            self._set_line_baudrate(self.baudrate)
            self._reset_input()
            return
        if not is_usable():
            raise DeviceUnavailable(
                "pyserial is not installed", device=self.device, reason="no_library"
            )
        try:
            self._ser = serial.serial_for_url(
                self.port,
                baudrate=self.baudrate,
                timeout=self.poll_interval,
                write_timeout=self.response_timeout,
            )
        except _LINE_ERRORS as exc:  # SerialException is an OSError
            raise DeviceUnavailable(
                f"{self.port}: {exc}", device=self.device, reason="no_port"
            ) from exc
        self._reset_input()

    def _close_port(self) -> None:
        ser, self._ser = self._ser, None
        self._parser.clear()
        if ser is not None and ser is not self._stream:
            try:
                ser.close()
            except _LINE_ERRORS as exc:  # a port that vanished may fail to close
                log.debug("closing %s: %s", self.port, exc)

    def _find_module(self) -> None:
        rates = [self.baudrate, *(r for r in PROBE_BAUDRATES if r != self.baudrate)]
        last: DeviceProblem | None = None
        for rate in rates:
            self._set_line_baudrate(rate)
            self._reset_input()
            try:
                code, _ = self._transact(
                    p.Instruction.VFY_PWD,
                    self.password.to_bytes(4, "big"),
                    timeout=min(self.response_timeout, 1.0),
                )
            except DeviceError as exc:
                if exc.kind == DeviceErrorKind.UNPLUGGED:
                    raise DeviceUnavailable(
                        exc.detail, device=self.device, reason="no_port"
                    ) from exc
                last = exc
                continue
            if code == p.Confirmation.OK:
                log.info("R30x module answers at %d baud", rate)
                return
            if code == p.Confirmation.WRONG_PASSWORD:
                raise DeviceUnavailable(
                    "the module refuses the password", device=self.device, reason="wrong_password"
                )
            raise DeviceUnavailable(
                f"VfyPwd answered {_confirmation_name(code)}", device=self.device, reason="refused"
            )
        raise DeviceUnavailable(
            f"no R30x module answers on {self.port or 'the stream'} at {rates} baud"
            + (f" ({last.detail})" if last else ""),
            device=self.device,
            reason="no_answer",
        )

    def _raise_baudrate(self, target: int) -> None:
        current = self._line_baudrate()
        for rate in FAST_BAUDRATES:
            if rate > target or rate <= current:
                continue
            code, _ = self._transact(
                p.Instruction.SET_SYS_PARA, bytes([p.SysParam.BAUD, rate // p.BAUD_UNIT])
            )
            if code != p.Confirmation.OK:
                log.info("module refuses %d baud (%s)", rate, _confirmation_name(code))
                continue
            self._set_line_baudrate(rate)
            if self._answers():
                log.info("line raised to %d baud", rate)
                return
            # The module keeps its old rate until a power cycle (or ignores the setting).
            self._set_line_baudrate(current)
            if self._answers():
                log.info("module stays at %d baud until power-cycled", current)
                return
            raise DeviceError(
                DeviceErrorKind.TIMEOUT,
                "lost the module while changing baud rate",
                device=self.device,
            )

    def _answers(self) -> bool:
        self._reset_input()
        try:
            code, _ = self._transact(
                p.Instruction.VFY_PWD,
                self.password.to_bytes(4, "big"),
                timeout=min(self.response_timeout, 0.5),
            )
        except DeviceError as exc:
            if exc.kind == DeviceErrorKind.UNPLUGGED:
                raise
            return False
        return code == p.Confirmation.OK

    def _read_sys_para(self) -> p.SystemParameters:
        code, data = self._transact(p.Instruction.READ_SYS_PARA)
        if code != p.Confirmation.OK:
            raise self._error_for(code, "ReadSysPara")
        try:
            return p.SystemParameters.unpack(data)
        except p.FramingError as exc:
            raise DeviceError(DeviceErrorKind.PROTOCOL, str(exc), device=self.device) from exc

    # -- the line -------------------------------------------------------------------------

    def _line_baudrate(self) -> int:
        return int(getattr(self._ser, "baudrate", 0) or 0)

    def _set_line_baudrate(self, rate: int) -> None:
        try:
            self._ser.baudrate = rate
        except _LINE_ERRORS as exc:
            raise DeviceError(DeviceErrorKind.UNPLUGGED, str(exc), device=self.device) from exc

    def _reset_input(self) -> None:
        self._parser.clear()
        try:
            self._ser.reset_input_buffer()
        except _LINE_ERRORS as exc:  # the next read reports a vanished port properly
            log.debug("reset_input_buffer: %s", exc)

    def _transact(
        self, instruction: int, params: bytes = b"", timeout: float | None = None
    ) -> tuple[int, bytes]:
        """Send one command, return (confirmation code, the rest of the acknowledge)."""
        self._reset_input()  # a late answer to an earlier, timed-out command is stale now
        self._write(p.command(instruction, params, self.address))
        packet = self._read_packet(self.response_timeout if timeout is None else timeout)
        if not packet.checksum_ok:
            raise DeviceError(
                DeviceErrorKind.CHECKSUM,
                f"acknowledge of instruction 0x{instruction:02X}",
                device=self.device,
            )
        if packet.pid != p.PacketId.ACK or not packet.payload:
            raise DeviceError(
                DeviceErrorKind.PROTOCOL,
                f"expected an acknowledge of 0x{instruction:02X}, got packet id "
                f"0x{packet.pid:02X} with {len(packet.payload)} bytes",
                device=self.device,
            )
        return packet.payload[0], packet.payload[1:]

    def _write(self, data: bytes) -> None:
        try:
            self._ser.write(data)
            self._ser.flush()
        except _LINE_ERRORS as exc:
            raise self._line_error(exc, "write") from exc

    def _read_packet(self, timeout: float) -> p.Packet:
        deadline = time.monotonic() + timeout
        while True:
            try:
                packet = self._parser.pop()
            except p.FramingError as exc:
                raise DeviceError(DeviceErrorKind.PROTOCOL, str(exc), device=self.device) from exc
            if packet is not None:
                if packet.address != self.address:
                    raise DeviceError(
                        DeviceErrorKind.PROTOCOL,
                        f"answer from address {packet.address:08X}",
                        device=self.device,
                    )
                return packet
            if time.monotonic() >= deadline:
                raise DeviceError(
                    DeviceErrorKind.TIMEOUT, f"no answer within {timeout:g} s", device=self.device
                )
            try:
                waiting = getattr(self._ser, "in_waiting", 0) or 0
                chunk = self._ser.read(max(1, min(waiting, 4096)))
            except _LINE_ERRORS as exc:
                raise self._line_error(exc, "read") from exc
            if chunk:
                self._parser.push(chunk)

    def _line_error(self, exc: BaseException, what: str) -> DeviceError:
        if serial is not None and isinstance(exc, serial.SerialTimeoutException):
            return DeviceError(DeviceErrorKind.TIMEOUT, f"{what}: {exc}", device=self.device)
        # pyserial's SerialException is an OSError; a port closed under us (or a stream
        # object that lost its file) fails with ValueError / TypeError / AttributeError.
        return DeviceError(DeviceErrorKind.UNPLUGGED, f"{what}: {exc!r}", device=self.device)
