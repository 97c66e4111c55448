"""The resident in front of a demo kiosk: whoever's document was just entered.

A demo has no real person at the camera, so the simulated captures must come from the demo
pensioner the kiosk identified, or the back end would (rightly) refuse them. `who` tells the
resident which document the flow holds; the demo pensioners' file (the one the demo back end
is seeded from) maps it to that person. A document of no demo pensioner gives a stranger's
captures. Each capture is a simulated template, marked simulated in the evidence.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from kiosk.devices.sim_resident import ResidentScript, SimulatedResident

DEMO_PENSIONERS = Path(__file__).resolve().parents[2] / "assets" / "demo" / "pensioners.json"
STRANGER_KEY = "not-a-demo-pensioner"

Who = Callable[[], tuple[str | None, str | None]]  # (document type, document number)


def _plain(number: str) -> str:
    return re.sub(r"[^0-9A-Z]", "", number.upper())


def load_personas(path: Path = DEMO_PENSIONERS) -> list[dict]:
    return json.loads(Path(path).read_text(encoding="utf-8"))["pensioners"]


class DemoResident(SimulatedResident):
    def __init__(
        self,
        who: Who,
        script: ResidentScript | None = None,
        personas: list[dict] | None = None,
    ):
        super().__init__(script or ResidentScript(STRANGER_KEY))
        self._who = who
        self._by_document = {
            (d["type"], _plain(d["number"])): p["key"]
            for p in (personas if personas is not None else load_personas())
            for d in p["documents"]
        }

    def persona_for(self, doc_type: str | None, number: str | None) -> str:
        if not doc_type or not number:
            return STRANGER_KEY
        return self._by_document.get((str(doc_type), _plain(number)), STRANGER_KEY)

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

    def _capture_finger(self, *args):
        self._follow()
        return super()._capture_finger(*args)
