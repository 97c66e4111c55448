"""The resident in front of a demo kiosk: whoever's document was just entered.

A demo has no real person at the camera, so the simulated captures must come from the demo
pensioner the kiosk identified, or the back end would (rightly) refuse them. `who` tells the
resident which document the flow holds; the demo pensioners' file (the one the demo back end
is seeded from) maps it to that person. A document of no demo pensioner gives a stranger's
captures.

Faces are simulated templates, marked simulated in the evidence (unless the container gives
the kiosk the live face pipeline). Fingers go through the real path when `fingers` is given
(a demo kiosk always has it): the resident puts the persona's synthetic finger
(assets/demo/fingers.json) on the simulated R30x module, which the real driver reads over
its pseudo-terminal; the kiosk's extractor makes the template and the back end's matcher
compares it with the reference seeded from another impression of the same finger.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from kiosk.devices.sim_resident import BORDERLINE, ResidentScript, SimulatedResident
from kiosk.flow.ports import Progress

DEMO_PENSIONERS = Path(__file__).resolve().parents[2] / "assets" / "demo" / "pensioners.json"
DEMO_FINGERS = DEMO_PENSIONERS.with_name("fingers.json")
STRANGER_KEY = "not-a-demo-pensioner"
# Synthetic finger numbers of nobody enrolled: the demo set's are below 1,000,000.
STRANGER_FINGER = 1_000_000

Who = Callable[[], tuple[str | None, str | None]]  # (document type, document number)


def plain_number(number: str) -> str:
    """A document number without brackets, spaces or hyphens, upper case."""
    return re.sub(r"[^0-9A-Z]", "", number.upper())


def load_personas(path: Path = DEMO_PENSIONERS) -> list[dict]:
    return json.loads(Path(path).read_text(encoding="utf-8"))["pensioners"]


class DemoFingers:
    """The demo resident's fingers on the fingerprint simulator, read by the real capturer.

    A script's finger value picks the finger: up to BORDERLINE the persona's own finger at
    the position the flow asks for (impressions 1..3 in turn: never the enrolled impression
    0), above it a finger nobody enrolled (as is any finger of a stranger or one the persona
    has not enrolled).

    Synthetic fingers are more alike than real ones (one generator, one loop pattern): a
    stranger's synthetic finger scores up to about 0.08 against a demo reference, above the
    back end's 0.035 operating point (real FVC2002 impostors: median 0.013), so in a demo a
    stranger's finger is sometimes taken for the persona's. The persona's own impressions
    score 0.43 to 0.74. Demos show the matcher working, not its error rates
    (docs/BENCHMARKS.md has those)."""

    IMPRESSIONS = (1, 2, 3)

    def __init__(self, simulator: Any, capturer: Any, path: Path = DEMO_FINGERS):
        self.simulator = simulator  # drivers.fingerprint.simulator.R30xSimulator
        self.capturer = capturer  # kiosk.devices.finger_capture.LiveFingerCapturer
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        self._fingers = {key: entry["finger"] for key, entry in data["fingers"].items()}

    def finger_for(self, persona_key: str, position: int, noise: float) -> int | None:
        """The synthetic finger number put on the glass; None for a stranger's finger."""
        if noise > BORDERLINE:
            return None
        return self._fingers.get(f"{persona_key}/{position}")

    def image(self, persona_key: str, position: int, noise: float, attempt: int) -> np.ndarray:
        from drivers.fingerprint.synthetic import synthetic_fingerprint

        finger = self.finger_for(persona_key, position, noise)
        impression = self.IMPRESSIONS[attempt % len(self.IMPRESSIONS)]
        if finger is None:
            return synthetic_fingerprint(STRANGER_FINGER + attempt, impression)
        return synthetic_fingerprint(finger, impression)

    def capture(
        self,
        persona_key: str,
        noise: float,
        attempt: int,
        server_nonce: str,
        position: int,
        cancel: threading.Event,
        progress: Progress,
    ):
        self.simulator.serve_next(self.image(persona_key, position, noise, attempt))
        return self.capturer.capture(server_nonce, position, cancel, progress)


class DemoResident(SimulatedResident):
    def __init__(
        self,
        who: Who,
        script: ResidentScript | None = None,
        personas: list[dict] | None = None,
        fingers: DemoFingers | None = None,
    ):
        super().__init__(script or ResidentScript(STRANGER_KEY))
        self._who = who
        self.fingers = fingers
        self._by_document = {
            (d["type"], plain_number(d["number"])): p["key"]
            for p in (personas if personas is not None else load_personas())
            for d in p["documents"]
        }

    def persona_for(self, doc_type: str | None, number: str | None) -> str:
        if not doc_type or not number:
            return STRANGER_KEY
        return self._by_document.get((str(doc_type), plain_number(number)), STRANGER_KEY)

    def _follow(self) -> None:
        # Runs on the capture worker. The flow set the document before it asked for the
        # capture (the executor's submit orders the two), and a reset that clears it
        # cancels the capture, whose result is then dropped.
        doc_type, number = self._who()
        key = self.persona_for(doc_type, number)
        with self._lock:
            if key != self.script.persona_key:
                self.script.persona_key = key
                self.face_attempts = self.finger_attempts = 0

    def _capture_face(self, *args):
        self._follow()
        return super()._capture_face(*args)

    def _capture_finger(self, server_nonce, position, cancel, progress):
        self._follow()
        if self.fingers is None:
            return super()._capture_finger(server_nonce, position, cancel, progress)
        with self._lock:
            noise = self._next(self.script.finger, self.finger_attempts)
            attempt = self.finger_attempts
            self.finger_attempts += 1
            persona = self.script.persona_key
        return self.fingers.capture(
            persona, noise, attempt, server_nonce, position, cancel, progress
        )
