"""The demo pensioners cover what the issue asks and hold only valid document numbers."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from kiosk.api import documents
from kiosk.api.contract import AccountStatus, CertificationStatus, DocumentType


def test_every_document_number_is_valid(personas):
    for p in personas:
        dob = dt.date.fromisoformat(p["date_of_birth"])
        for doc in p["documents"]:
            parsed = documents.parse(doc["type"], doc["number"])
            assert parsed.number == doc["number"], (p["key"], doc)
            documents.check_birth_date(parsed, dob)


def test_coverage(personas):
    assert len(personas) >= 20
    assert len({p["key"] for p in personas}) == len(personas)
    kinds = Counter(doc["type"] for p in personas for doc in p["documents"])
    assert set(kinds) == {t.value for t in DocumentType}
    permits = [
        doc
        for p in personas
        for doc in p["documents"]
        if doc["type"] == "prc_id"
        and documents.is_residence_permit(documents.parse("prc_id", doc["number"]))
    ]
    assert {x["number"][:2] for x in permits} == {"81", "82"}
    assert {p["account"]["status"] for p in personas} == {s.value for s in AccountStatus}
    assert {p["certification"] for p in personas} == {s.value for s in CertificationStatus}
    assert any(not p["face"] for p in personas)
    assert any(not p["fingers"] for p in personas)


def test_seeded_certification_states_are_what_the_personas_say(client, personas):
    """Through the API: enquiry after a simulated match shows each persona's status."""
    from kiosk.api import contract as c
    from tests import sim_evidence as ev
    from tests.conftest import identify

    seen = set()
    for p in personas:
        if p["certification"] in seen or not p["face"]:
            continue
        sess = identify(client, p, c.Purpose.ENQUIRY)
        ev.submit(client, sess, ev.face(p["key"], 0.2))
        summary = client.pension_summary(sess.session_id)
        assert summary.certification_status.value == p["certification"], p["key"]
        seen.add(p["certification"])
    assert len(seen) == 4
