"""Shared fixtures: a real back end on loopback with a real SQLite file, and a signed client."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("KIVY_NO_ARGS", "1")

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def backend_settings(tmp_path):
    from backend.settings import BackendSettings

    return BackendSettings(
        db_url=f"sqlite:///{tmp_path / 'backend.sqlite3'}",
        evidence_key_path=str(tmp_path / "evidence-key.pem"),
        ecard_key_path=str(tmp_path / "ecard-key.pem"),
    )


@pytest.fixture
def clock():
    from backend.clock import FakeClock

    return FakeClock()


def _start(settings, clock, seed=True):
    from backend.app import create_app
    from backend.db import upgrade
    from backend.seed import seed_demo
    from backend.server import BackgroundServer

    upgrade(settings.db_url)
    app = create_app(settings, clock)
    if seed:
        with app.state.sessions() as db:
            seed_demo(db, clock.now(), settings)
    return app, BackgroundServer(app).start()


@pytest.fixture
def backend(backend_settings, clock):
    """(app, server): the seeded back end serving on an ephemeral loopback port."""
    app, server = _start(backend_settings, clock)
    yield app, server
    server.stop()
    app.state.engine.dispose()


class KioskIdentity:
    def __init__(self, kiosk_id, key):
        self.kiosk_id = kiosk_id
        self.key = key


def register_kiosk(app, clock, kiosk_id="HK-TEST-01", demo=True, site="Test site"):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from backend.kiosks import register
    from kiosk.api.signing import public_key_b64

    key = Ed25519PrivateKey.generate()
    with app.state.sessions() as db:
        register(db, clock.now(), kiosk_id, site, public_key_b64(key.public_key()), demo=demo)
    return KioskIdentity(kiosk_id, key)


@pytest.fixture
def kiosk_identity(backend, clock):
    app, _server = backend
    return register_kiosk(app, clock)


@pytest.fixture
def client(backend, kiosk_identity, clock):
    from kiosk.api.client import KioskApiClient

    _app, server = backend
    cl = KioskApiClient(
        server.url,
        kiosk_identity.kiosk_id,
        kiosk_identity.key,
        clock=clock.time,
        sleep=lambda s: None,
        read_timeout=20,
    )
    yield cl
    cl.close()


@pytest.fixture
def personas():
    from backend.seed import load_personas

    return load_personas()


def identify(client, persona, purpose=None):
    """identify + start_session for a demo persona; returns SessionInfo."""
    import datetime as dt

    from kiosk.api import contract as c

    doc = persona["documents"][0]
    who = client.identify(
        c.DocumentType(doc["type"]), doc["number"], dt.date.fromisoformat(persona["date_of_birth"])
    )
    return client.start_session(who.subject_token, purpose or c.Purpose.CERTIFICATION)


def persona(personas, **want):
    """The first persona matching every key=value (face=False, certification='due', ...)."""
    for p in personas:
        if all(p.get(k) == v for k, v in want.items()):
            return p
    raise LookupError(want)
