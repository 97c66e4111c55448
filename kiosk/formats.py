"""Money, dates and months as each language writes them (CLDR data through Babel).

These are locale conventions, not translations: nothing here needs a catalogue entry.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from babel import Locale
from babel.dates import format_date, format_skeleton
from babel.numbers import format_currency

# The kiosk's languages as CLDR locales: English and Portuguese as written in HK and Macau.
LOCALES = {"zh_Hant_HK": "zh_Hant_HK", "zh_Hans_CN": "zh_Hans_CN", "en": "en_HK", "pt_MO": "pt_MO"}


# The name each language has in itself (CLDR's own name for the script variant of Chinese).
_SELF = {"zh_Hant_HK": "zh_Hant", "zh_Hans_CN": "zh_Hans", "en": "en", "pt_MO": "pt"}


def language_name(language: str) -> str:
    """繁體中文 / 简体中文 / English / Português: each language's name in itself."""
    name = Locale.parse(_locale(language)).languages.get(_SELF.get(language, language), language)
    return name[:1].upper() + name[1:]


def _locale(language: str) -> str:
    return LOCALES.get(language, "en_HK")


def money(amount: str | Decimal, currency: str, language: str) -> str:
    return format_currency(Decimal(amount), currency, locale=_locale(language))


def long_date(day: dt.date | None, language: str) -> str:
    return format_date(day, "long", locale=_locale(language)) if day else ""


def short_date(day: dt.date | None, language: str) -> str:
    return format_date(day, "medium", locale=_locale(language)) if day else ""


def month(period: str, language: str) -> str:
    """'2026-10' as '2026年10月' / 'Oct 2026' / 'out. de 2026'."""
    year, mon = (int(p) for p in period.split("-"))
    return format_skeleton("yMMM", dt.date(year, mon, 1), locale=_locale(language))
