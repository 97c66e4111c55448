"""Reading personal data aloud, privately: through a handset or headphones only.

The loudspeaker only ever plays the pre-rendered catalogue (kiosk/voice.py), which holds no
personal data. A kiosk fitted with a handset (setting `handset_device`, an ALSA device) can
also read the resident's own pension summary to them: the text is composed here, spoken by
espeak-ng and played on that device alone, through pipes (nothing written to disk, nothing
logged). Without a handset the flow never offers it.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Sequence
from decimal import Decimal

from kiosk import formats, i18n
from kiosk.api import contract as c
from kiosk.i18n import N_
from kiosk.voice import VOICES

log = logging.getLogger(__name__)

SPEECH_KEY = N_("summary.private_speech")
SPEED_WPM = 135


class HandsetVoice:
    def __init__(
        self,
        device: str,
        *,
        player: Sequence[str] | None = None,
        timeout_s: float = 60.0,
    ):
        self.device = device
        # aplay (alsa-utils) on the handset's device; a test passes its own player.
        self.player = list(player) if player else ["aplay", "-q", "-D", device]
        self.timeout_s = timeout_s

    def text(self, summary: c.PensionSummary, language: str) -> str:
        amount = Decimal(summary.monthly_amount)
        return i18n.text(
            SPEECH_KEY,
            language,
            amount=f"{amount:,.2f}",
            due=formats.long_date(summary.next_certification_due, language),
        )

    def say_summary(self, summary: c.PensionSummary, language: str) -> None:
        text = self.text(summary, language)
        voice = VOICES.get(language, "en")
        try:
            command = ["espeak-ng", "-v", voice, "-s", str(SPEED_WPM), "--stdout", text]
            speak = subprocess.Popen(  # noqa: S603 - espeak-ng, the text as one argument
                command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
            )
            play = subprocess.Popen(  # noqa: S603 - the configured player
                self.player, stdin=speak.stdout, stderr=subprocess.DEVNULL
            )
            speak.stdout.close()  # the player owns the pipe now
            play.wait(self.timeout_s)
            speak.wait(self.timeout_s)
        except (OSError, subprocess.TimeoutExpired) as exc:
            # The failure, never the text: it is the resident's personal data.
            log.warning("handset speech failed: %s", type(exc).__name__)
            return
        if play.returncode or speak.returncode:
            log.warning("handset speech failed: exit %s/%s", speak.returncode, play.returncode)
