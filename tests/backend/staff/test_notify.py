"""Notifications: masked numbers, the log notifier, a pluggable one, a failing gateway."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from sqlalchemy import select

from backend import models as m
from backend.settings import BackendSettings
from backend.staff import notify

NOW = dt.datetime(2026, 11, 28, 8, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "phone,masked",
    [
        ("+852 90953891", "+852 ****3891"),
        ("+853 63186743", "+853 ****6743"),
        ("90953891", "****3891"),
        ("123", "***"),
        (None, None),
        ("", None),
    ],
)
def test_mask_phone(phone, masked):
    assert notify.mask_phone(phone) == masked


class Recorder:
    name = "recorder"

    def __init__(self, fail=False):
        self.sent = []
        self.fail = fail

    def send(self, phone, kind, reference):
        if self.fail:
            raise ConnectionError("gateway down")
        self.sent.append((phone, kind, reference))


def make_recorder(settings):
    return Recorder()


def test_from_settings():
    assert isinstance(notify.from_settings(BackendSettings(db_url="sqlite://")), notify.LogNotifier)
    plugged = notify.from_settings(
        BackendSettings(db_url="sqlite://", notifier=f"{__name__}:make_recorder")
    )
    assert isinstance(plugged, Recorder)
    with pytest.raises(ValueError):
        notify.from_settings(BackendSettings(db_url="sqlite://", notifier="nonsense"))


def _pensioner(app, phone="+852 90953891"):
    with app.state.sessions() as db:
        p = db.scalars(select(m.Pensioner)).first()
        p.phone = phone
        db.commit()
        return p


def _record_and_deliver(app, notifier, pensioner):
    with app.state.sessions() as db:
        row = notify.record(db, NOW, notifier, pensioner, notify.REVIEW_APPROVED, "JM261128-AAAA")
        db.commit()
        row_id = row.id
    status = notify.deliver(app.state.sessions, notifier, row_id, NOW)
    with app.state.sessions() as db:
        return status, db.get(m.Notification, row_id)


def test_log_notifier_records_and_logs_a_masked_number(backend, caplog):
    app, _server = backend
    person = _pensioner(app)
    with caplog.at_level(logging.INFO, logger="backend.staff.notify"):
        status, row = _record_and_deliver(app, notify.LogNotifier(), person)
    assert status == "sent" and row.sent_at is not None
    assert row.recipient_masked == "+852 ****3891" and row.notifier == "log"
    assert "+852 ****3891" in caplog.text and "90953891" not in caplog.text


def test_a_pluggable_notifier_gets_the_number_and_a_failure_is_recorded(backend):
    app, _server = backend
    person = _pensioner(app)
    rec = Recorder()
    status, _row = _record_and_deliver(app, rec, person)
    assert status == "sent" and rec.sent == [("+852 90953891", "review_approved", "JM261128-AAAA")]
    status, row = _record_and_deliver(app, Recorder(fail=True), person)
    assert status == "failed" and row.sent_at is None


def test_no_phone_no_message(backend):
    app, _server = backend
    person = _pensioner(app, phone=None)
    rec = Recorder()
    status, row = _record_and_deliver(app, rec, person)
    assert status == "no_recipient" and rec.sent == [] and row.recipient_masked is None
