"""Personal data is read aloud only through a handset, only on a kiosk that has one, and
never written to disk or to the log on the way."""

from __future__ import annotations

import logging
import shutil
import sys

import pytest

from kiosk.devices.handset import HandsetVoice
from kiosk.flow import effects as fx
from kiosk.flow import events as ev
from tests.flow.helpers import answer, summary, to_state


def _summary_screen(**settings):
    from kiosk.api import contract as c
    from tests.flow.helpers import capture_done, decision

    flow, _clock, effects = to_state("face_capture", purpose=c.Purpose.ENQUIRY, **settings)
    effects = capture_done(flow, effects)
    effects = answer(flow, effects, decision(c.Outcome.APPROVED))
    answer(flow, effects, summary())
    assert flow.state == "summary"
    return flow


def test_listen_speaks_privately_only_with_a_handset():
    flow = _summary_screen(handset=True)
    effects = flow.handle(ev.Tapped("listen"))
    private = [e for e in effects if isinstance(e, fx.SpeakPrivately)]
    assert len(private) == 1 and private[0].summary.monthly_amount == "3120.50"
    assert not [e for e in effects if isinstance(e, fx.Speak)]  # not on the loudspeaker

    without = _summary_screen()
    assert without.settings.handset is False
    effects = without.handle(ev.Tapped("listen"))
    assert not [e for e in effects if isinstance(e, fx.SpeakPrivately | fx.Speak)]


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")
def test_the_summary_is_spoken_into_the_player_and_never_logged(tmp_path, caplog):
    out = tmp_path / "played.wav"
    player = [
        sys.executable,
        "-c",
        f"import sys; open({str(out)!r}, 'wb').write(sys.stdin.buffer.read())",
    ]
    voice = HandsetVoice("plughw:CARD=Headset", player=player)
    s = summary()
    text = voice.text(s, "zh_Hant_HK")
    assert "3,120.50" in text and "2027" in text
    with caplog.at_level(logging.DEBUG):
        voice.say_summary(s, "zh_Hant_HK")
    audio = out.read_bytes()
    assert audio[:4] == b"RIFF" and len(audio) > 20_000  # seconds of Cantonese speech
    assert "3,120" not in caplog.text and "3120" not in caplog.text
    assert list(tmp_path.iterdir()) == [out]  # nothing else written


def test_a_missing_player_is_a_warning_without_the_text(caplog):
    voice = HandsetVoice("none", player=["/nonexistent/player"])
    with caplog.at_level(logging.WARNING):
        voice.say_summary(summary(), "en")
    assert "handset speech failed" in caplog.text and "3,120" not in caplog.text
