"""ISO/IEC 19794-2:2005 finger minutiae records ("FMR\\0" " 20\\0"): read and write.

The bureau's enrolled references are such records. Layout (big-endian)::

    record header, 24 bytes
      0  4  format identifier  "FMR\\0"
      4  4  version            " 20\\0"
      8  4  record length      the whole record, header included
     12  2  capture equipment  4 bits compliance, 12 bits equipment id
     14  2  image width (px)   16  2  image height (px)
     18  2  x resolution (px/cm)  20  2  y resolution (px/cm)
     22  1  number of finger views
     23  1  reserved (0)
    per finger view
      0  1  finger position (0 unknown, 1..10)
      1  1  view number (high 4 bits), impression type (low 4 bits)
      2  1  finger quality (0..100)
      3  1  number of minutiae
      then 6 bytes a minutia:
      0  2  type (2 high bits: 0 other, 1 ridge ending, 2 bifurcation), x (14 bits)
      2  2  reserved (2 high bits), y (14 bits)
      4  1  angle in units of 360/256 degrees, counter-clockwise from the x axis
      5  1  quality (0..100; 0 = not reported)
      then the extended data block: its length (2 bytes, 0 = none), then areas of
      type code (2), data length (2), data.

`parse` keeps every field (reserved bits included), so `to_bytes` of a parsed record gives
the same bytes back. Anything truncated or inconsistent raises `ISORecordError` (a
ValueError) saying what and where; no other exception escapes `parse`.

Coordinates are in the record's own pixel frame (`width` x `height` at `x_resolution` px/cm);
a record's image size need not be the real image's (SDKs often resample), so matching must
not rely on absolute positions.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path

FORMAT_ID = b"FMR\x00"
VERSION = b" 20\x00"
HEADER_SIZE = 24
VIEW_HEADER_SIZE = 4
MINUTIA_SIZE = 6
ANGLE_UNIT_DEG = 360.0 / 256.0


class ISORecordError(ValueError):
    """A byte string that is not a valid ISO/IEC 19794-2:2005 record; `offset` says where."""

    def __init__(self, message: str, offset: int | None = None):
        self.offset = offset
        super().__init__(message if offset is None else f"{message} (at byte {offset})")


class MinutiaType(IntEnum):
    OTHER = 0
    RIDGE_ENDING = 1
    BIFURCATION = 2


@dataclass(frozen=True)
class Minutia:
    x: int
    y: int
    angle: int  # 0..255, units of 360/256 degrees
    type: int = MinutiaType.RIDGE_ENDING
    quality: int = 0
    reserved: int = 0  # the 2 reserved bits above y (0 in valid records)

    @property
    def angle_degrees(self) -> float:
        return self.angle * ANGLE_UNIT_DEG

    @property
    def angle_radians(self) -> float:
        return math.radians(self.angle_degrees)

    @staticmethod
    def angle_from_degrees(degrees: float) -> int:
        return round((degrees % 360.0) / ANGLE_UNIT_DEG) % 256


@dataclass(frozen=True)
class ExtendedDataArea:
    type_code: int  # 1 ridge counts, 2 cores and deltas, others vendor-defined
    data: bytes


@dataclass(frozen=True)
class FingerView:
    minutiae: tuple[Minutia, ...] = ()
    finger_position: int = 0
    view_number: int = 0
    impression_type: int = 0
    quality: int = 0
    extended: tuple[ExtendedDataArea, ...] = ()


@dataclass(frozen=True)
class FingerMinutiaeRecord:
    width: int
    height: int
    x_resolution: int = 197  # px/cm (197 px/cm = 500 dpi)
    y_resolution: int = 197
    views: tuple[FingerView, ...] = field(default_factory=tuple)
    equipment_compliance: int = 0
    equipment_id: int = 0
    reserved: int = 0

    @property
    def dpi(self) -> tuple[float, float]:
        return self.x_resolution * 2.54, self.y_resolution * 2.54

    def to_bytes(self) -> bytes:
        return write(self)


# -- reading ------------------------------------------------------------------------------------


class _Reader:
    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def take(self, n: int, what: str) -> bytes:
        if self.pos + n > len(self.data):
            raise ISORecordError(
                f"truncated record: {what} needs {n} bytes, {len(self.data) - self.pos} left",
                self.pos,
            )
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str, what: str) -> tuple[int, ...]:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt), what))


def parse(data: bytes | bytearray | memoryview, *, strict: bool = True) -> FingerMinutiaeRecord:
    """Decode one record. `strict` also checks values against the standard's ranges (minutia
    type, position inside the image, qualities 0..100, finger position 0..10)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ISORecordError(f"a record is bytes, not {type(data).__name__}")
    data = bytes(data)
    r = _Reader(data)
    if len(data) < HEADER_SIZE:
        raise ISORecordError(f"truncated record: {len(data)} bytes, the header alone takes 24")
    if r.take(4, "format identifier") != FORMAT_ID:
        raise ISORecordError("not a finger minutiae record (format identifier is not 'FMR')", 0)
    version = r.take(4, "version")
    if version != VERSION:
        raise ISORecordError(f"unsupported version {version!r}: only ISO 19794-2:2005 (' 20')", 4)
    (length,) = r.unpack(">I", "record length")
    if length != len(data):
        raise ISORecordError(
            f"record length field says {length} bytes, the record has {len(data)}", 8
        )
    equipment, width, height, xres, yres, n_views, reserved = r.unpack(">HHHHHBB", "record header")
    if strict and (width == 0 or height == 0 or xres == 0 or yres == 0):
        raise ISORecordError(f"image size {width}x{height} at {xres}x{yres} px/cm", 14)
    views = []
    for v in range(n_views):
        views.append(_parse_view(r, v, width, height, strict))
    if r.pos != len(data):
        raise ISORecordError(f"{len(data) - r.pos} bytes after the last finger view", r.pos)
    return FingerMinutiaeRecord(
        width=width,
        height=height,
        x_resolution=xres,
        y_resolution=yres,
        views=tuple(views),
        equipment_compliance=equipment >> 12,
        equipment_id=equipment & 0x0FFF,
        reserved=reserved,
    )


