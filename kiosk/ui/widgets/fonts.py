"""The kiosk's fonts: Noto Sans CJK with Hong Kong glyph forms for Traditional Chinese,
English and Portuguese, with Simplified forms for Simplified Chinese (scripts/fonts.py puts
both in assets/fonts). Registered as two families whose bold face is the real bold file."""

from __future__ import annotations

import logging
from pathlib import Path

from kivy.core.text import LabelBase

log = logging.getLogger(__name__)

FONTS = Path(__file__).resolve().parents[3] / "assets" / "fonts"
HK, SC = "KioskHK", "KioskSC"
FILES = {HK: "NotoSansCJKhk", SC: "NotoSansCJKsc"}

_registered = False


def register() -> None:
    global _registered
    if _registered:
        return
    for family, stem in FILES.items():
        regular, bold = FONTS / f"{stem}-Regular.otf", FONTS / f"{stem}-Bold.otf"
        if not regular.exists():
            # A clone without the fonts still runs; Chinese shows as boxes until
            # scripts/fonts.py has been run (the README's set-up does it).
            log.warning("font %s missing: Chinese text cannot be drawn", regular)
            LabelBase.register(family, "Roboto-Regular.ttf", None, "Roboto-Bold.ttf")
            continue
        LabelBase.register(family, str(regular), None, str(bold if bold.exists() else regular))
    _registered = True


def family(language: str) -> str:
    return SC if language == "zh_Hans_CN" else HK
