"""Spoken guidance: plays the rendered prompt of a message key (kiosk/voice.py).

No audio device, no audio provider or no file means silence, never an error: the screen says
the same thing. Playback happens on the Kivy thread; `say` may be called from any thread.
"""

from __future__ import annotations

import logging

from kivy.clock import Clock
from kivy.core.audio import SoundLoader

from kiosk.voice import audio_path

log = logging.getLogger(__name__)


# The flow's voice levels (kiosk/flow/context.py VOLUME_LEVELS) as fractions of the volume
# the kiosk is set to.
LEVELS = {"normal": 1.0, "quiet": 0.4, "off": 0.0}


class KivySpeaker:
    def __init__(self, volume: float = 0.8, muted: bool = False):
        self.volume = volume  # the kiosk's setting: how loud "normal" is
        self.muted = muted
        self.level = "normal"  # the resident's choice, set by the app from the flow
        self._current = None
        self._queue: list[tuple[str, str]] = []

    def say(self, key: str, language: str) -> None:
        Clock.schedule_once(lambda _dt: self._say(key, language))

    def _say(self, key: str, language: str) -> None:
        # A screen's prompt interrupts whatever was being said; anything else (the consent
        # notice after its prompt, a coaching line) waits for the sound before it.
        if key.endswith(".prompt") or self._current is None:
            self._queue.clear()
            self._play(key, language)
        else:
            self._queue.append((key, language))

    def _next(self, *_):
        self._current = None
        if self._queue:
            self._play(*self._queue.pop(0))

    def stop(self) -> None:
        Clock.schedule_once(lambda _dt: self._stop())

    def _stop(self) -> None:
        if self._current is not None:
            sound, self._current = self._current, None
            sound.unbind(on_stop=self._next)
            sound.stop()

    def _play(self, key: str, language: str) -> None:
        self._stop()  # a new screen's prompt interrupts the last one
        gain = self.volume * LEVELS.get(self.level, 1.0)
        if self.muted or gain <= 0:
            return
        path = audio_path(language, key)
        if not path.exists():
            log.warning("no audio for %s in %s", key, language)
            return
        try:
            sound = SoundLoader.load(str(path))
        except Exception:  # noqa: BLE001 - an audio provider failing is silence, not a crash
            sound = None
        if sound is None:
            return
        sound.volume = gain
        sound.bind(on_stop=self._next)
        sound.play()
        self._current = sound
