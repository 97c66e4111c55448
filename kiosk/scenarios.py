"""The scenarios `kiosk scenario NAME` plays: a demo pensioner at the kiosk, as data.

A scenario is a resident's policy: for each screen, what they touch there (in order, one
entry per visit), how their face and fingers compare with their enrolled references, and
the screen the journey must end on. Fingers always go through the real R30x driver to the
protocol simulator (kiosk/devices/demo_resident.py). `kiosk/ui/scenario.py` plays it on
the real UI with real touches against the reference back end. Nothing here imports Kivy,
so the catalogue can be listed and checked anywhere.

Actions: a NAV action of the screen (`"start"`, `"agree"`, ...), `"choose:<value>"` for a
choice button, and these resident-level steps:

- `type_document`, `enter_birth_date`: the persona's document number on the keypad, their
  birth date on the date entry, then the primary button;
- `choose_document`, `choose_finger`: the persona's first document type / enrolled finger;
- `walk_away`: nobody touches the kiosk: its clock jumps past the idle warning (virtual time);
- `stop_backend`: the bureau's back end goes away (the demo back end is stopped);
- `backend_drops_at_capture`: the back end goes away while the resident is at the camera
  (after the session started, before the evidence is sent): the outbox path;
- `hold_up_ecard` / `lower_ecard`: the resident holds their QR e-card (issued by the demo
  back end) up to the camera, then puts it away.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kiosk.devices.sim_resident import BORDERLINE, MATCH, STRANGER

IDENTIFY = {
    "attract": ["start"],
    "language": ["choose:zh_Hant_HK"],
    "doc_type": ["choose_document"],
    "doc_number": ["type_document"],
    "birth_date": ["enter_birth_date"],
    "confirm_name": ["yes"],
    "consent": ["agree"],
}


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str
    certification: str  # the demo pensioner chosen: first with this certification state
    steps: dict[str, list[str]]
    expect: str  # the screen the journey must end on
    face: tuple[float, ...] = (MATCH,)
    finger: tuple[float, ...] = (MATCH,)
    expect_reference: bool = False
    notes: list[str] = field(default_factory=list)
    # "simulated": the scripted resident's face captures (`face` above); "actor": the live
    # pipeline on the simulated camera with the demo actor (kiosk/devices/demo_actor.py),
    # which needs her clip from the evaluation data.
    face_pipeline: str = "simulated"


def _journey(purpose: str, **more: list[str]) -> dict[str, list[str]]:
    return {**IDENTIFY, "home": [purpose], **more}


SCENARIOS = {
    s.name: s
    for s in (
        Scenario(
            "enquiry",
            "pension enquiry: face check, summary, payments page 2, print a statement",
            "done",
            _journey("enquiry", summary=["payments", "print"], payments=["next", "back"]),
            expect="receipt",
        ),
        Scenario(
            "verify-approve",
            "annual verification approved by face; the receipt prints",
            "due",
            _journey("verify"),
            expect="receipt",
            expect_reference=True,
        ),
        Scenario(
            "verify-live",
            "annual verification on the live face pipeline: the demo actor answers the "
            "kiosk's liveness prompts on the simulated camera and her face matches",
            "due",
            _journey("verify"),
            expect="receipt",
            expect_reference=True,
            face_pipeline="actor",
        ),
        Scenario(
            "verify-finger-fallback",
            "three faces that do not match, then a fingerprint that does",
            "due",
            _journey(
                "verify",
                try_again=["retry", "retry"],
                switch_finger=["continue"],
                finger_choice=["choose_finger"],
            ),
            expect="receipt",
            face=(STRANGER,),
            finger=(MATCH,),
            expect_reference=True,
        ),
        Scenario(
            "verify-manual-review",
            "a borderline face: sent for staff review, the receipt says so",
            "due",
            _journey("verify", staff_review=["print"]),
            expect="receipt",
            face=(BORDERLINE,),
            expect_reference=True,
        ),
        Scenario(
            "verify-ecard",
            "identified by the QR e-card held up to the camera, then verified by face",
            "due",
            {
                **IDENTIFY,
                "home": ["verify"],
                "doc_type": ["hold_up_ecard", "scan"],
                "confirm_name": ["lower_ecard", "yes"],
            },
            expect="receipt",
            expect_reference=True,
        ),
        Scenario(
            "verify-offline",
            "the back end goes away during the face capture: the kiosk keeps the sealed "
            "evidence in its outbox and prints a pending receipt",
            "due",
            _journey("verify", consent=["backend_drops_at_capture", "agree"]),
            expect="pending",
            expect_reference=True,
        ),
        Scenario(
            "idle-reset",
            "the resident walks away at the name check: warning, then a full reset",
            "due",
            _journey("verify", confirm_name=["walk_away"], idle_warning=["walk_away"]),
            expect="attract",
        ),
        Scenario(
            "backend-down",
            "the back end goes away before the resident identifies: out of service",
            "due",
            {**IDENTIFY, "home": ["stop_backend", "verify"]},
            expect="out_of_service",
        ),
    )
}
