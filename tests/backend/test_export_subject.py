"""`kiosk-backend export-subject`: a pensioner's data on request — theirs, all of it, and
nobody else's; biometric data only when asked for."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

from backend import subject
from kiosk.api import contract as c
from tests import sim_evidence
from tests.conftest import REPO, identify, persona


def _verified(client, personas):
    p = persona(personas, certification="due")
    session = identify(client, p)
    decision = sim_evidence.submit(client, session, sim_evidence.face(p["key"], 0.2))
    assert decision.outcome is c.Outcome.APPROVED
    return p, session, decision


def _pensioner_id(app, p) -> int:
    from sqlalchemy import select

    from backend import models as m

    with app.state.sessions() as db:
        doc = p["documents"][0]
        return db.scalar(
            select(m.IdentityDocument.pensioner_id).where(
                m.IdentityDocument.number == doc["number"]
            )
        )


def test_export_holds_the_journey_and_nobody_else(backend, client, personas):
    app, _ = backend
    p, session, decision = _verified(client, personas)
    other = persona(personas, certification="overdue")
    identify(client, other)  # someone else's session must not appear
    pid = _pensioner_id(app, p)
    with app.state.sessions() as db:
        data = subject.export(db, pid)
    tables = data["tables"]
    assert tables["pensioners"][0]["name_en"] == p["name_en"]
    assert {d["number"] for d in tables["identity_documents"]} == {
        d["number"] for d in p["documents"]
    }
    assert [s["id"] for s in tables["verification_sessions"]] == [session.session_id]
    assert tables["receipts"][0]["reference"] == decision.reference
    assert tables["attempts"] and tables["payments"] and tables["reference_templates"]
    assert any(e["subject"] == f"pensioner:{pid}" for e in tables["audit_log"])
    text = subject.dumps(data)
    assert other["name_en"] not in text
    for d in other["documents"]:
        assert d["number"] not in text
    # Biometric columns are listed, not given, unless asked for.
    tpl = tables["reference_templates"][0]["template"]
    assert tpl["withheld"].startswith("biometric") and tpl["bytes"] > 0
    with app.state.sessions() as db:
        full = subject.export(db, pid, with_biometrics=True)
    assert "base64" in full["tables"]["reference_templates"][0]["template"]


def test_cli_by_document_writes_a_private_file_and_audits(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'b.sqlite3'}"
    env = {
        **os.environ,
        "KIOSK_BACKEND_DB_URL": db_url,
        "KIOSK_BACKEND_EVIDENCE_KEY_PATH": str(tmp_path / "ek.pem"),
        "KIOSK_BACKEND_ECARD_KEY_PATH": str(tmp_path / "ec.pem"),
    }

    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "backend.cli", *args],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    assert run("seed", "--demo").returncode == 0
    out = tmp_path / "subject.json"
    done = run("export-subject", "--document", "hkid", "PC106658(5)", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "rows from" in done.stdout and "PC106658" not in done.stdout
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    data = json.loads(out.read_text())
    assert data["tables"]["pensioners"][0]["name_zh"] == "陳大文"
    assert run("audit-verify").returncode == 0
    bad = run("export-subject", "--document", "hkid", "PC106658(4)")
    assert bad.returncode != 0 and len(bad.stderr.strip().splitlines()) == 1
    nobody = run("export-subject", "--pensioner-id", "9999")
    assert nobody.returncode != 0 and "9999" in nobody.stderr
