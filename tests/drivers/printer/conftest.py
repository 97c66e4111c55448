"""Fonts for the printer tests: a Latin font that is on this machine (kivy's Roboto, DejaVu,
or Pillow's built-in font as a last resort), and a CJK font when one is installed
(fonts-noto-cjk; or the kiosk's own under assets/fonts/)."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import ImageFont

from drivers.printer.render import FontSpec, ReceiptFonts
from tests.conftest import REPO

# Chinese text with characters outside Big5 and GB2312 that Hong Kong uses (HKSCS): 𨋢 (lift),
# 嘅 咗 㗎 (Cantonese), 邨 (estate).
CJK_PROBE = "江門養老認證回執 𨋢嘅咗㗎邨"


def _kivy_fonts() -> list[Path]:
    spec = importlib.util.find_spec("kivy")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return []
    root = Path(next(iter(spec.submodule_search_locations))) / "data" / "fonts"
    return [root / "Roboto-Regular.ttf", root / "Roboto-Bold.ttf"]


def latin_fonts() -> ReceiptFonts:
    regular, bold = _kivy_fonts() or [None, None]
    if regular and regular.exists():
        return ReceiptFonts.from_paths(regular, bold if bold and bold.exists() else None)
    dejavu = Path("/usr/share/fonts/truetype/dejavu")
    if (dejavu / "DejaVuSans.ttf").exists():
        bold_path = dejavu / "DejaVuSans-Bold.ttf"
        return ReceiptFonts.from_paths(
            dejavu / "DejaVuSans.ttf", bold_path if bold_path.exists() else None
        )
    return ReceiptFonts(FontSpec(None))  # Pillow's built-in font


def _covers(spec: FontSpec, text: str) -> bool:
    font = ImageFont.truetype(str(spec.path), 24, index=spec.index)
    notdef = font.getmask("\uffff")
    key = (notdef.size, bytes(notdef))
    return all((font.getmask(ch).size, bytes(font.getmask(ch))) != key for ch in text if ch != " ")


def _face_index(path: Path) -> int:
    """In a collection, prefer the Hong Kong face, then Traditional Chinese."""
    if path.suffix.lower() != ".ttc":
        return 0
    names = []
    for i in range(32):
        try:
            names.append(" ".join(ImageFont.truetype(str(path), 12, index=i).getname()))
        except OSError:
            break
    for want in (" HK", " TC"):
        for i, name in enumerate(names):
            if want in name and "Mono" not in name:
                return i
    return 0


def _cjk_candidates() -> list[Path]:
    found = sorted((REPO / "assets" / "fonts").glob("*.[ot]t[fc]"))
    if shutil.which("fc-list"):
        out = subprocess.run(
            ["fc-list", ":lang=zh", "file"], capture_output=True, text=True, timeout=20
        ).stdout
        found += sorted({Path(line.split(":")[0].strip()) for line in out.splitlines() if line})
    found += sorted(Path("/usr/share/fonts").rglob("*CJK*"))
    return found


def find_cjk_fonts() -> ReceiptFonts | None:
    paths = [p for p in _cjk_candidates() if p.is_file()]
    regular = [p for p in paths if "bold" not in p.name.lower()]
    for path in regular:
        try:
            spec = FontSpec(path, _face_index(path))
            if not _covers(spec, CJK_PROBE):
                continue
        except OSError:
            continue
        bold = path.with_name(path.name.replace("Regular", "Bold"))
        bold_spec = FontSpec(bold, spec.index) if bold != path and bold.is_file() else None
        return ReceiptFonts(spec, bold_spec)
    return None


@pytest.fixture(scope="session")
def fonts() -> ReceiptFonts:
    return latin_fonts()


@pytest.fixture(scope="session")
def cjk_fonts() -> ReceiptFonts:
    found = find_cjk_fonts()
    if found is None:
        pytest.skip(
            "no CJK font with HKSCS coverage here (install fonts-noto-cjk, or put one in "
            "assets/fonts/)"
        )
    return found
