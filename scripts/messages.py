"""Message catalogues: extract every key into assets/locales/kiosk.pot and merge it into each
language's .po (Babel). `python scripts/messages.py update` after adding keys; the tests run
`extract` in memory and fail when the committed template or a translation lags behind.

Where keys come from:
- `_("key")` and `N_("key")` calls in kiosk/ (.py and .kv);
- string constants of the message-key namespaces (MESSAGE_PREFIXES: `doc_hkid_format`,
  `error_network`, `face_too_dark` ...) anywhere in kiosk/, drivers/ and biometrics/;
- the flow's structure: `<screen>.title`, `<screen>.prompt` for screens that speak,
  `<screen>.<action>` for each button of kiosk/flow/machine.py's NAV, and the status bar;
- the drivers' device errors: `device_error_<kind>` for each DeviceErrorKind.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kiosk.i18n import DOMAIN, LANGUAGES, LOCALES, po_path  # noqa: E402

MESSAGE_PREFIXES = (
    "doc_",
    "ecard_",
    "doctor_",
    "reader_",
    "error_",
    "identify_",
    "receipt_",
    "finger_",
    "face_",
    "help_",
    "liveness_",
    "printer_",
    "camera_",
    "consent_",
    "idle_",
    "payments_",
    "summary_",
    "status_",
    "device_",
)
_KEY = r"[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)*"
_CALL = re.compile(r"\bN?_\(\s*[\"'](" + _KEY + r")[\"']")
_PLAIN = re.compile(r"^[a-z][a-z0-9_]*$")
SOURCES = ("kiosk", "drivers", "biometrics")


def structural_keys() -> set[str]:
    from drivers.errors import DeviceErrorKind
    from kiosk.flow.context import VOLUME_KEYS
    from kiosk.flow.machine import GLOBAL, NAV, SCREENS

    keys = set(GLOBAL) | {f"device_error_{kind.value}" for kind in DeviceErrorKind}
    keys |= set(VOLUME_KEYS.values())
    for screen, spec in SCREENS.items():
        keys.add(f"{screen}.title")
        if spec.speaks:
            keys.add(f"{screen}.prompt")
        keys |= {f"{screen}.{action}" for action in NAV[screen]}
    return keys


# Names that look like keys but are identifiers: screen names, field names, docs.
NOT_KEYS = {
    "face_pipeline",
    "finger_position",
    "key",
    "face_mean",
    "face_p90",
    "face_ratio",
    "face_frames",
    "printer_from_url",
    "device_revoked",
    "ecard_keys",
    "camera_s",
}


def source_keys() -> set[str]:
    from kiosk.flow.machine import SCREENS

    keys: set[str] = set()
    for top in SOURCES:
        for path in sorted((ROOT / top).rglob("*")):
            if path.suffix not in (".py", ".kv"):
                continue
            text = path.read_text(encoding="utf-8")
            keys |= set(_CALL.findall(text))
            if path.suffix == ".py":
                for node in ast.walk(ast.parse(text, filename=str(path))):
                    if (
                        isinstance(node, ast.Constant)
                        and isinstance(node.value, str)
                        and _PLAIN.match(node.value)
                        and node.value.startswith(MESSAGE_PREFIXES)
                        and not node.value.endswith("_")
                    ):
                        keys.add(node.value)
    return keys - set(SCREENS) - NOT_KEYS


def extract() -> list[str]:
    return sorted(structural_keys() | source_keys())


def template(keys: list[str]) -> Catalog:
    cat = Catalog(
        domain=DOMAIN, project="jiangmen-pension-kiosk", version="1", charset="utf-8", fuzzy=False
    )
    for key in keys:
        cat.add(key)
    return cat


def read(path: Path) -> Catalog:
    with path.open("rb") as f:
        return read_po(f)


def write(cat: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        write_po(
            f,
            cat,
            width=100,
            omit_header=False,
            sort_output=True,
            no_location=True,
            include_previous=False,
        )


def update() -> None:
    keys = extract()
    write(template(keys), LOCALES / f"{DOMAIN}.pot")
    for lang in LANGUAGES:
        path = po_path(lang)
        old = read(path) if path.exists() else Catalog(locale=None, domain=DOMAIN)
        cat = Catalog(
            domain=DOMAIN,
            project="jiangmen-pension-kiosk",
            version="1",
            charset="utf-8",
            fuzzy=False,
        )
        cat.language_team = lang
        for key in keys:
            msg = old.get(key)
            cat.add(key, msg.string if msg is not None else "")
        write(cat, path)
        missing = [k for k in keys if not cat.get(k).string]
        print(f"{lang}: {len(keys)} keys, {len(missing)} untranslated")


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else "update"
    if cmd == "update":
        update()
    elif cmd == "extract":
        print("\n".join(extract()))
    else:
        print("usage: messages.py update|extract", file=sys.stderr)
        sys.exit(2)
