"""The review decision and retention on PostgreSQL, when KIOSK_TEST_POSTGRES_URL names a
server (as tests/backend/test_postgres.py: a database of its own, dropped afterwards)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backend import models as m
from backend.staff import retention
from kiosk.api import contract as c
from tests.backend.staff.conftest import add_staff, borderline_case, form_token, signed_in
from tests.backend.test_postgres import URL, pg_url  # noqa: F401 - the fixture
from tests.conftest import register_kiosk

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not URL, reason="KIOSK_TEST_POSTGRES_URL is not set"),
]


def test_review_decision_and_retention_on_postgres(pg_url, clock, tmp_path, personas):  # noqa: F811
    from backend.settings import BackendSettings
    from kiosk.api.client import KioskApiClient
    from tests.conftest import _start

    settings = BackendSettings(
        db_url=pg_url,
        evidence_key_path=str(tmp_path / "ek.pem"),
        ecard_key_path=str(tmp_path / "ecard.pem"),
    )
    app, server = _start(settings, clock)
    try:
        ident = register_kiosk(app, clock)
        client = KioskApiClient(server.url, ident.kiosk_id, ident.key, clock=clock.time,
                                sleep=lambda s: None)  # fmt: skip
        reference = borderline_case(client, personas)
        http = signed_in(server.url, add_staff(app, clock, "rita", "reviewer"), clock)
        page = http.get(f"{server.url}/staff/review/cases/{reference}", timeout=10)
        r = http.post(
            f"{server.url}/staff/review/cases/{reference}/decision",
            data={"csrf_token": form_token(page.text), "decision": "approved",
                  "reason_code": "same_person", "note": "same person"},
            timeout=10,
        )  # fmt: skip
        assert r.status_code == 200
        assert client.receipt(reference).status is c.ReceiptStatus.APPROVED
        clock.advance(settings.evidence_retention_days * 86400 + 1)
        with app.state.sessions() as db:
            assert retention.run(db, clock.now(), settings).evidence_purged == 1
            assert db.scalar(select(m.Notification.status)) == "sent"
        client.close()
    finally:
        server.stop()
        app.state.engine.dispose()
