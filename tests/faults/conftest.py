"""Fixtures of the fault suite: one seeded back end per module (each case registers its own
kiosk, so cases never share a session, a rate limit or a receipt), the fault proxy in front
of it, and a fresh kiosk identity and client per case."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.conftest import _start, register_kiosk
from tests.faults.harness import OffsetClock, make_client, new_kiosk_id
from tests.faults.proxy import FaultProxy


@dataclass
class Stack:
    app: object
    server: object
    clock: OffsetClock
    proxy: FaultProxy
    settings: object

    def register(self, demo: bool = True):
        return register_kiosk(self.app, self.clock, new_kiosk_id(), demo=demo)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    from backend.settings import BackendSettings

    tmp = tmp_path_factory.mktemp("backend")
    settings = BackendSettings(
        db_url=f"sqlite:///{tmp / 'backend.sqlite3'}",
        evidence_key_path=str(tmp / "evidence-key.pem"),
        ecard_key_path=str(tmp / "ecard-key.pem"),
    )
    clock = OffsetClock()
    app, server = _start(settings, clock)
    proxy = FaultProxy(server.url).start()
    yield Stack(app, server, clock, proxy, settings)
    proxy.stop()
    server.stop()
    app.state.engine.dispose()


@pytest.fixture
def healthy(stack):
    """The stack as each case finds it and leaves it: no faults, clocks agreeing."""
    stack.proxy.wait_idle(timeout=15)
    stack.proxy.reset()
    stack.clock.offset = 0.0
    yield stack
    stack.proxy.heal()
    stack.clock.offset = 0.0
    stack.proxy.wait_idle(timeout=15)


@pytest.fixture
def identity(healthy):
    return healthy.register()


@pytest.fixture
def kiosk_client(healthy, identity):
    """The kiosk's client, through the fault proxy."""
    cl = make_client(healthy.proxy.url, identity)
    yield cl
    cl.close()


@pytest.fixture
def direct_client(healthy, identity):
    """The same kiosk talking to the back end without the proxy (for checks)."""
    cl = make_client(healthy.server.url, identity, read_timeout=20)
    yield cl
    cl.close()


@pytest.fixture(scope="session")
def personas():
    from backend.seed import load_personas

    return load_personas()


def pytest_terminal_summary(terminalreporter):
    from tests.faults import test_outbox_crash

    if test_outbox_crash.FIGURES:
        terminalreporter.write_sep("-", "kill -9 torture (tests/faults/test_outbox_crash.py)")
        for k, v in test_outbox_crash.FIGURES.items():
            terminalreporter.write_line(f"{k:32} {v}")