def _parse_view(r: _Reader, v: int, width: int, height: int, strict: bool) -> FingerView:
    start = r.pos
    position, view_imp, quality, count = r.unpack(">BBBB", f"finger view {v} header")
    if strict and position > 10:
        raise ISORecordError(f"finger view {v}: finger position {position} (0..10)", start)
    if strict and quality > 100:
        raise ISORecordError(f"finger view {v}: finger quality {quality} (0..100)", start + 2)
    minutiae = []
    for i in range(count):
        at = r.pos
        tx, ry, angle, mq = r.unpack(">HHBB", f"minutia {i} of {count} in finger view {v}")
        m = Minutia(
            x=tx & 0x3FFF,
            y=ry & 0x3FFF,
            angle=angle,
            type=tx >> 14,
            quality=mq,
            reserved=ry >> 14,
        )
        if strict:
            if m.type not in (0, 1, 2):
                raise ISORecordError(f"minutia {i} of finger view {v}: reserved type 3", at)
            if m.x >= width or m.y >= height:
                raise ISORecordError(
                    f"minutia {i} of finger view {v}: ({m.x}, {m.y}) outside the "
                    f"{width}x{height} image",
                    at,
                )
            if m.quality > 100:
                raise ISORecordError(f"minutia {i} of finger view {v}: quality {m.quality}", at)
        minutiae.append(m)
    (ext_len,) = r.unpack(">H", f"extended data length of finger view {v}")
    ext_start = r.pos
    block = r.take(ext_len, f"extended data of finger view {v}")
    areas = []
    pos = 0
    while pos < len(block):
        if pos + 4 > len(block):
            raise ISORecordError(
                f"finger view {v}: extended data area header cut short", ext_start + pos
            )
        type_code, area_len = struct.unpack(">HH", block[pos : pos + 4])
        if pos + 4 + area_len > len(block):
            raise ISORecordError(
                f"finger view {v}: extended data area of {area_len} bytes overruns its "
                f"block of {len(block)}",
                ext_start + pos,
            )
        areas.append(ExtendedDataArea(type_code, block[pos + 4 : pos + 4 + area_len]))
        pos += 4 + area_len
    return FingerView(
        minutiae=tuple(minutiae),
        finger_position=position,
        view_number=view_imp >> 4,
        impression_type=view_imp & 0x0F,
        quality=quality,
        extended=tuple(areas),
    )


def read(path: str | Path, *, strict: bool = True) -> FingerMinutiaeRecord:
    return parse(Path(path).read_bytes(), strict=strict)


# -- writing ------------------------------------------------------------------------------------


def _check(cond: bool, message: str) -> None:
    if not cond:
        raise ISORecordError(message)


def write(record: FingerMinutiaeRecord) -> bytes:
    """Encode a record; values that do not fit their fields raise `ISORecordError`."""
    _check(len(record.views) <= 255, "at most 255 finger views")
    _check(0 <= record.equipment_compliance <= 15, "equipment compliance is 4 bits")
    _check(0 <= record.equipment_id <= 0xFFF, "equipment id is 12 bits")
    for name in ("width", "height", "x_resolution", "y_resolution"):
        _check(0 <= getattr(record, name) <= 0xFFFF, f"{name} is 16 bits")
    _check(0 <= record.reserved <= 255, "reserved is one byte")
    body = bytearray()
    for v, view in enumerate(record.views):
        _check(len(view.minutiae) <= 255, f"finger view {v}: at most 255 minutiae")
        _check(
            0 <= view.view_number <= 15 and 0 <= view.impression_type <= 15,
            f"finger view {v}: view number and impression type are 4 bits each",
        )
        _check(
            0 <= view.finger_position <= 255 and 0 <= view.quality <= 255,
            f"finger view {v}: position and quality are one byte each",
        )
        body += struct.pack(
            ">BBBB",
            view.finger_position,
            (view.view_number << 4) | view.impression_type,
            view.quality,
            len(view.minutiae),
        )
        for i, m in enumerate(view.minutiae):
            _check(
                0 <= m.x <= 0x3FFF and 0 <= m.y <= 0x3FFF,
                f"finger view {v} minutia {i}: coordinates are 14 bits",
            )
            _check(
                0 <= m.type <= 3 and 0 <= m.reserved <= 3,
                f"finger view {v} minutia {i}: type and reserved are 2 bits",
            )
            _check(
                0 <= m.angle <= 255 and 0 <= m.quality <= 255,
                f"finger view {v} minutia {i}: angle and quality are one byte",
            )
            body += struct.pack(
                ">HHBB", (int(m.type) << 14) | m.x, (m.reserved << 14) | m.y, m.angle, m.quality
            )
        ext = b"".join(
            struct.pack(">HH", a.type_code, len(a.data)) + bytes(a.data) for a in view.extended
        )
        _check(len(ext) <= 0xFFFF, f"finger view {v}: extended data over 65535 bytes")
        body += struct.pack(">H", len(ext)) + ext
    length = HEADER_SIZE + len(body)
    header = (
        FORMAT_ID
        + VERSION
        + struct.pack(
            ">IHHHHHBB",
            length,
            (record.equipment_compliance << 12) | record.equipment_id,
            record.width,
            record.height,
            record.x_resolution,
            record.y_resolution,
            len(record.views),
            record.reserved,
        )
    )
    return header + bytes(body)
