"""Message keys in code, text in gettext catalogues (assets/locales/<lang>/LC_MESSAGES/*.po).

Code and .kv files name texts by key (`_("home.enquiry")`); `N_("key")` marks a key for
extraction where the text is looked up later. `scripts/messages.py` extracts every key into
assets/locales/kiosk.pot and merges it into each language's catalogue; tests fail when a key
lacks a translation in any language or a translation changes the key's format fields.
"""

from __future__ import annotations

import string
import threading
from pathlib import Path

from babel.messages.pofile import read_po

LANGUAGES = ("zh_Hant_HK", "zh_Hans_CN", "en", "pt_MO")
DEFAULT_LANGUAGE = "zh_Hant_HK"
FALLBACK_LANGUAGE = "en"
DOMAIN = "kiosk"
LOCALES = Path(__file__).resolve().parent.parent / "assets" / "locales"


def N_(key: str) -> str:
    """Marks a message key for extraction; returns it unchanged."""
    return key


def po_path(language: str, locales: Path = LOCALES) -> Path:
    return locales / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def format_fields(text: str) -> set[str]:
    return {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name}


class Catalogues:
    """Every language's texts, loaded once; lookups are thread-safe reads."""

    def __init__(self, locales: Path = LOCALES):
        self._texts: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()
        self.locales = locales

    def texts(self, language: str) -> dict[str, str]:
        with self._lock:
            if language not in self._texts:
                path = po_path(language, self.locales)
                texts: dict[str, str] = {}
                if path.exists():
                    with path.open("rb") as f:
                        for msg in read_po(f):
                            if msg.id and msg.string:
                                texts[str(msg.id)] = str(msg.string)
                self._texts[language] = texts
            return self._texts[language]

    def text(self, key: str, language: str, **params) -> str:
        """The text of `key`; English when the language lacks it; the key itself when every
        catalogue lacks it (a test makes sure none does)."""
        text = self.texts(language).get(key) or self.texts(FALLBACK_LANGUAGE).get(key) or key
        if params:
            try:
                return text.format(**params)
            except (KeyError, IndexError, ValueError):
                return text
        return text


CATALOGUES = Catalogues()


def text(key: str, language: str, **params) -> str:
    return CATALOGUES.text(key, language, **params)
