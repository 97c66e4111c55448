"""Renders the voice catalogue: one WAV per spoken message key and language, offline, with
espeak-ng (Debian's package): Cantonese for zh_Hant_HK, Putonghua for zh_Hans_CN, English,
European Portuguese for Macau. Run by scripts/bootstrap.sh; re-renders only what changed (a
manifest keeps a hash of voice, speed and text per file). Output: assets/audio/<lang>/<key>.wav,
not committed.

Spoken keys are every screen prompt (`*.prompt`) and every message key (coaching, errors):
never a value, so no personal data can reach the loudspeaker.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kiosk.i18n import LANGUAGES, Catalogues  # noqa: E402
from kiosk.voice import AUDIO, VOICES, audio_path, is_spoken  # noqa: E402

SPEED_WPM = 135  # slower than espeak's 175: many listeners are over 80


def spoken_keys(catalogues: Catalogues) -> list[str]:
    return sorted(k for k in catalogues.texts("en") if is_spoken(k))


def render(language: str, key: str, text: str, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.wav")
    subprocess.run(
        ["espeak-ng", "-v", VOICES[language], "-s", str(SPEED_WPM), "-w", str(tmp), text],
        check=True,
        capture_output=True,
        timeout=60,
    )
    tmp.replace(out)


def main() -> int:
    if shutil.which("espeak-ng") is None:
        print("voice: espeak-ng missing (apt-get install espeak-ng)", file=sys.stderr)
        return 1
    cats = Catalogues()
    manifest_path = AUDIO / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    rendered = 0
    for lang in LANGUAGES:
        for key in spoken_keys(cats):
            text = cats.text(key, lang)
            digest = hashlib.sha256(f"{VOICES[lang]}|{SPEED_WPM}|{text}".encode()).hexdigest()
            out = audio_path(lang, key)
            name = f"{lang}/{key}"
            if manifest.get(name) == digest and out.exists():
                continue
            render(lang, key, text, out)
            manifest[name] = digest
            rendered += 1
    AUDIO.mkdir(parents=True, exist_ok=True)
    manifest_path.write_text(json.dumps(manifest, indent=0, sort_keys=True))
    print(f"voice: {rendered} prompts rendered, {len(manifest)} in the catalogue")
    return 0


if __name__ == "__main__":
    sys.exit(main())
