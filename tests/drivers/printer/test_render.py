"""The receipt renderer: width, layout rules, the QR code, and Chinese (HKSCS) glyphs."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from drivers.printer.base import (
    Field,
    Paragraph,
    QrCode,
    ReceiptDocument,
    Reference,
    Rule,
    Space,
    Title,
)
from drivers.printer.render import (
    WIDTH_58MM,
    WIDTH_80MM,
    ReceiptRenderer,
    ReceiptStyle,
    qr_matrix,
)
from drivers.printer.sample import LOOKUP_URL, REFERENCE, sample_document
from tests.drivers.printer.conftest import CJK_PROBE


def _doc(*blocks):
    return ReceiptDocument(blocks)


def _decode_qr(bits: np.ndarray) -> str:
    grey = np.pad(np.where(bits, 0, 255).astype(np.uint8), 16, constant_values=255)
    text, _points, _ = cv2.QRCodeDetectorAruco().detectAndDecode(grey)
    return text


@pytest.mark.parametrize("width", [WIDTH_80MM, WIDTH_58MM])
def test_receipt_is_exactly_the_head_width_and_one_bit(fonts, width):
    bits = ReceiptRenderer(fonts, width=width).render(sample_document("en"))
    assert bits.dtype == np.bool_
    assert bits.shape[1] == width
    assert 300 < bits.shape[0] < 3000
    margin = ReceiptStyle.for_width(width).margin
    assert not bits[:, : margin - 1].any() and not bits[:, width - margin + 1 :].any()


def test_rendering_is_deterministic(fonts):
    r = ReceiptRenderer(fonts)
    assert np.array_equal(r.render(sample_document("en")), r.render(sample_document("en")))


def test_width_must_be_whole_bytes(fonts):
    with pytest.raises(ValueError):
        ReceiptRenderer(fonts, width=570)


def test_a_missing_font_file_fails_at_construction(tmp_path):
    with pytest.raises(OSError):
        ReceiptRenderer(tmp_path / "no-such-font.ttf")


def test_qr_matrix_has_a_quiet_zone_and_decodes():
    modules = qr_matrix(LOOKUP_URL)
    assert modules.shape[0] == modules.shape[1]
    assert (modules.shape[0] - 8 - 21) % 4 == 0  # version v: 17 + 4v modules + 2 x 4 quiet
    for edge in (modules[:4], modules[-4:], modules[:, :4], modules[:, -4:]):
        assert not edge.any()
    assert modules[4:11, 4].all()  # the finder pattern's left edge
    big = np.kron(modules, np.ones((6, 6), dtype=bool))
    assert _decode_qr(big) == LOOKUP_URL


def test_qr_on_the_receipt_decodes_and_has_whole_dot_modules(fonts):
    r = ReceiptRenderer(fonts)
    bits = r.render(_doc(QrCode(LOOKUP_URL)))
    assert _decode_qr(bits) == LOOKUP_URL
    n = qr_matrix(LOOKUP_URL).shape[0]
    cols = np.flatnonzero(bits.any(axis=0))
    assert (cols[-1] - cols[0] + 1) == (n - 8) * r.style.qr_module  # symbol width in dots
    assert abs((cols[0] + cols[-1]) / 2 - r.width / 2) <= r.style.qr_module  # centred


def test_qr_fits_58mm_paper(fonts):
    r = ReceiptRenderer(fonts, width=WIDTH_58MM)
    bits = r.render(_doc(QrCode("x" * 300)))
    assert _decode_qr(bits) == "x" * 300


def test_long_title_wraps_instead_of_overflowing(fonts):
    r = ReceiptRenderer(fonts)
    short = r.render(_doc(Title("Receipt")))
    long = r.render(_doc(Title("Jiangmen Human Resources and Social Security Bureau " * 2)))
    assert long.shape[0] > 2 * short.shape[0] - r.style.top - r.style.bottom
    assert len(r.wrap("Jiangmen Human Resources and Social Security Bureau", r.style.title)) > 1


def test_latin_wraps_between_words(fonts):
    latin = ReceiptRenderer(fonts)
    lines = latin.wrap("pension entitlement verification " * 6, latin.style.normal)
    assert len(lines) > 1
    assert all(line == line.strip() for line in lines)
    words = {"pension", "entitlement", "verification"}
    assert all(set(line.split()) <= words for line in lines)  # broken between words only
    assert all(latin._face(latin.style.normal).width(x) <= latin.text_width for x in lines)


def test_chinese_wraps_between_characters_not_before_punctuation(cjk_fonts):
    chinese = ReceiptRenderer(cjk_fonts)
    text = "請妥善保存此回執，如有查詢，請致電熱線。" * 3
    lines = chinese.wrap(text, chinese.style.normal)
    assert len(lines) > 1 and "".join(lines) == text  # broken between characters
    assert not any(line[0] in "，。" for line in lines)  # never before closing punctuation


def test_a_word_wider_than_the_paper_is_broken_between_characters(fonts):
    r = ReceiptRenderer(fonts)
    word = "W" * 80
    lines = r.wrap(word, r.style.normal)
    assert len(lines) > 1 and "".join(lines) == word


def test_field_falls_back_to_two_lines(fonts):
    r = ReceiptRenderer(fonts)
    one = r.render(_doc(Field("Kiosk", "HK-TST-01")))
    two = r.render(_doc(Field("Site of the kiosk", "Tsim Sha Tsui service point, beside the lift")))
    assert two.shape[0] > one.shape[0] + r.style.normal
    # one line: the value is flush right (up to the glyph's own side bearing)
    right = np.flatnonzero(one.any(axis=0))[-1]
    assert r.width - r.style.margin - 8 <= right < r.width - r.style.margin + 1


def test_reference_number_shrinks_to_fit(fonts):
    r = ReceiptRenderer(fonts)
    bits = r.render(_doc(Reference("JM-2025-000000000123456", label="Reference")))
    assert not bits[:, : r.style.margin - 1].any()
    assert not bits[:, r.width - r.style.margin + 1 :].any()
    big = r.render(_doc(Reference(REFERENCE)))
    rows = np.flatnonzero(big.any(axis=1))
    assert rows[-1] - rows[0] > r.style.normal  # large type: taller than body text


def test_rule_and_space(fonts):
    r = ReceiptRenderer(fonts)
    rule = r.render(_doc(Rule()))
    assert rule.any(axis=1).sum() == r.style.rule_thickness
    space = r.render(_doc(Space(40)))
    assert not space.any() and space.shape[0] == r.style.top + 40 + r.style.bottom


def test_paragraph_alignment(fonts):
    r = ReceiptRenderer(fonts)
    left = np.flatnonzero(r.render(_doc(Paragraph("Hi"))).any(axis=0))
    right = np.flatnonzero(r.render(_doc(Paragraph("Hi", align="right"))).any(axis=0))
    centre = np.flatnonzero(r.render(_doc(Paragraph("Hi", align="center"))).any(axis=0))
    assert left[0] < r.style.margin + 4
    assert right[-1] > r.width - r.style.margin - 4
    assert abs((centre[0] + centre[-1]) / 2 - r.width / 2) < 4


def test_bad_documents_are_refused():
    with pytest.raises(ValueError):
        ReceiptDocument(())
    with pytest.raises(TypeError):
        ReceiptDocument(("just a string",))
    with pytest.raises(ValueError):
        QrCode("")
    with pytest.raises(ValueError):
        QrCode("x" * 600)
    with pytest.raises(ValueError):
        Reference(" ")
    with pytest.raises(TypeError):
        Field("Amount", 1234)
    with pytest.raises(ValueError):
        Paragraph("x", align="justify")


def test_plain_text_of_a_document():
    text = sample_document("en").plain_text()
    assert f"Reference number {REFERENCE}" in text
    assert f"[QR {LOOKUP_URL}]" in text
    assert "Kiosk: HK-TST-01" in text


# ---------------------------------------------------------------------------- Chinese


def test_cjk_font_has_every_glyph_including_hkscs(cjk_fonts):
    r = ReceiptRenderer(cjk_fonts)
    assert r.missing_glyphs(CJK_PROBE) == []
    assert r.missing_glyphs(sample_document("zh-Hant").plain_text()) == []
    assert r.missing_glyphs("😀") == ["😀"]  # the check can fail


def test_latin_font_reports_the_chinese_it_cannot_draw(fonts):
    r = ReceiptRenderer(fonts)
    assert "𨋢" in r.missing_glyphs(CJK_PROBE)


def test_chinese_receipt_renders_every_character_distinctly(cjk_fonts):
    r = ReceiptRenderer(cjk_fonts)
    bits = r.render(sample_document("zh-Hant"))
    assert bits.shape[1] == WIDTH_80MM and bits.mean() > 0.03
    # Each HKSCS character draws its own shape (no tofu box shared by all of them).
    shapes = {r.render(_doc(Paragraph(ch))).tobytes() for ch in "𨋢嘅咗㗎邨"}
    assert len(shapes) == 5
