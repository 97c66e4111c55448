"""What the settings and identity screens show, as plain data (no kivy, no devices): the
tour's samples use it too."""

from __future__ import annotations

import json

from kiosk import __version__

# Settings whose values are never shown (none of today's settings holds a secret: the device
# key is a path to a file; a setting added later that does is hidden by its name).
SECRET_WORDS = ("secret", "password", "passphrase", "token", "private", "credential")
MAX_VALUE = 48  # characters of a setting's value shown (one table line)


def settings_rows(settings) -> list[list[str]]:
    """[name, value] for every setting, in declaration order; secrets hidden."""
    rows = []
    for name in type(settings).model_fields:
        if any(word in name.lower() for word in SECRET_WORDS):
            rows.append([name, "(hidden)"])
            continue
        value = getattr(settings, name, None)
        shown = "-" if value is None else str(value)
        if len(shown) > MAX_VALUE:
            half = (MAX_VALUE - 1) // 2
            shown = shown[:half] + "…" + shown[-(MAX_VALUE - 1 - half) :]
        rows.append([name, shown])
    return rows


def identity(settings, public_key) -> dict[str, str]:
    from kiosk.api.signing import key_fingerprint

    return {
        "kiosk_id": settings.kiosk_id,
        "site": settings.site,
        "version": __version__,
        "key_fingerprint": key_fingerprint(public_key),
    }


def identity_payload(ident: dict[str, str]) -> str:
    """The text of the identity QR code: compact JSON with the four fields."""
    keys = ("kiosk_id", "site", "version", "key_fingerprint")
    return json.dumps({k: ident[k] for k in keys}, ensure_ascii=False, separators=(",", ":"))
