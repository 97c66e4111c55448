"""`kiosk-backend export-subject`: everything the back end holds about one pensioner, as JSON,
for a data access request (HK PDPO s.18, Macau Law 8/2005 art. 11, PRC PIPL art. 45).

The export walks the schema rather than a fixed list, so a table added later is not
forgotten: every row with the pensioner's id, then every row pointing at one of those rows
(sessions → attempts, evidence, decisions; account → payments; references → templates), and
the audit entries that name the pensioner or one of their sessions. Staff accounts and other
people's rows never appear: only rows reached from the pensioner.

Biometric columns (reference photos and fingerprints, templates, evidence frames) are part of
the subject's data, but a JSON file sent by e-mail is the wrong place for them: by default
they are listed by size only; `--with-biometrics` includes them (base64), for handing over
in person on encrypted media.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

from sqlalchemy import Column, Table, or_, select
from sqlalchemy.orm import Session

from backend import models as m

# (table, column): data that is a biometric (an image of a face or a finger, or a template).
BIOMETRIC = {
    ("enrolled_references", "source_data"),
    ("reference_templates", "template"),
    ("case_evidence", "frame_data"),
}
# Columns that are secrets of the system, not data about the person.
SECRET = {("subject_tokens", "token"), ("subject_tokens", "token_hash")}
MAX_HOPS = 3


class SubjectNotFound(LookupError):
    pass


def _value(table: str, column: Column, value: Any, with_biometrics: bool) -> Any:
    if value is None:
        return None
    if (table, column.name) in SECRET:
        return "(withheld: a system secret)"
    if (table, column.name) in BIOMETRIC and not with_biometrics:
        size = len(value) if isinstance(value, bytes | str) else None
        return {"withheld": "biometric data; export with --with-biometrics", "bytes": size}
    if isinstance(value, bytes):
        return {"base64": base64.b64encode(value).decode("ascii")}
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, int | float | str | bool | list | dict):
        return value
    return str(value)


def _rows(db: Session, table: Table, where) -> list[dict]:
    return [dict(r._mapping) for r in db.execute(select(table).where(where))]


def export(db: Session, pensioner_id: int, *, with_biometrics: bool = False) -> dict:
    if db.get(m.Pensioner, pensioner_id) is None:
        raise SubjectNotFound(f"no pensioner {pensioner_id}")
    tables = m.Base.metadata.tables
    found: dict[str, dict[Any, dict]] = {}  # table -> primary key -> row

    def add(table: Table, rows: list[dict]) -> list[dict]:
        pk = [c.name for c in table.primary_key.columns]
        new = []
        for row in rows:
            key = tuple(row[c] for c in pk)
            if key not in found.setdefault(table.name, {}):
                found[table.name][key] = row
                new.append(row)
        return new

    pensioners = tables["pensioners"]
    frontier = {
        "pensioners": add(pensioners, _rows(db, pensioners, pensioners.c.id == pensioner_id))
    }
    for table in tables.values():
        if "pensioner_id" in table.c and table.name not in ("audit_log",):
            new = add(table, _rows(db, table, table.c.pensioner_id == pensioner_id))
            if new:
                frontier.setdefault(table.name, []).extend(new)
    # Follow foreign keys that point at rows already found (a few hops: session -> attempt).
    for _ in range(MAX_HOPS):
        nxt: dict[str, list[dict]] = {}
        for table in tables.values():
            if table.name in ("audit_log", "staff_users", "staff_sessions", "kiosks"):
                continue
            for fk in table.foreign_keys:
                target = fk.column.table.name
                keys = [r[fk.column.name] for r in frontier.get(target, [])]
                if not keys or target in ("kiosks", "staff_users"):
                    continue
                new = add(table, _rows(db, table, fk.parent.in_(keys)))
                if new:
                    nxt.setdefault(table.name, []).extend(new)
        if not nxt:
            break
        frontier = nxt
    sessions = [r["id"] for r in found.get("verification_sessions", {}).values()]
    audit = tables["audit_log"]
    names = [f"pensioner:{pensioner_id}", *(f"session:{s}" for s in sessions)]
    found["audit_log"] = {(r["id"],): r for r in _rows(db, audit, or_(audit.c.subject.in_(names)))}
    out: dict[str, Any] = {
        "format": "jiangmen-kiosk subject export 1",
        "pensioner_id": pensioner_id,
        "with_biometrics": with_biometrics,
        "tables": {},
    }
    for name in sorted(found):
        table = tables[name]
        rows = [
            {c.name: _value(name, c, row[c.name], with_biometrics) for c in table.columns}
            for _key, row in sorted(found[name].items(), key=lambda kv: str(kv[0]))
        ]
        if rows:
            out["tables"][name] = rows
    return out


def dumps(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True)
