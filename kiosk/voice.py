"""The voice catalogue: which keys are spoken, in which voice, and where their audio is.

Playing it is the UI's business (kiosk/ui/speaker.py); rendering it is scripts/voice.py's.
"""

from __future__ import annotations

from pathlib import Path

AUDIO = Path(__file__).resolve().parent.parent / "assets" / "audio"

# espeak-ng voices: Cantonese first, as the residents are mostly Cantonese speakers.
VOICES = {"zh_Hant_HK": "yue", "zh_Hans_CN": "cmn", "en": "en", "pt_MO": "pt"}


# Messages for the technician (maintenance screens, `kiosk doctor`): read, never spoken.
TECHNICIAN_PREFIXES = ("doctor_", "maint_")


def is_spoken(key: str) -> bool:
    """Screen prompts and plain message keys are spoken; titles and button labels are not
    (they are on the screen, and the prompt says the same), nor technicians' messages."""
    if key.startswith(TECHNICIAN_PREFIXES):
        return False
    return key.endswith(".prompt") or "." not in key


def audio_path(language: str, key: str) -> Path:
    return AUDIO / language / f"{key}.wav"
