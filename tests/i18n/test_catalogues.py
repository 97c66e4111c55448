"""Every message key has a text in all four languages, with the same format fields, and every
character of every text is in the font the kiosk draws that language with."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from kiosk.i18n import LANGUAGES, LOCALES, Catalogues, format_fields, po_path
from tests.conftest import REPO

FONTS = {
    "zh_Hant_HK": "NotoSansCJKhk-Regular.otf",
    "zh_Hans_CN": "NotoSansCJKsc-Regular.otf",
    "en": "NotoSansCJKhk-Regular.otf",
    "pt_MO": "NotoSansCJKhk-Regular.otf",
}


def _messages_module():
    spec = importlib.util.spec_from_file_location("messages", REPO / "scripts" / "messages.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def keys():
    return _messages_module().extract()


def _catalogue(lang):
    with po_path(lang).open("rb") as f:
        return {str(m.id): str(m.string) for m in read_po(f) if m.id}


def test_template_is_current(keys):
    with (LOCALES / "kiosk.pot").open("rb") as f:
        committed = sorted(str(m.id) for m in read_po(f) if m.id)
    assert committed == keys, "run `python scripts/messages.py update` and translate"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_key_translated(lang, keys):
    texts = _catalogue(lang)
    missing = [k for k in keys if not texts.get(k, "").strip()]
    assert missing == [], f"{lang} lacks {missing}"


@pytest.mark.parametrize("lang", [lg for lg in LANGUAGES if lg != "en"])
def test_format_fields_match_english(lang):
    en = _catalogue("en")
    texts = _catalogue(lang)
    wrong = {
        k: (format_fields(v), format_fields(en[k]))
        for k, v in texts.items()
        if k in en and format_fields(v) != format_fields(en[k])
    }
    assert wrong == {}


def test_lookup_and_fallback(tmp_path):
    cats = Catalogues()
    assert cats.text("home.enquiry", "zh_Hant_HK") == "查詢養老金"
    assert cats.text("home.enquiry", "pt_MO") == "Consultar a pensão"
    assert cats.text("no.such.key", "pt_MO") == "no.such.key"


def test_the_checks_can_fail(tmp_path):
    """A catalogue with a missing text and a changed field is caught by the same helpers."""
    assert format_fields("{reference} ok") != format_fields("{ref} ok")
    broken = tmp_path / "pt_MO" / "LC_MESSAGES"
    broken.mkdir(parents=True)
    (broken / "kiosk.po").write_text(
        'msgid ""\nmsgstr ""\n\nmsgid "home.enquiry"\nmsgstr ""\n', encoding="utf-8"
    )
    assert Catalogues(tmp_path).text("home.enquiry", "pt_MO") == "home.enquiry"


def _font_chars(path: Path) -> set[int]:
    from fontTools.ttLib import TTFont

    font = TTFont(str(path), lazy=True)
    return set(font.getBestCmap())


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_glyph_is_in_the_font(lang):
    font = REPO / "assets" / "fonts" / FONTS[lang]
    if not font.exists():
        pytest.skip(f"{font} missing: run scripts/bootstrap.sh (it extracts the fonts)")
    have = _font_chars(font)
    texts = _catalogue(lang)
    lacking = sorted(
        {ch for t in texts.values() for ch in t if ord(ch) not in have and not ch.isspace()}
    )
    assert lacking == [], f"{FONTS[lang]} lacks {''.join(lacking)!r}"


def test_hk_font_has_hong_kong_forms():
    """The HK face maps 骨 to a different glyph than the SC face does (the region-specific
    form), which face 0 of the collection (Japanese) would not give us."""
    from fontTools.ttLib import TTFont

    hk = REPO / "assets" / "fonts" / FONTS["zh_Hant_HK"]
    sc = REPO / "assets" / "fonts" / FONTS["zh_Hans_CN"]
    if not hk.exists() or not sc.exists():
        pytest.skip("fonts missing: run scripts/bootstrap.sh")
    hk_font, sc_font = TTFont(str(hk)), TTFont(str(sc))
    assert hk_font["name"].getDebugName(1) == "Noto Sans CJK HK"
    assert sc_font["name"].getDebugName(1) == "Noto Sans CJK SC"
    assert hk_font.getBestCmap()[ord("骨")] != sc_font.getBestCmap()[ord("骨")]
