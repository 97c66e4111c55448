"""The same back end on PostgreSQL, when KIOSK_TEST_POSTGRES_URL names a server.

Each run creates a database of its own (so the server's other databases are untouched) and
drops it afterwards. Example: postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import os
import secrets
import threading

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from backend import models as m
from kiosk.api import contract as c
from tests import sim_evidence as ev
from tests.conftest import identify, persona, register_kiosk

URL = os.environ.get("KIOSK_TEST_POSTGRES_URL")
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not URL, reason="KIOSK_TEST_POSTGRES_URL is not set"),
]


@pytest.fixture
def pg_url():
    admin_url = make_url(URL)
    name = "kiosk_test_" + secrets.token_hex(4)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def pg_backend(pg_url, clock, tmp_path):
    from backend.settings import BackendSettings
    from tests.conftest import _start

    settings = BackendSettings(
        db_url=pg_url,
        evidence_key_path=str(tmp_path / "ek.pem"),
        ecard_key_path=str(tmp_path / "ecard.pem"),
    )
    app, server = _start(settings, clock)
    yield app, server
    server.stop()
    app.state.engine.dispose()


def test_migrations_match_models_on_postgres(pg_url):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from backend.db import make_engine, upgrade

    upgrade(pg_url)
    engine = make_engine(pg_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), m.Base.metadata)
    engine.dispose()
    assert diff == []


def test_journey_on_postgres(pg_backend, clock, personas):
    from backend.audit import verify_chain
    from backend.seed import seed_demo
    from kiosk.api.client import KioskApiClient

    app, server = pg_backend
    with app.state.sessions() as db:
        assert seed_demo(db, clock.now(), app.state.settings) == (0, len(personas))
    ident = register_kiosk(app, clock)
    cl = KioskApiClient(
        server.url, ident.kiosk_id, ident.key, clock=clock.time, sleep=lambda s: None
    )
    p = persona(personas, certification="due")
    sess = identify(cl, p)
    evidence = ev.seal(cl, sess, ev.face(p["key"], 0.2))
    first = cl.submit_evidence(sess.session_id, evidence, idempotency_key="ev-pg-0001")
    again = cl.submit_evidence(sess.session_id, evidence, idempotency_key="ev-pg-0001")
    assert first.outcome is c.Outcome.APPROVED and again == first
    with app.state.sessions() as db:
        n = db.scalar(
            select(func.count())
            .select_from(m.Attempt)
            .where(m.Attempt.session_id == sess.session_id)
        )
        assert n == 1
        assert verify_chain(db) is None
    cl.close()


def test_concurrent_writers_keep_one_audit_chain(pg_backend, clock, personas):
    """Heartbeats and identifies from several kiosks at once: the chain must not fork."""
    from backend.audit import verify_chain
    from kiosk.api.client import KioskApiClient

    app, server = pg_backend
    errors = []

    def worker(i):
        ident = register_kiosk(app, clock, kiosk_id=f"HK-PG-{i:02d}")
        cl = KioskApiClient(
            server.url, ident.kiosk_id, ident.key, clock=clock.time, sleep=lambda s: None
        )
        try:
            for p in personas[i::4][:4]:
                identify(cl, p, c.Purpose.ENQUIRY)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            cl.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    with app.state.sessions() as db:
        assert verify_chain(db) is None
        assert db.scalar(select(func.count()).select_from(m.AuditEntry)) > 16
