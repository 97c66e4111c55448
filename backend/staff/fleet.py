"""The fleet page's data: each kiosk's state from its last heartbeat, and alerts from what
that heartbeat reported (backend/api.py keeps every heartbeat in `heartbeats`).

State is computed when asked, from the injected clock: `online` while the last heartbeat is at
most `fleet_stale_after_s` old, `stale` up to `fleet_offline_after_s`, then `offline`; `never`
for a kiosk that has not reported yet, `revoked` for a revoked one.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend import models as m
from backend.settings import BackendSettings

ONLINE, STALE, OFFLINE, NEVER, REVOKED = "online", "stale", "offline", "never", "revoked"

DEVICE_LABELS = {
    "camera": "Camera",
    "fingerprint": "Fingerprint sensor",
    "printer": "Printer",
    "reader": "QR reader",
}


@dataclass(frozen=True)
class Alert:
    code: str  # stable: paper_low, camera_missing, ...
    text: str  # for the technician
    severity: str  # warning, critical


def state_of(
    last_seen: dt.datetime | None, now: dt.datetime, s: BackendSettings, revoked: bool = False
) -> str:
    if revoked:
        return REVOKED
    if last_seen is None:
        return NEVER
    age = (now - last_seen).total_seconds()
    if age <= s.fleet_stale_after_s:
        return ONLINE
    if age <= s.fleet_offline_after_s:
        return STALE
    return OFFLINE


def _device_alerts(name: str, report: dict) -> list[Alert]:
    label = DEVICE_LABELS.get(name, name)
    state = report.get("state")
    detail = report.get("detail") or ""
    if state == "missing":
        return [Alert(f"{name}_missing", f"{label} missing", "critical")]
    if name == "printer" and "paper_out" in detail:
        return [Alert("paper_out", "Paper out", "critical")]
    if name == "printer" and "paper_near_end" in detail:
        return [Alert("paper_low", "Paper low", "warning")]
    if state == "error":
        text = f"{label} error" + (f" ({detail})" if detail else "")
        return [Alert(f"{name}_error", text, "critical")]
    if state == "degraded":
        text = f"{label} degraded" + (f" ({detail})" if detail else "")
        return [Alert(f"{name}_degraded", text, "warning")]
    return []


def alerts_of(
    payload: dict | None, depths: list[int], now: dt.datetime, s: BackendSettings
) -> list[Alert]:
    """Alerts of a heartbeat `payload`; `depths` are the outbox depths of the last few
    heartbeats, newest first (a depth rising across all of them is an outbox growing)."""
    if not payload:
        return []
    out: list[Alert] = []
    for name, report in sorted((payload.get("devices") or {}).items()):
        out += _device_alerts(name, report or {})
    if len(depths) >= 3 and all(a > b for a, b in itertools.pairwise(depths)):
        out.append(Alert("outbox_growing", f"Outbox growing ({depths[0]} waiting)", "warning"))
    oldest = payload.get("outbox_oldest_at")
    if oldest:
        try:
            age = (now - dt.datetime.fromisoformat(oldest)).total_seconds()
        except (TypeError, ValueError):
            age = 0
        if age > s.fleet_outbox_age_s:
            out.append(
                Alert("outbox_old", f"Outbox not drained for {age // 60:.0f} min", "warning")
            )
    free = payload.get("free_disk_mb")
    if isinstance(free, int) and free < s.fleet_disk_low_mb:
        out.append(Alert("disk_low", f"Disk low ({free} MB free)", "warning"))
    errors = payload.get("last_errors") or []
    if errors:
        out.append(Alert("errors", f"{len(errors)} recent error(s)", "warning"))
    return out


@dataclass(frozen=True)
class KioskHealth:
    kiosk: m.Kiosk
    state: str
    last_seen: dt.datetime | None
    age_s: float | None
    version: str | None
    outbox_depth: int | None
    free_disk_mb: int | None
    devices: dict
    last_errors: list[str]
    alerts: list[Alert]


def _recent(db: Session, kiosk_id: str, limit: int) -> list[m.Heartbeat]:
    return list(
        db.scalars(
            select(m.Heartbeat)
            .where(m.Heartbeat.kiosk_id == kiosk_id)
            .order_by(m.Heartbeat.received_at.desc(), m.Heartbeat.id.desc())
            .limit(limit)
        )
    )


def health_of(
    kiosk: m.Kiosk, recent: list[m.Heartbeat], now: dt.datetime, s: BackendSettings
) -> KioskHealth:
    last = recent[0] if recent else None
    payload = last.payload if last else {}
    last_seen = last.received_at if last else kiosk.last_seen_at
    depths = [h.payload.get("outbox_depth", 0) for h in recent[:3]]
    return KioskHealth(
        kiosk=kiosk,
        state=state_of(last_seen, now, s, revoked=kiosk.state == "revoked"),
        last_seen=last_seen,
        age_s=(now - last_seen).total_seconds() if last_seen else None,
        version=payload.get("app_version"),
        outbox_depth=payload.get("outbox_depth"),
        free_disk_mb=payload.get("free_disk_mb"),
        devices=payload.get("devices") or {},
        last_errors=list(payload.get("last_errors") or []),
        alerts=alerts_of(payload, depths, now, s),
    )


def fleet(db: Session, now: dt.datetime, s: BackendSettings) -> list[KioskHealth]:
    kiosks = db.scalars(select(m.Kiosk).order_by(m.Kiosk.id)).all()
    return [health_of(k, _recent(db, k.id, 3), now, s) for k in kiosks]


def kiosk_detail(
    db: Session, kiosk_id: str, now: dt.datetime, s: BackendSettings, limit: int = 20
) -> tuple[KioskHealth, list[tuple[m.Heartbeat, list[Alert]]]] | None:
    """The kiosk's health and its recent heartbeats, newest first, each with its alerts."""
    kiosk = db.get(m.Kiosk, kiosk_id)
    if kiosk is None:
        return None
    recent = _recent(db, kiosk_id, limit + 2)
    beats = []
    for i, hb in enumerate(recent[:limit]):
        depths = [h.payload.get("outbox_depth", 0) for h in recent[i : i + 3]]
        beats.append((hb, alerts_of(hb.payload, depths, hb.received_at, s)))
    return health_of(kiosk, recent, now, s), beats
