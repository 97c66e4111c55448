"""Puts the kiosk's fonts in place: single faces extracted from Debian's Noto Sans CJK.

Kivy loads only face 0 of a font collection (.ttc), which in Noto Sans CJK is the Japanese
one, with Japanese glyph forms. The kiosk needs the Hong Kong face (HK glyph forms) for
Traditional Chinese and the Simplified Chinese face for zh-Hans; both also carry the Latin
and Portuguese letters. Run by scripts/bootstrap.sh; the output is not committed (16 MB each,
SIL Open Font License 1.1, from the `fonts-noto-cjk` package).
"""

from __future__ import annotations

import sys
from pathlib import Path

from fontTools.ttLib import TTCollection

SOURCE_DIR = Path("/usr/share/fonts/opentype/noto")
TARGET_DIR = Path(__file__).resolve().parent.parent / "assets" / "fonts"
# (collection, face name as the font names itself, output file)
FACES = [
    ("NotoSansCJK-Regular.ttc", "Noto Sans CJK HK", "NotoSansCJKhk-Regular.otf"),
    ("NotoSansCJK-Bold.ttc", "Noto Sans CJK HK", "NotoSansCJKhk-Bold.otf"),
    ("NotoSansCJK-Regular.ttc", "Noto Sans CJK SC", "NotoSansCJKsc-Regular.otf"),
    ("NotoSansCJK-Bold.ttc", "Noto Sans CJK SC", "NotoSansCJKsc-Bold.otf"),
]


def main() -> int:
    TARGET_DIR.mkdir(parents=True, exist_ok=True)
    collections: dict[str, TTCollection] = {}
    for source, family, target in FACES:
        out = TARGET_DIR / target
        if out.exists():
            continue
        path = SOURCE_DIR / source
        if not path.exists():
            print(f"fonts: {path} missing (apt-get install fonts-noto-cjk)", file=sys.stderr)
            return 1
        coll = collections.setdefault(source, TTCollection(str(path)))
        face = next((f for f in coll.fonts if f["name"].getDebugName(1) == family), None)
        if face is None:
            print(f"fonts: no face {family!r} in {path}", file=sys.stderr)
            return 1
        tmp = out.with_suffix(".tmp")
        face.save(str(tmp))
        tmp.replace(out)
        print(f"fonts: {out.name} extracted")
    return 0


if __name__ == "__main__":
    sys.exit(main())
