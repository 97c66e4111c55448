"""The ZhianTec R30x-family serial protocol (R305, R307, R503, ZFM-20/60, AS608 ...): framing,
instruction and confirmation codes, system parameters and the image upload format.

One definition, used by the driver (`r30x.py`) and the simulator (`simulator.py`); the
simulator is checked byte for byte against a third-party client (pyfingerprint) so that the
two cannot drift together unnoticed.

A packet on the line (all multi-byte fields big-endian)::

    EF 01 | address (4) | packet id (1) | length (2) | payload (length - 2) | checksum (2)

`length` counts the payload plus the checksum; the checksum is the low 16 bits of the sum of
the packet id, both length bytes and every payload byte. The host sends command packets
(id 0x01: instruction code + parameters); the module answers with an acknowledge packet
(id 0x07: confirmation code + results), and for uploads follows it with data packets
(id 0x02) and one end-of-data packet (id 0x08), each carrying `packet size` bytes (32, 64,
128 or 256, a system parameter).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

START_CODE = b"\xef\x01"
HEADER_SIZE = 9  # start code, address, packet id, length
DEFAULT_ADDRESS = 0xFFFFFFFF
MAX_LENGTH = 256 + 2 + 64  # the largest data packet plus checksum, with some slack

IMAGE_WIDTH = 256
IMAGE_HEIGHT = 288
IMAGE_DPI = 500
IMAGE_UPLOAD_BYTES = IMAGE_WIDTH * IMAGE_HEIGHT // 2  # 4 bits a pixel, two pixels a byte

BAUD_UNIT = 9600  # SetSysPara baud parameter N means N x 9600 baud, N in 1..12
PACKET_SIZES = (32, 64, 128, 256)  # SetSysPara packet size parameter 0..3


class PacketId(IntEnum):
    COMMAND = 0x01
    DATA = 0x02
    ACK = 0x07
    END_DATA = 0x08


class Instruction(IntEnum):
    GEN_IMG = 0x01  # take an image of the finger into the image buffer
    IMG2TZ = 0x02  # extract features of the image buffer into char buffer 1 or 2
    UP_IMAGE = 0x0A  # upload the image buffer to the host
    SET_SYS_PARA = 0x0E  # set one system parameter (baud, security level, packet size)
    READ_SYS_PARA = 0x0F  # read the 16 bytes of system parameters
    VFY_PWD = 0x13  # verify the 4-byte handshake password
    TEMPLATE_NUM = 0x1D  # number of templates stored in the module's library


class Confirmation(IntEnum):
    OK = 0x00
    RECEIVE_ERROR = 0x01  # the module received a corrupt packet
    NO_FINGER = 0x02
    IMAGE_FAIL = 0x03  # failed to take the image (finger moved or lifted)
    IMAGE_MESSY = 0x06  # image too disorderly to extract features
    FEW_FEATURES = 0x07  # too few feature points
    UPLOAD_IMAGE_FAIL = 0x0F
    WRONG_PASSWORD = 0x13
    NO_VALID_IMAGE = 0x15  # no valid primary image in the image buffer
    FLASH_ERROR = 0x18
    INVALID_REGISTER = 0x1A
    WRONG_ADDRESS = 0x20
    MUST_VERIFY_PASSWORD = 0x21


class SysParam(IntEnum):
    """Parameter numbers of SetSysPara."""

    BAUD = 4
    SECURITY_LEVEL = 5
    PACKET_SIZE = 6


class FramingError(ValueError):
    """Bytes that cannot be a packet (a length out of range)."""


@dataclass(frozen=True)
class Packet:
    pid: int
    payload: bytes
    address: int = DEFAULT_ADDRESS
    checksum_ok: bool = True

    def encode(self) -> bytes:
        return encode_packet(self.pid, self.payload, self.address)


def checksum(pid: int, payload: bytes) -> int:
    length = len(payload) + 2
    return (pid + (length >> 8) + (length & 0xFF) + sum(payload)) & 0xFFFF


def encode_packet(pid: int, payload: bytes, address: int = DEFAULT_ADDRESS) -> bytes:
    length = len(payload) + 2
    if length > 0xFFFF:
        raise ValueError("payload too long for one packet")
    head = START_CODE + struct.pack(">IBH", address, pid, length)
    return head + bytes(payload) + struct.pack(">H", checksum(pid, payload))


def command(instruction: int, params: bytes = b"", address: int = DEFAULT_ADDRESS) -> bytes:
    return encode_packet(PacketId.COMMAND, bytes([instruction]) + params, address)


class PacketParser:
    """Incremental parser: `feed` bytes as they arrive, get whole packets out.

    Bytes before a start code are skipped (a module may send a 0x55 "ready" byte at power-on,
    a line at the wrong baud rate produces noise) and counted in `skipped`. A packet with a
    wrong checksum is still returned, with `checksum_ok` False, so the caller decides. An
    impossible length raises `FramingError` after dropping that start code, so parsing
    can resume.
    """

    def __init__(self, max_length: int = MAX_LENGTH):
        self._buf = bytearray()
        self.max_length = max_length
        self.skipped = 0

    def pending(self) -> int:
        return len(self._buf)

    def clear(self) -> None:
        self._buf.clear()

    def feed(self, data: bytes = b"") -> list[Packet]:
        """Add `data`, return every whole packet now complete."""
        self.push(data)
        out: list[Packet] = []
        while (packet := self.pop()) is not None:
            out.append(packet)
        return out

    def push(self, data: bytes) -> None:
        self._buf += data

    def pop(self) -> Packet | None:
        """The next whole packet, or None until more bytes arrive."""
        buf = self._buf
        start = buf.find(START_CODE)
        if start < 0:
            keep = 1 if buf.endswith(START_CODE[:1]) else 0
            self.skipped += len(buf) - keep
            del buf[: len(buf) - keep]
            return None
        if start:
            self.skipped += start
            del buf[:start]
        if len(buf) < HEADER_SIZE:
            return None
        address, pid, length = struct.unpack(">IBH", buf[2:HEADER_SIZE])
        if length < 2 or length > self.max_length:
            del buf[:2]
            self.skipped += 2
            raise FramingError(f"impossible packet length {length}")
        end = HEADER_SIZE + length
        if len(buf) < end:
            return None
        payload = bytes(buf[HEADER_SIZE : end - 2])
        (received,) = struct.unpack(">H", buf[end - 2 : end])
        del buf[:end]
        return Packet(pid, payload, address, received == checksum(pid, payload))


@dataclass(frozen=True)
class SystemParameters:
    """The 16 bytes ReadSysPara answers with (after its confirmation code)."""

    status: int = 0  # bit 0 busy, 1 matched, 2 password verified, 3 valid image in buffer
    system_id: int = 0
    library_size: int = 1000
    security_level: int = 3
    address: int = DEFAULT_ADDRESS
    packet_size_code: int = 2  # 0..3 -> 32, 64, 128, 256 bytes
    baud_n: int = 6  # N x 9600 baud

    SIZE = 16

    @property
    def packet_size(self) -> int:
        return PACKET_SIZES[self.packet_size_code & 3]

    @property
    def baudrate(self) -> int:
        return self.baud_n * BAUD_UNIT

    def pack(self) -> bytes:
        return struct.pack(
            ">HHHHIHH",
            self.status,
            self.system_id,
            self.library_size,
            self.security_level,
            self.address,
            self.packet_size_code,
            self.baud_n,
        )

    @classmethod
    def unpack(cls, data: bytes) -> SystemParameters:
        if len(data) < cls.SIZE:
            raise FramingError(f"system parameters need {cls.SIZE} bytes, got {len(data)}")
        fields = struct.unpack(">HHHHIHH", bytes(data[: cls.SIZE]))
        return cls(*fields)


def quantise(image: np.ndarray) -> np.ndarray:
    """What a 4-bit upload makes of an 8-bit image: each pixel to its top nibble, times 17."""
    return ((np.asarray(image, dtype=np.uint8) >> 4) * 17).astype(np.uint8)


def pack_image(image: np.ndarray) -> bytes:
    """The upload form of an 8-bit image: 4 bits a pixel, the left pixel in the high nibble,
    rows top to bottom."""
    img = np.asarray(image, dtype=np.uint8)
    if img.ndim != 2 or img.shape[1] % 2:
        raise ValueError(f"need a 2-D image of even width, got shape {img.shape}")
    nibbles = img >> 4
    return ((nibbles[:, 0::2] << 4) | nibbles[:, 1::2]).astype(np.uint8).tobytes()


def unpack_image(data: bytes, width: int = IMAGE_WIDTH, height: int = IMAGE_HEIGHT) -> np.ndarray:
    """The 8-bit image of an upload (each 4-bit value times 17, so 0xF -> 255)."""
    if len(data) != width * height // 2:
        raise ValueError(f"an image of {width}x{height} takes {width * height // 2} bytes")
    packed = np.frombuffer(data, dtype=np.uint8).reshape(height, width // 2)
    out = np.empty((height, width), dtype=np.uint8)
    out[:, 0::2] = (packed >> 4) * 17
    out[:, 1::2] = (packed & 0x0F) * 17
    return out
