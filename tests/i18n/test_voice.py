"""Every spoken key has audio in every language, and nothing personal can be spoken."""

from __future__ import annotations

import wave

import pytest

from kiosk.i18n import LANGUAGES, Catalogues
from kiosk.voice import VOICES, audio_path, is_spoken


def _spoken():
    return sorted(k for k in Catalogues().texts("en") if is_spoken(k))


def test_prompts_and_messages_are_spoken_titles_are_not():
    keys = _spoken()
    assert "consent.prompt" in keys and "doc_hkid_check_digit" in keys
    assert "home.title" not in keys and "home.enquiry" not in keys
    assert len(keys) > 40


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_spoken_key_has_audio(lang):
    missing, empty = [], []
    for key in _spoken():
        path = audio_path(lang, key)
        if not path.exists():
            missing.append(key)
            continue
        with wave.open(str(path)) as w:
            if w.getnframes() < w.getframerate() // 4:  # under a quarter second: broken
                empty.append(key)
    assert missing == [], f"{lang}: no audio for {missing} (scripts/voice.py renders it)"
    assert empty == []


def test_cantonese_first():
    assert VOICES["zh_Hant_HK"] == "yue"
    assert set(VOICES) == set(LANGUAGES)


def test_spoken_texts_have_no_fields_so_nothing_personal_reaches_the_loudspeaker():
    # Audio is rendered ahead of time from the catalogue; a field ({name}, {amount}) in a
    # spoken text would be a slot for personal data, so there must be none.
    from kiosk.i18n import format_fields

    cats = Catalogues()
    with_fields = {
        (lang, key)
        for lang in LANGUAGES
        for key in _spoken()
        if format_fields(cats.texts(lang).get(key, ""))
    }
    assert with_fields == set()


def test_technician_messages_are_not_spoken():
    assert not is_spoken("doctor_disk_low")
    assert is_spoken("reader_unreadable")
