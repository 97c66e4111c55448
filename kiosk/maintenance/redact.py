"""Redaction of log text before a technician reads it on the maintenance screen.

The kiosk does not log personal data on purpose, but a driver's message, a back-end problem
detail or a traceback may carry some, so every line shown in maintenance passes through
`redact`, which masks (rather than trusts) anything shaped like:

- document numbers of every format in kiosk/api/documents.py: HKID `A123456(3)` / `AB9876543`,
  Macau resident ID `1234567(8)`, PRC resident ID (18 characters, final X), Home Return
  Permit `H12345678`; and any other run of 7 or more digits -> `[id]` / `[number]`
- dates (a date of birth looks like any date): `1946-03-12`, `12/03/1946`, `1946年3月12日`,
  `12 March 1946`, `March 12, 1946`, `12 de março de 1946` -> `[date]`
- names: Chinese characters (a log line is English: Chinese in it is a name or an address),
  runs of capitalised words in capitals (`CHAN TAI MAN`, masked `CHAN T** M**`), and the
  value of any name-like field (`name=...`, `"name_en": "..."`) -> `[name]`
- phone numbers: `+852 9123 4567`, `(853) 6612 3456`, `9123-4567`, mainland `13812345678`
  -> `[phone]`
- receipt references `JM261128-7KQ4XW2M` and pending references `JP-7KQ4XW2M3A` -> `[ref]`
- the value of other personal fields (`date_of_birth=`, `doc_number=`, `subject_token=`,
  `reference=`, `phone=` ...) -> `[hidden]`

Masking too much is the safe side: a technician loses a number, a resident loses nothing.
"""

from __future__ import annotations

import re

_NOT_WORD = r"(?<![0-9A-Za-z])"
_END = r"(?![0-9A-Za-z])"

_PERSONAL_KEYS = (
    r"name(?:_zh|_en)?|masked_name(?:_zh|_en)?|full_name|date_of_birth|birth_date|dob|"
    r"doc_number|document_number|document|phone|mobile|tel|reference|subject_token|"
    r"token|address"
)
_NAME_KEYS = re.compile(r"name", re.I)
_KEY_VALUE = re.compile(
    r"""(?P<key>["']?\b(?:""" + _PERSONAL_KEYS + r""")\b["']?\s*[=:]\s*)"""
    r"""(?P<value>"[^"]*"|'[^']*'|[^\s,;)}\]]+)""",
    re.I,
)

_MONTHS_EN = (
    "january|february|march|april|may|june|july|august|september|october|november|december|"
    "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)
_MONTHS_PT = (
    "janeiro|fevereiro|março|marco|abril|maio|junho|julho|agosto|setembro|outubro|novembro|dezembro"
)
_DAY = r"(?:0?[1-9]|[12]\d|3[01])"
_MONTH = r"(?:0?[1-9]|1[0-2])"
_YEAR = r"(?:1[89]\d{2}|20\d{2})"

# (pattern, replacement), in the order they are applied.
_RULES: list[tuple[re.Pattern[str], str]] = [
    # References first: their digits would otherwise be taken for something else.
    (re.compile(_NOT_WORD + r"JM\d{6}-[0-9A-Z]{8}" + _END), "[ref]"),
    (re.compile(_NOT_WORD + r"JP-[0-9A-Z]{10}" + _END), "[ref]"),
    # Dates.
    (re.compile(r"(?<!\d)" + _YEAR + r"\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日?"), "[date]"),
    (re.compile(r"(?<!\d)" + _YEAR + r"[-/.]" + _MONTH + r"[-/.]" + _DAY + r"(?!\d)"), "[date]"),
    (re.compile(r"(?<!\d)" + _DAY + r"[-/.]" + _MONTH + r"[-/.]" + _YEAR + r"(?!\d)"), "[date]"),
    (
        re.compile(r"\b" + _DAY + r"\s+(?:" + _MONTHS_EN + r")\.?,?\s+" + _YEAR + r"\b", re.I),
        "[date]",
    ),
    (
        re.compile(
            r"\b(?:" + _MONTHS_EN + r")\.?\s+" + _DAY + r"(?:st|nd|rd|th)?,?\s+" + _YEAR, re.I
        ),
        "[date]",
    ),
    (
        re.compile(r"\b" + _DAY + r"\s+de\s+(?:" + _MONTHS_PT + r")\s+de\s+" + _YEAR + r"\b", re.I),
        "[date]",
    ),
    # Document numbers (kiosk/api/documents.py), with or without brackets and spaces.
    (re.compile(_NOT_WORD + r"\d{17}[0-9Xx]" + _END), "[id]"),  # PRC resident ID
    (re.compile(_NOT_WORD + r"[HMhm]\d{8}(?:\d{2})?" + _END), "[id]"),  # Home Return Permit
    (
        re.compile(_NOT_WORD + r"[A-Za-z]{1,2}\s?\d{6}\s?(?:\([0-9Aa]\)|[0-9Aa])" + _END),
        "[id]",
    ),  # HKID
    (re.compile(_NOT_WORD + r"[157]\d{6}\s?\(\d\)"), "[id]"),  # Macau resident ID
    # Phone numbers: with a country code, or 8 digits in two groups of four.
    (
        re.compile(
            r"(?<![\w+])(?:\+|00)?\(?(?:852|853|86)\)?[\s-]?(?:1\d{2}[\s-]?)?\d{4}[\s-]?\d{4}"
            + _END
        ),
        "[phone]",
    ),
    (re.compile(r"(?<![\w.:/-])[2-9]\d{3}[\s-]\d{4}(?![\w/-]|[.:]\d)"), "[phone]"),
    (re.compile(_NOT_WORD + r"1[3-9]\d{9}" + _END), "[phone]"),
    # Any other long run of digits (Macau IDs without brackets, account numbers ...).
    (re.compile(_NOT_WORD + r"\d{7,}" + _END), "[number]"),
    # Names.
    (
        re.compile(
            r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff][\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff*＊○·・]*"
        ),
        "[name]",
    ),
    (re.compile(r"\b[A-Z][A-Z*]+(?:[ ,]+[A-Z][A-Z*]*\**){1,4}\b\**"), "[name]"),
]


def _mask_value(m: re.Match[str]) -> str:
    key = m.group("key")
    token = "[name]" if _NAME_KEYS.search(key) else "[hidden]"
    value = m.group("value")
    quote = value[0] if value[:1] in "\"'" else ""
    return f"{key}{quote}{token}{quote}"


def redact(text: str) -> str:
    """`text` with everything that may be personal masked."""
    text = _KEY_VALUE.sub(_mask_value, text)
    for pattern, token in _RULES:
        text = pattern.sub(token, text)
    return text
