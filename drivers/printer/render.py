"""Render a `ReceiptDocument` to a 1-bit raster image for a thermal printer.

The whole receipt becomes one bool array (rows x dots, True = a black dot), exactly as wide
as the printer's print head: 576 dots for 80 mm paper at 203 dpi, 384 for 58 mm. Text is
drawn with Pillow from a font file the caller chooses (a CJK font with HKSCS coverage, such
as Noto Sans CJK HK, for Chinese receipts), anti-aliased and then thresholded, so the result
does not depend on the printer's firmware or code pages. The QR code comes from OpenCV's
QRCodeEncoder (error correction M), drawn with whole dots per module and a 4-module quiet zone.

Layout is deterministic: the same document, fonts, width and style give the same pixels on
the same Pillow/FreeType (the BASIC layout engine is used, not raqm, for that reason).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from drivers.printer.base import (
    Align,
    Field,
    Paragraph,
    QrCode,
    ReceiptDocument,
    Reference,
    Rule,
    Space,
    TextSize,
    Title,
)

__all__ = [
    "WIDTH_58MM",
    "WIDTH_80MM",
    "FontSpec",
    "ReceiptFonts",
    "ReceiptRenderer",
    "ReceiptStyle",
    "qr_matrix",
]

WIDTH_80MM = 576  # dots across the print head of an 80 mm printer at 203 dpi
WIDTH_58MM = 384  # 58 mm paper


@dataclass(frozen=True)
class FontSpec:
    """A font file and, for a collection (.ttc), the face index in it (Noto Sans CJK's
    Regular.ttc: 0 JP, 1 KR, 2 SC, 3 TC, 4 HK). `path` None: Pillow's built-in font (Latin
    only; for tests and a kiosk whose font is missing)."""

    path: str | Path | None
    index: int = 0


@dataclass(frozen=True)
class ReceiptFonts:
    """The regular and bold faces. Without a bold face, bold text is the regular face drawn
    with a one-dot stroke."""

    regular: FontSpec
    bold: FontSpec | None = None

    @classmethod
    def from_paths(
        cls,
        regular: str | Path | None,
        bold: str | Path | None = None,
        *,
        index: int = 0,
        bold_index: int | None = None,
    ) -> ReceiptFonts:
        return cls(
            FontSpec(regular, index),
            FontSpec(bold, index if bold_index is None else bold_index) if bold else None,
        )


@dataclass(frozen=True)
class ReceiptStyle:
    """Sizes in dots (8 dots = 1 mm at 203 dpi), tuned for 576 dots and readers over 60.

    `for_width` scales them for other paper widths. `threshold`: anti-aliased grey below it
    prints black (0..255).
    """

    margin: int = 8
    top: int = 8
    bottom: int = 24
    block_gap: int = 10
    line_gap: int = 6
    small: int = 26
    normal: int = 30
    large: int = 36
    title: int = 44
    reference: int = 72
    qr_module: int = 6
    rule_thickness: int = 2
    threshold: int = 128

    @classmethod
    def for_width(cls, width: int) -> ReceiptStyle:
        base = cls()
        if width == WIDTH_80MM:
            return base
        scale = width / WIDTH_80MM
        scaled = {
            f.name: max(1, round(getattr(base, f.name) * scale))
            for f in fields(cls)
            if f.name not in ("threshold", "rule_thickness")
        }
        for name in ("small", "normal", "large", "title", "reference"):
            scaled[name] = max(16, scaled[name])
        scaled["qr_module"] = max(3, scaled["qr_module"])
        return replace(base, **scaled)


# --------------------------------------------------------------------------- QR


def qr_matrix(payload: str, *, quiet_zone: int = 4) -> np.ndarray:
    """The QR code of `payload` as bool modules (True = dark), error correction level M, with
    a `quiet_zone` of light modules on every side (the standard asks for 4)."""
    import cv2

    if not payload:
        raise ValueError("empty QR payload")
    params = cv2.QRCodeEncoder.Params()
    params.correction_level = cv2.QRCodeEncoder_CORRECT_LEVEL_M
    try:
        img = cv2.QRCodeEncoder.create(params).encode(payload)
    except cv2.error as e:
        raise ValueError(f"payload does not fit a QR code: {e}") from e
    dark = np.asarray(img) < 128
    # OpenCV draws a 2-module border; trim it to the symbol, then add our own quiet zone.
    rows = np.flatnonzero(dark.any(axis=1))
    cols = np.flatnonzero(dark.any(axis=0))
    symbol = dark[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    return np.pad(symbol, quiet_zone, constant_values=False)


# --------------------------------------------------------------------------- text


def _is_cjk(ch: str) -> bool:
    o = ord(ch)
    return (
        0x2E80 <= o <= 0x2FFF  # radicals
        or 0x3000 <= o <= 0x30FF  # CJK punctuation, kana
        or 0x3100 <= o <= 0x31FF  # bopomofo, strokes
        or 0x3400 <= o <= 0x4DBF  # extension A
        or 0x4E00 <= o <= 0x9FFF  # unified ideographs
        or 0xF900 <= o <= 0xFAFF  # compatibility ideographs
        or 0xFF00 <= o <= 0xFFEF  # full-width forms
        or 0x20000 <= o <= 0x3FFFF  # extensions B.. (many HKSCS characters live here)
    )


# Never at the start of a line / never at the end of one.
_NO_LINE_START = set("，。、；：！？）」』】〉》〕…‥,.;:!?)]}%’”·～ー")
_NO_LINE_END = set("（「『【〈《〔([{‘“")


def _can_break(text: str, i: int) -> bool:
    """Whether a line may end between text[i-1] and text[i]."""
    a, b = text[i - 1], text[i]
    if b in _NO_LINE_START or a in _NO_LINE_END:
        return False
    if a.isspace():
        return True
    if b.isspace():
        return False
    return _is_cjk(a) or _is_cjk(b) or a in "-/"


@functools.lru_cache(maxsize=64)
def _font(path: str | None, index: int, size: int) -> ImageFont.FreeTypeFont:
    if path is None:
        font = ImageFont.load_default(size)
        if not isinstance(font, ImageFont.FreeTypeFont):  # Pillow without FreeType
            raise RuntimeError("Pillow has no FreeType support: cannot render receipts")
        return font
    return ImageFont.truetype(path, size, index=index, layout_engine=ImageFont.Layout.BASIC)


@dataclass(frozen=True)
class _Face:
    font: ImageFont.FreeTypeFont
    stroke: int  # fake bold

    def width(self, text: str) -> int:
        return math.ceil(self.font.getlength(text)) + 2 * self.stroke if text else 0

    @property
    def line_height(self) -> int:
        ascent, descent = self.font.getmetrics()
        return ascent + descent + 2 * self.stroke


Op = Callable[[ImageDraw.ImageDraw, Image.Image], None]


class ReceiptRenderer:
    """Lays out and draws receipts at one paper width with one set of fonts."""

    def __init__(
        self,
        fonts: ReceiptFonts | str | Path | None = None,
        *,
        width: int = WIDTH_80MM,
        style: ReceiptStyle | None = None,
    ):
        if width <= 0 or width % 8:
            raise ValueError("the raster width must be a positive multiple of 8 dots")
        if not isinstance(fonts, ReceiptFonts):
            fonts = ReceiptFonts(FontSpec(fonts))
        self.fonts = fonts
        self.width = width
        self.style = style or ReceiptStyle.for_width(width)
        # Fail now, not at the first receipt, when a font file is missing or unreadable.
        self._face(self.style.normal)
        self._face(self.style.normal, bold=True)

    # ---- faces
    def _face(self, size: int, *, bold: bool = False) -> _Face:
        spec = self.fonts.bold if bold and self.fonts.bold else self.fonts.regular
        path = None if spec.path is None else str(spec.path)
        stroke = 1 if bold and self.fonts.bold is None else 0
        return _Face(_font(path, spec.index, size), stroke)

    def _size(self, size: TextSize) -> int:
        return {
            TextSize.SMALL: self.style.small,
            TextSize.NORMAL: self.style.normal,
            TextSize.LARGE: self.style.large,
        }[size]

    @property
    def text_width(self) -> int:
        return self.width - 2 * self.style.margin

    # ---- public
    def render(self, document: ReceiptDocument) -> np.ndarray:
        """The receipt as a bool array, `width` dots wide (True = black)."""
        grey = self._draw(document)
        return np.asarray(grey) < self.style.threshold

    def render_image(self, document: ReceiptDocument) -> Image.Image:
        """The same receipt as a 1-bit Pillow image (black on white), e.g. to save a PNG."""
        return bits_to_image(self.render(document))

    def missing_glyphs(self, text: str, *, bold: bool = False) -> list[str]:
        """The characters of `text` the font has no glyph for (they would print as boxes).
        The kiosk checks its translations with this at start."""
        face = self._face(self.style.normal, bold=bold).font
        notdef = face.getmask("\uffff")
        notdef_key = (notdef.size, bytes(notdef))
        missing: list[str] = []
        for ch in dict.fromkeys(text):
            if ch.isspace() or not ch.isprintable():
                continue
            mask = face.getmask(ch)
            if (mask.size, bytes(mask)) == notdef_key:
                missing.append(ch)
        return missing

    def wrap(self, text: str, size: int, *, bold: bool = False, width: int | None = None):
        """Lines of `text` that fit `width` dots (default: the text width) at `size`."""
        face = self._face(size, bold=bold)
        limit = self.text_width if width is None else width
        lines: list[str] = []
        for para in text.split("\n"):
            lines += _wrap(para, face, limit)
        return lines

    # ---- layout
    def _draw(self, document: ReceiptDocument) -> Image.Image:
        ops: list[Op] = []
        y = self.style.top
        for i, block in enumerate(document.blocks):
            if i:
                y += self.style.block_gap
            y = self._layout(block, y, ops)
        height = max(1, y + self.style.bottom)
        img = Image.new("L", (self.width, height), 255)
        draw = ImageDraw.Draw(img)
        for op in ops:
            op(draw, img)
        return img

    def _layout(self, block, y: int, ops: list[Op]) -> int:
        s = self.style
        match block:
            case Title(text=text):
                return self._text(text, y, ops, size=s.title, bold=True, align=Align.CENTER)
            case Paragraph(text=text, align=align, size=size, bold=bold):
                return self._text(text, y, ops, size=self._size(size), bold=bold, align=align)
            case Field(label=label, value=value):
                return self._field(label, value, y, ops)
            case Reference(number=number, label=label):
                if label:
                    y = self._text(label, y, ops, size=s.small, align=Align.CENTER)
                return self._reference(number, y, ops)
            case QrCode(payload=payload, caption=caption):
                y = self._qr(payload, y, ops)
                if caption:
                    y = self._text(caption, y, ops, size=s.small, align=Align.CENTER)
                return y
            case Rule():
                return self._rule(y, ops)
            case Space(dots=dots):
                return y + dots
        raise TypeError(f"not a receipt block: {block!r}")

    def _line(self, text: str, x: int, y: int, face: _Face, ops: list[Op]) -> None:
        def op(draw: ImageDraw.ImageDraw, _img: Image.Image) -> None:
            draw.text(
                (x + face.stroke, y + face.stroke),
                text,
                font=face.font,
                fill=0,
                anchor="la",
                stroke_width=face.stroke,
                stroke_fill=0,
            )

        ops.append(op)

    def _x(self, line_width: int, align: Align) -> int:
        m = self.style.margin
        if align == Align.CENTER:
            return m + max(0, (self.text_width - line_width) // 2)
        if align == Align.RIGHT:
            return self.width - m - line_width
        return m

    def _text(
        self,
        text: str,
        y: int,
        ops: list[Op],
        *,
        size: int,
        bold: bool = False,
        align: Align = Align.LEFT,
    ) -> int:
        face = self._face(size, bold=bold)
        step = face.line_height + self.style.line_gap
        lines = self.wrap(text, size, bold=bold)
        if align == Align.CENTER and len(lines) > 1:
            lines = self._balanced(text, size, bold, len(lines))
        for line in lines:
            if line:
                self._line(line, self._x(face.width(line), align), y, face, ops)
            y += step
        return y - self.style.line_gap if lines else y

    def _balanced(self, text: str, size: int, bold: bool, count: int) -> list[str]:
        """Centred text over `count` lines of even length (no lone last word or character):
        the narrowest width that still needs no more lines."""
        lo, hi = 1, self.text_width
        while lo < hi:
            mid = (lo + hi) // 2
            if len(self.wrap(text, size, bold=bold, width=mid)) <= count:
                hi = mid
            else:
                lo = mid + 1
        return self.wrap(text, size, bold=bold, width=hi)

    def _field(self, label: str, value: str, y: int, ops: list[Op]) -> int:
        size = self.style.normal
        lf, vf = self._face(size), self._face(size, bold=True)
        gap = size // 2
        one_line = "\n" not in label + value
        if one_line and lf.width(label) + gap + vf.width(value) <= self.text_width:
            self._line(label, self.style.margin, y, lf, ops)
            self._line(value, self._x(vf.width(value), Align.RIGHT), y, vf, ops)
            return y + max(lf.line_height, vf.line_height)
        if label:
            y = self._text(label, y, ops, size=size) + self.style.line_gap
        return self._text(value, y, ops, size=size, bold=True, align=Align.RIGHT)

    def _reference(self, number: str, y: int, ops: list[Op]) -> int:
        size = self.style.reference
        while size > self.style.normal and self._face(size, bold=True).width(number) > (
            self.text_width
        ):
            size -= 2
        return self._text(number, y, ops, size=size, bold=True, align=Align.CENTER)

    def _qr(self, payload: str, y: int, ops: list[Op]) -> int:
        modules = qr_matrix(payload)
        n = modules.shape[0]
        module = self.style.qr_module
        while module > 1 and n * module > self.text_width:
            module -= 1
        if n * module > self.text_width:
            raise ValueError("the QR code does not fit the paper width")
        side = n * module
        tile = np.where(np.kron(modules, np.ones((module, module), dtype=bool)), 0, 255)
        qr = Image.fromarray(tile.astype(np.uint8))
        x = (self.width - side) // 2

        def op(_draw: ImageDraw.ImageDraw, img: Image.Image) -> None:
            img.paste(qr, (x, y))

        ops.append(op)
        return y + side

    def _rule(self, y: int, ops: list[Op]) -> int:
        t = self.style.rule_thickness
        band = max(t, self.style.normal // 2)
        top = y + (band - t) // 2
        m, dash, gap = self.style.margin, 8, 6

        def op(draw: ImageDraw.ImageDraw, _img: Image.Image) -> None:
            for x in range(m, self.width - m, dash + gap):
                draw.rectangle((x, top, min(x + dash, self.width - m) - 1, top + t - 1), fill=0)

        ops.append(op)
        return y + band


def _wrap(text: str, face: _Face, limit: int) -> list[str]:
    """Greedy line filling with break opportunities from `_can_break`; a run with no break
    opportunity that is wider than a line is broken between characters."""
    lines: list[str] = []
    start, n = 0, len(text)
    while start < n:
        while start < n and text[start].isspace():
            start += 1
        if start >= n:
            break
        fit_end, best = start, None
        for i in range(start + 1, n + 1):
            if face.width(text[start:i].rstrip()) > limit:
                break
            fit_end = i
            if i == n or _can_break(text, i):
                best = i
        if best is None:
            best = max(fit_end, start + 1)
        lines.append(text[start:best].rstrip())
        start = best
    return lines or [""]


def bits_to_image(bits: np.ndarray) -> Image.Image:
    """A bool raster (True = black) as a 1-bit Pillow image."""
    grey = Image.fromarray(np.where(bits, 0, 255).astype(np.uint8))
    return grey.convert("1", dither=Image.Dither.NONE)
