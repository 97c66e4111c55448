"""Kiosk state from heartbeats in virtual time (online -> stale -> offline) and device alerts,
as functions and on the fleet page over HTTP."""

from __future__ import annotations

import datetime as dt
import re

from backend.settings import BackendSettings
from backend.staff import fleet
from tests.backend.staff.conftest import add_staff, heartbeat, signed_in

S = BackendSettings(db_url="sqlite://", fleet_stale_after_s=90, fleet_offline_after_s=300)
T0 = dt.datetime(2026, 11, 28, 8, 0, tzinfo=dt.UTC)


def test_state_transitions():
    at = lambda s: T0 + dt.timedelta(seconds=s)  # noqa: E731
    assert fleet.state_of(T0, at(0), S) == "online"
    assert fleet.state_of(T0, at(90), S) == "online"
    assert fleet.state_of(T0, at(91), S) == "stale"
    assert fleet.state_of(T0, at(300), S) == "stale"
    assert fleet.state_of(T0, at(301), S) == "offline"
    assert fleet.state_of(None, at(0), S) == "never"
    assert fleet.state_of(T0, at(0), S, revoked=True) == "revoked"


def _codes(payload, depths=(0,)):
    return [a.code for a in fleet.alerts_of(payload, list(depths), T0, S)]


def test_alerts_from_device_reports():
    dev = lambda state, detail=None: {"state": state, "detail": detail}  # noqa: E731
    base = {"app_version": "1", "outbox_depth": 0, "free_disk_mb": 50_000, "last_errors": []}
    assert _codes({**base, "devices": {"camera": dev("ok", "camera_ok")}}) == []
    assert _codes({**base, "devices": {"printer": dev("ok", "printer_paper_near_end")}}) == [
        "paper_low"
    ]
    assert _codes({**base, "devices": {"printer": dev("degraded", "printer_paper_out")}}) == [
        "paper_out"
    ]
    assert _codes({**base, "devices": {"camera": dev("missing")}}) == ["camera_missing"]
    assert _codes({**base, "devices": {"fingerprint": dev("error", "TimeoutError")}}) == [
        "fingerprint_error"
    ]
    assert _codes({**base, "devices": {"camera": dev("degraded", "camera_reconnecting")}}) == [
        "camera_degraded"
    ]
    texts = [a.text for a in fleet.alerts_of({**base, "devices": {"camera": dev("missing")}},
                                             [0], T0, S)]  # fmt: skip
    assert texts == ["Camera missing"]


def test_alerts_from_outbox_disk_and_errors():
    base = {"app_version": "1", "devices": {}, "outbox_depth": 5, "free_disk_mb": 50_000}
    assert _codes(base, depths=[5, 3, 1]) == ["outbox_growing"]
    assert _codes(base, depths=[5, 5, 1]) == []
    assert _codes(base, depths=[5, 3]) == []  # two beats are not a trend yet
    old = (T0 - dt.timedelta(seconds=S.fleet_outbox_age_s + 60)).isoformat()
    assert _codes({**base, "outbox_oldest_at": old}) == ["outbox_old"]
    assert _codes({**base, "free_disk_mb": 100}) == ["disk_low"]
    assert _codes({**base, "last_errors": ["printer_offline"]}) == ["errors"]


def _row(html: str, kiosk_id: str) -> str:
    found = re.search(rf'<tr id="kiosk-{re.escape(kiosk_id)}" data-state="(\w+)">(.*?)</tr>',
                      html, re.S)  # fmt: skip
    assert found, f"no row for {kiosk_id}"
    return found.group(1), found.group(2)


def test_fleet_page_follows_missed_heartbeats(backend, clock, client, kiosk_identity):
    app, server = backend
    s = app.state.settings
    http = signed_in(server.url, add_staff(app, clock, "tom", "technician"), clock)
    state, _ = _row(http.get(server.url + "/staff/fleet").text, kiosk_identity.kiosk_id)
    assert state == "never"
    heartbeat(client)
    heartbeat(client, printer="printer_paper_near_end", outbox=2)
    state, row = _row(http.get(server.url + "/staff/fleet").text, kiosk_identity.kiosk_id)
    assert state == "online" and 'data-code="paper_low"' in row and "1.2.3" in row
    clock.advance(s.fleet_stale_after_s + 1)
    state, _ = _row(http.get(server.url + "/staff/fleet").text, kiosk_identity.kiosk_id)
    assert state == "stale"
    clock.advance(s.fleet_offline_after_s - s.fleet_stale_after_s)
    state, _ = _row(http.get(server.url + "/staff/fleet").text, kiosk_identity.kiosk_id)
    assert state == "offline"
    heartbeat(client)  # back
    state, row = _row(http.get(server.url + "/staff/fleet").text, kiosk_identity.kiosk_id)
    assert state == "online" and "paper_low" not in row
    detail = http.get(f"{server.url}/staff/fleet/kiosks/{kiosk_identity.kiosk_id}").text
    table = re.search(r'<table class="grid compact" id="heartbeats">(.*?)</table>', detail, re.S)
    assert table.group(1).count("<tr>") == 1 + 3  # the header and three heartbeats
    assert 'data-code="paper_low"' in detail  # the older heartbeat's alert is listed
