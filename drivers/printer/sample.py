"""Sample receipts (English and Traditional Chinese), for the simulator, tests, a technician's
test page, and to look at a rendering: ``python -m drivers.printer.sample OUT.png --font F``.

The kiosk builds its real receipts from its own message catalogue; these strings are examples.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from drivers.printer.base import (
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
from drivers.printer.render import ReceiptFonts, ReceiptRenderer

REFERENCE = "JM-2025-0001234"
LOOKUP_URL = "https://jmrs.example/r/" + REFERENCE


def sample_document(language: str = "en") -> ReceiptDocument:
    """A proof-of-life receipt in "en" or "zh-Hant" (with HKSCS characters: 𨋢 邨 嘅)."""
    if language.startswith("zh"):
        blocks = (
            Title("江門市人力資源和社會保障局"),
            Paragraph("養老待遇資格認證回執", align="center", size=TextSize.LARGE, bold=True),
            Rule(),
            Field("日期及時間", "2025-05-06 10:32"),
            Field("自助服務機", "HK-TST-01"),
            Field("服務點", "尖沙咀 彩雲邨服務中心（𨋢口旁）"),
            Field("結果", "認證成功"),
            Field("下次認證", "2026-05-06 前"),
            Rule(),
            Reference(REFERENCE, label="參考編號"),
            QrCode(LOOKUP_URL, caption="掃描二維碼查閱認證結果"),
            Space(8),
            Paragraph(
                "請妥善保存此回執。如有查詢，請致電熱線。呢張回執係你嘅認證證明。", size="small"
            ),
        )
        return ReceiptDocument(blocks, language="zh-Hant-HK")
    blocks = (
        Title("Jiangmen Human Resources and Social Security Bureau"),
        Paragraph("Pension entitlement verification", align="center", size="large", bold=True),
        Rule(),
        Field("Date and time", "2025-05-06 10:32"),
        Field("Kiosk", "HK-TST-01"),
        Field("Site", "Tsim Sha Tsui service point, beside the lift"),
        Field("Result", "Verified"),
        Field("Next verification due", "by 2026-05-06"),
        Rule(),
        Reference(REFERENCE, label="Reference number"),
        QrCode(LOOKUP_URL, caption="Scan to look up this verification"),
        Space(8),
        Paragraph("Please keep this receipt. It is your proof of verification.", size="small"),
    )
    return ReceiptDocument(blocks, language="en")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path, help="PNG file to write")
    ap.add_argument("--language", default="en", help='"en" or "zh-Hant"')
    ap.add_argument("--font", help="regular font file (a CJK font for Chinese)")
    ap.add_argument("--bold-font", help="bold font file")
    ap.add_argument("--index", type=int, default=0, help="face index in a .ttc (HK: 4 in Noto)")
    ap.add_argument("--width", type=int, default=576, help="dots: 576 (80 mm) or 384 (58 mm)")
    args = ap.parse_args(argv)
    fonts = ReceiptFonts.from_paths(args.font, args.bold_font, index=args.index)
    renderer = ReceiptRenderer(fonts, width=args.width)
    doc = sample_document(args.language)
    missing = renderer.missing_glyphs(doc.plain_text())
    if missing:
        print(f"warning: the font has no glyph for {''.join(missing)!r}", file=sys.stderr)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    image = renderer.render_image(doc)
    image.save(args.out)
    print(f"{args.out}: {image.width} x {image.height} dots")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
