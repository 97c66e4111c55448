"""Demo data: the pensioners of assets/demo/pensioners.json, seeded idempotently.

Faces are simulated references (biometrics/simulated.py) until real enrolment photos are
given with `kiosk-backend enrol`. Each finger has two templates: a simulated one (for a demo
kiosk's scripted resident) and the kiosk extractor's own (`gabor-mcc`) of a synthetic
finger, from assets/demo/fingers.json (scripts/demo_fingers.py), which a demo kiosk's
fingerprint simulator serves other impressions of: its captures go through the real driver,
extractor and matcher. Certification dates are set relative to the day
of seeding so that each persona is due, overdue, done or suspended as its entry says.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend import audit
from backend import models as m
from backend.settings import BackendSettings
from biometrics import simulated

PERSONAS = Path(__file__).resolve().parent.parent / "assets" / "demo" / "pensioners.json"
FINGERS = PERSONAS.with_name("fingers.json")


def load_personas(path: Path = PERSONAS) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["pensioners"]


def load_finger_references(path: Path = FINGERS) -> tuple[str, str, dict[str, dict]]:
    """(extractor, version, {"<persona>/<position>": template dict}); none without the file."""
    if not path.exists():
        return "", "", {}
    data = json.loads(path.read_text(encoding="utf-8"))
    fingers = {k: v["template"] for k, v in data["fingers"].items()}
    return data["extractor"], data["extractor_version"], fingers


def _cycle_dates(state: str, today: dt.date, s: BackendSettings) -> tuple[dt.date | None, dt.date]:
    period = dt.timedelta(days=s.certification_period_days)
    due_in = {
        "done": s.certification_window_days + 120,
        "due": max(s.certification_window_days // 3, 1),
        "overdue": -max(s.suspension_after_overdue_days // 3, 1),
        "suspended": -(s.suspension_after_overdue_days + 30),
    }[state]
    next_due = today + dt.timedelta(days=due_in)
    return next_due - period, next_due


def _months_back(today: dt.date, n: int) -> list[str]:
    y, mth = today.year, today.month
    out = []
    for _ in range(n):
        mth -= 1
        if mth == 0:
            y, mth = y - 1, 12
        out.append(f"{y:04d}-{mth:02d}")
    return out


def seed_demo(db: Session, now: dt.datetime, s: BackendSettings) -> tuple[int, int]:
    """Returns (created, already_present)."""
    created = present = 0
    today = now.date()
    extractor, extractor_version, finger_refs = load_finger_references()
    for p in load_personas():
        first = p["documents"][0]
        exists = db.scalar(
            select(m.IdentityDocument).where(
                m.IdentityDocument.doc_type == first["type"],
                m.IdentityDocument.number == first["number"],
            )
        )
        if exists is not None:
            present += 1
            continue
        person = m.Pensioner(
            name_zh=p["name_zh"],
            name_en=p["name_en"],
            date_of_birth=dt.date.fromisoformat(p["date_of_birth"]),
            phone=p["phone"],
            created_at=now,
        )
        db.add(person)
        db.flush()
        for d in p["documents"]:
            db.add(
                m.IdentityDocument(pensioner_id=person.id, doc_type=d["type"], number=d["number"])
            )
        acc = p["account"]
        account = m.PensionAccount(
            pensioner_id=person.id,
            status=acc["status"],
            monthly_amount=Decimal(acc["monthly_amount"]),
            currency="CNY",
            bank_name=acc["bank_name"],
            bank_account_last4=acc["account_last4"],
            opened_on=today - dt.timedelta(days=365 * 8),
        )
        db.add(account)
        db.flush()
        months = _months_back(today, 24)
        withheld = {"suspended": 4, "terminated": 24}.get(acc["status"], 0)
        for i, period in enumerate(months):
            paid = i >= withheld
            y, mo = map(int, period.split("-"))
            db.add(
                m.Payment(
                    account_id=account.id,
                    period=period,
                    amount=Decimal(acc["monthly_amount"]),
                    paid_on=dt.date(y, mo, 10) if paid else None,
                    status="paid" if paid else "withheld",
                )
            )
        last, next_due = _cycle_dates(p["certification"], today, s)
        db.add(
            m.CertificationCycle(
                pensioner_id=person.id, last_certified_on=last, next_due_on=next_due
            )
        )
        if p["face"]:
            ref = m.EnrolledReference(
                pensioner_id=person.id,
                modality="face",
                finger_position=0,
                source_format="sim-seed",
                source_data=p["key"].encode(),
                created_at=now,
            )
            db.add(ref)
            db.flush()
            vector = simulated.face_vector(p["key"])
            db.add(
                m.ReferenceTemplate(
                    reference_id=ref.id,
                    extractor=simulated.FACE_EXTRACTOR,
                    extractor_version=simulated.VERSION,
                    template=json.dumps(vector).encode(),
                    created_at=now,
                )
            )
        for finger in p["fingers"]:
            ref = m.EnrolledReference(
                pensioner_id=person.id,
                modality="fingerprint",
                finger_position=finger,
                source_format="sim-seed",
                source_data=p["key"].encode(),
                created_at=now,
            )
            db.add(ref)
            db.flush()
            db.add(
                m.ReferenceTemplate(
                    reference_id=ref.id,
                    extractor=simulated.FINGER_EXTRACTOR,
                    extractor_version=simulated.VERSION,
                    template=simulated.finger_template(p["key"], finger),
                    created_at=now,
                )
            )
            real = finger_refs.get(f"{p['key']}/{finger}")
            if real is not None:
                db.add(
                    m.ReferenceTemplate(
                        reference_id=ref.id,
                        extractor=extractor,
                        extractor_version=extractor_version,
                        template=json.dumps(real, separators=(",", ":")).encode(),
                        created_at=now,
                    )
                )
        created += 1
    if created:
        audit.append(db, now, "admin:seed", "demo_seeded", None, {"created": created})
    db.commit()
    return created, present
