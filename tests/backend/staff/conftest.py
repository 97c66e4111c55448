"""Helpers of the staff console tests: staff users, a signed-in HTTP session, a borderline
case produced through the real kiosk API, heartbeats."""

from __future__ import annotations

import re
from dataclasses import dataclass

import requests
from sqlalchemy import select

from backend import models as m
from backend.staff import accounts
from kiosk.api import contract as c
from tests import sim_evidence
from tests.conftest import identify, persona

PASSWORD = "correct horse battery staple"


@dataclass
class StaffAccount:
    username: str
    role: str
    password: str
    secret: str


def add_staff(app, clock, username: str, role: str, password: str = PASSWORD) -> StaffAccount:
    with app.state.sessions() as db:
        _user, secret = accounts.create_user(db, clock.now(), username, role, password)
    return StaffAccount(username, role, password, secret)


def code_for(account: StaffAccount, clock, steps: int = 0) -> str:
    return accounts.totp_now(account.secret, clock.time() + steps * accounts.TOTP_STEP_S)


def form_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def login_form(http: requests.Session, base: str) -> str:
    r = http.get(base + "/staff/login", timeout=10)
    assert r.status_code == 200
    return form_token(r.text)


def sign_in(
    base: str, account: StaffAccount, clock, *, code: str | None = None, password=None
) -> tuple[requests.Session, requests.Response]:
    http = requests.Session()
    token = login_form(http, base)
    r = http.post(
        base + "/staff/login",
        data={
            "username": account.username,
            "password": account.password if password is None else password,
            "code": code_for(account, clock) if code is None else code,
            "csrf_token": token,
        },
        timeout=10,
    )
    return http, r


def signed_in(base: str, account: StaffAccount, clock) -> requests.Session:
    http, r = sign_in(base, account, clock)
    assert r.status_code == 200, r.text
    return http


def borderline_case(client, personas) -> str:
    """A certification whose face is borderline: the back end sends it to staff review.
    Returns the receipt reference."""
    p = persona(personas, certification="due", face=True)
    info = identify(client, p)
    decision = sim_evidence.submit(client, info, sim_evidence.face(p["key"], 0.5, seed=3))
    assert decision.outcome is c.Outcome.MANUAL_REVIEW, decision
    assert decision.reason_code is c.ReasonCode.BORDERLINE
    return decision.reference


def heartbeat(client, *, printer: str = "printer_ready", outbox: int = 0, errors=()):
    return client.heartbeat(
        c.HeartbeatRequest(
            app_version="1.2.3",
            devices={
                "camera": c.DeviceReport(state=c.DeviceState.OK, detail="camera_ok"),
                "fingerprint": c.DeviceReport(state=c.DeviceState.OK, detail="finger_ready"),
                "printer": c.DeviceReport(state=c.DeviceState.OK, detail=printer),
            },
            outbox_depth=outbox,
            free_disk_mb=20_000,
            last_errors=list(errors),
        )
    )


def audit_actions(app, actor: str | None = None) -> list[tuple[str, str, str | None]]:
    with app.state.sessions() as db:
        q = select(m.AuditEntry).order_by(m.AuditEntry.id)
        if actor:
            q = q.where(m.AuditEntry.actor == actor)
        return [(e.actor, e.action, e.subject) for e in db.scalars(q)]
