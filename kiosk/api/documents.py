"""Identity document numbers: normalisation and each format's published validity rules.

Part of the contract: the kiosk validates before it asks, the back end normalises the same
way before it looks up. Only published rules are applied; where a format has no public check
algorithm (Macau resident ID, Home Return Permit) the format alone is checked.

Every failure is a message key (`doc_*`), never a sentence.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from kiosk.api.contract import DocumentType

_HKID_RE = re.compile(r"^([A-Z]{1,2})(\d{6})\(?([0-9A])\)?$")
_MACAU_RE = re.compile(r"^([157]\d{6})\(?(\d)\)?$")
_PRC_RE = re.compile(r"^(\d{17})([0-9X])$")
_HRP_RE = re.compile(r"^([HM])(\d{8})$")

_PRC_WEIGHTS = [pow(2, 17 - i, 11) for i in range(17)]  # ISO 7064 MOD 11-2
_PERMIT_PREFIXES = ("810000", "820000")  # residence permits for HK / Macau residents


class DocumentError(ValueError):
    """Carries a message key the UI can show."""

    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


@dataclass(frozen=True)
class ParsedDocument:
    doc_type: DocumentType
    number: str  # canonical form, as stored by the bureau
    birth_date: dt.date | None = None  # carried inside PRC ID numbers


def normalise(text: str) -> str:
    """Upper case, full-width forms folded to ASCII (NFKC), spaces and hyphens removed."""
    text = unicodedata.normalize("NFKC", text).upper()
    return re.sub(r"[\s\-]", "", text)


def hkid_check_digit(prefix: str, digits: str) -> str:
    letters = prefix if len(prefix) == 2 else " " + prefix
    values = [36 if ch == " " else ord(ch) - ord("A") + 10 for ch in letters]
    values += [int(d) for d in digits]
    total = sum(v * w for v, w in zip(values, range(9, 1, -1), strict=True))
    check = (11 - total % 11) % 11
    return "A" if check == 10 else str(check)


def prc_check_digit(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, _PRC_WEIGHTS, strict=True))
    check = (12 - total % 11) % 11
    return "X" if check == 10 else str(check)


def parse(doc_type: DocumentType | str, text: str) -> ParsedDocument:
    doc_type = DocumentType(doc_type)
    number = normalise(text)
    if not number:
        raise DocumentError("doc_empty")
    if doc_type is DocumentType.HKID:
        m = _HKID_RE.match(number)
        if not m:
            raise DocumentError("doc_hkid_format")
        prefix, digits, check = m.groups()
        if hkid_check_digit(prefix, digits) != check:
            raise DocumentError("doc_hkid_check_digit")
        return ParsedDocument(doc_type, f"{prefix}{digits}({check})")
    if doc_type is DocumentType.MACAU_ID:
        m = _MACAU_RE.match(number)
        if not m:
            raise DocumentError("doc_macau_format")
        return ParsedDocument(doc_type, f"{m.group(1)}({m.group(2)})")
    if doc_type is DocumentType.PRC_ID:
        m = _PRC_RE.match(number)
        if not m:
            raise DocumentError("doc_prc_format")
        if prc_check_digit(m.group(1)) != m.group(2):
            raise DocumentError("doc_prc_check_digit")
        try:
            born = dt.datetime.strptime(number[6:14], "%Y%m%d").date()
        except ValueError as exc:
            raise DocumentError("doc_prc_birth_date") from exc
        return ParsedDocument(doc_type, number, born)
    m = _HRP_RE.match(number)
    if not m:
        raise DocumentError("doc_hrp_format")
    return ParsedDocument(doc_type, number)


def check_birth_date(doc: ParsedDocument, date_of_birth: dt.date) -> None:
    """The birth date inside a PRC ID / residence permit must equal the one entered."""
    if doc.birth_date is not None and doc.birth_date != date_of_birth:
        raise DocumentError("doc_birth_date_mismatch")


def is_residence_permit(doc: ParsedDocument) -> bool:
    return doc.doc_type is DocumentType.PRC_ID and doc.number.startswith(_PERMIT_PREFIXES)
