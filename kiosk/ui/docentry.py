"""What the keypad lets a resident type for each document, and how the entry is shown.

Plain Python (no kivy) so the rules are tested directly. Only characters the format can hold
at the next position are offered: letters only where a format has them (the one or two prefix
letters of an HKID and its check character "A", the H/M of a Home Return Permit, the final X
of a PRC resident ID). Whether a complete number is valid is the flow's business
(kiosk/api/documents.py); the keypad only keeps impossible characters out and shows the
shape of the number as it is typed, with the brackets of a check digit filled in.
"""

from __future__ import annotations

import string

from kiosk.api.contract import DocumentType

DIGITS = frozenset(string.digits)
ALPHABET = frozenset(string.ascii_uppercase)
BLANK = "_"  # a position still to type

# The letter keys each document's keypad shows (greyed out where the position takes none).
LETTER_KEYS: dict[DocumentType, tuple[str, ...]] = {
    DocumentType.HKID: tuple(string.ascii_uppercase),
    DocumentType.MACAU_ID: (),
    DocumentType.PRC_ID: ("X",),
    DocumentType.HOME_RETURN_PERMIT: ("H", "M"),
}


def _leading_letters(raw: str) -> int:
    n = 0
    while n < len(raw) and raw[n].isalpha():
        n += 1
    return n


def allowed(doc_type: DocumentType | str, raw: str) -> frozenset[str]:
    """The characters that may come next after `raw` (empty when the number is complete)."""
    doc_type = DocumentType(doc_type)
    n = len(raw)
    if doc_type is DocumentType.HKID:
        if n == 0:
            return ALPHABET
        letters = _leading_letters(raw)
        if n == 1 and letters == 1:
            return ALPHABET | DIGITS  # a second prefix letter, or the first digit
        typed = n - letters
        if typed < 6:
            return DIGITS
        if typed == 6:
            return DIGITS | {"A"}  # the check character: 0-9 or A
        return frozenset()
    if doc_type is DocumentType.MACAU_ID:
        return DIGITS if n < 8 else frozenset()
    if doc_type is DocumentType.PRC_ID:
        if n < 17:
            return DIGITS
        return DIGITS | {"X"} if n == 17 else frozenset()
    # Home Return Permit: H or M, then 8 digits.
    if n == 0:
        return frozenset({"H", "M"})
    return DIGITS if n < 9 else frozenset()


def accept(doc_type: DocumentType | str, raw: str, char: str) -> str:
    """`raw` with `char` appended when the format allows it there; otherwise `raw`."""
    char = char.upper()
    return raw + char if char in allowed(doc_type, raw) else raw


def from_number(doc_type: DocumentType | str, number: str | None) -> str:
    """The keys that type a stored number (brackets, spaces and hyphens dropped)."""
    if not number:
        return ""
    raw = "".join(ch for ch in number.upper() if ch.isalnum())
    out = ""
    for ch in raw:
        out = accept(doc_type, out, ch)
    return out


def display(doc_type: DocumentType | str, raw: str) -> str:
    """The entry as the resident sees it: the number's shape, blanks for what is still to
    type, the check digit in brackets where the document prints it so."""
    doc_type = DocumentType(doc_type)
    if doc_type is DocumentType.HKID:
        letters = max(1, _leading_letters(raw))
        body = raw[letters : letters + 6]
        check = raw[letters + 6 : letters + 7]
        prefix = raw[:letters].ljust(letters, BLANK)
        return f"{prefix}{body.ljust(6, BLANK)}({check or BLANK})"
    if doc_type is DocumentType.MACAU_ID:
        return f"{raw[:7].ljust(7, BLANK)}({raw[7:8] or BLANK})"
    if doc_type is DocumentType.PRC_ID:
        padded = raw.ljust(18, BLANK)
        return f"{padded[:6]} {padded[6:14]} {padded[14:]}"
    padded = raw.ljust(9, BLANK)
    return f"{padded[:1]} {padded[1:5]} {padded[5:]}"


def submission(doc_type: DocumentType | str, raw: str) -> str:
    """What the keypad sends to the flow: the number as printed (the flow validates it)."""
    doc_type = DocumentType(doc_type)
    if doc_type is DocumentType.HKID and len(raw) >= 8:
        return f"{raw[:-1]}({raw[-1]})"
    if doc_type is DocumentType.MACAU_ID and len(raw) == 8:
        return f"{raw[:7]}({raw[7]})"
    return raw
