"""Maintenance mode: the field technician's screens, as states of the flow.

The entry is hidden: the UI sends `Tapped(ENTRY)` after a long press (`ENTRY_PRESS_S`) in the
top-left corner of any screen. Entering ends the resident's session first, exactly as the
idle reset does (`Flow.reset`: every personal value gone, captures cancelled, the screens told
to forget what they showed), so nothing of a resident is reachable from maintenance: its
screens show devices, the kiosk's own log (redacted), its settings and its identity, and keep
what they show in a `MaintenanceContext` that the next reset replaces.

    maint_pin          the technician PIN on a keypad (6 to 12 digits)
    maint_menu         diagnostics, logs, settings, identity, force the outbox, restart, leave
    maint_diagnostics  one row per check of kiosk/doctor.py (and the QR reader): run one, all,
                       or the printer's test page
    maint_logs         the kiosk's log, newest first, a page at a time, redacted
    maint_settings     the effective settings, a page at a time
    maint_identity     kiosk id, site, version and device-key fingerprint, also as a QR code

The PIN is checked off the owner thread (its hash is slow on purpose): `CheckPin` carries the
PIN and the stored hash to the runner, `PinChecked` brings the verdict back. After
`max_failures` wrong PINs in a row, entry is refused for `lockout_s`; the count and the end of
the lockout are kept by the store (a file in the data directory, kiosk/maintenance/pin.py) on
the flow's injected wall clock, so a restart neither resets the count nor ends the lockout.
Without a PIN set on the kiosk, maintenance stays closed.

Maintenance has its own idle timeout (`idle_s`, paused while a task runs), and leaving it
(the exit button, the timeout, a restart) is a full reset to the attract screen.

Every technician action emits `Audit(action, result)`; the runner appends it to the
hash-chained audit log (kiosk/maintenance/audit.py). Other work is a `MaintenanceTask(op,
kwargs)` answered by `MaintenanceDone` / `MaintenanceFailed`, performed one at a time by the
runner's maintenance service (kiosk/maintenance/service.py):

    check(name, test_page)   -> kiosk.doctor.Check.to_dict()
    drain()                  -> {"available", "delivered", "refused", "deferred", "waiting"}
    logs(page, page_size)    -> {"lines": [[time, level, text], ...], "page", "pages"}
    settings()               -> [[name, value], ...]
    identity()               -> {"kiosk_id", "site", "version", "key_fingerprint"}

`RestartApp(EXIT_RESTART)` asks the UI to stop with that exit code; the kiosk's systemd unit
(assets/deploy/jiangmen-kiosk.service, `Restart=always`) starts it again, and the journal
shows the code, so a restart asked for in maintenance is told apart from a crash.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from kiosk.flow import effects as fx
from kiosk.flow import events as ev
from kiosk.flow.context import Context
from kiosk.i18n import N_

if TYPE_CHECKING:
    from kiosk.flow.machine import Flow

ENTRY = "maintenance"  # Tapped(ENTRY): the hidden entry
ENTRY_PRESS_S = 3.0  # the long press that sends it
ENTRY_CORNER_PX = 160  # ... inside this square at the top-left corner (panel pixels)

STATES = (
    "maint_pin",
    "maint_menu",
    "maint_diagnostics",
    "maint_logs",
    "maint_settings",
    "maint_identity",
)

# The exit code of "restart the app" (EX_TEMPFAIL: try again). The kiosk's systemd unit
# restarts the app whatever its exit code (`Restart=always`); a unit that restarts only on
# failure would need `RestartForceExitStatus=75`.
EXIT_RESTART = 75

# The diagnostics, one row each: kiosk/doctor.py's checks and the QR reader's.
CHECKS = (
    "camera",
    "fingerprint",
    "printer",
    "reader",
    "disk",
    "outbox",
    "backend",
    "heartbeat",
    "tls",
    "clock",
)

PIN_DIGITS = (6, 12)  # shortest and longest PIN
LOGS_PAGE_SIZE = 5
SETTINGS_PAGE_SIZE = 9


@dataclass(frozen=True)
class MaintenanceSettings:
    max_failures: int = 5  # wrong PINs in a row before the lockout
    lockout_s: float = 900.0  # how long entry is then refused
    idle_s: float = 120.0  # no touch this long in maintenance: back to the attract screen


@dataclass
class Lockout:
    failures: int = 0  # wrong PINs in a row
    locked_until: float | None = None  # Unix time (the flow's wall clock)

    @classmethod
    def damaged(cls) -> Lockout:
        """What a store returns when its record cannot be read: locked from now on."""
        return cls(failures=1_000_000)


class Store(Protocol):
    """Where the PIN hash and the lockout are kept (kiosk.maintenance.pin.PinStore)."""

    def pin_hash(self) -> str | None: ...

    def load_lockout(self) -> Lockout: ...

    def save_lockout(self, lockout: Lockout) -> None: ...


class MemoryStore:
    """A store in memory (tests; a kiosk without a data directory has no PIN: closed)."""

    def __init__(self, pin_hash: str | None = None):
        self.hash = pin_hash
        self.lockout = Lockout()

    def pin_hash(self) -> str | None:
        return self.hash

    def load_lockout(self) -> Lockout:
        return Lockout(self.lockout.failures, self.lockout.locked_until)

    def save_lockout(self, lockout: Lockout) -> None:
        self.lockout = Lockout(lockout.failures, lockout.locked_until)


@dataclass(frozen=True)
class Setup:
    """What the flow needs for maintenance: the store and the settings."""

    store: Store
    settings: MaintenanceSettings = field(default_factory=MaintenanceSettings)


@dataclass
class MaintView:
    """What the maintenance screens show. Nothing personal: device states, the redacted log,
    settings, the kiosk's identity."""

    pin_set: bool = True
    checking: bool = False  # a PIN is being checked
    attempts_left: int = 0
    locked_until: float | None = None  # wall clock
    locked_minutes: int = 0  # > 0: entry refused for about this many more minutes
    results: dict[str, dict[str, Any]] = field(default_factory=dict)  # check -> Check.to_dict()
    running: str | None = None  # the check being run
    running_test_page: bool = False
    queue: list[tuple[str, bool]] = field(default_factory=list)  # (check, test page) to run
    selected: str = CHECKS[0]  # the check whose details are shown
    draining: bool = False
    drain: dict[str, Any] | None = None
    loading: str | None = None  # the view whose data is being fetched (logs, settings ...)
    logs: list[list[str]] = field(default_factory=list)  # [time, level, text], newest first
    logs_page: int = 1
    logs_pages: int = 0
    settings: list[list[str]] = field(default_factory=list)  # [name, value]
    settings_page: int = 1
    identity: dict[str, str] | None = None

    @property
    def settings_pages(self) -> int:
        return max(1, -(-len(self.settings) // SETTINGS_PAGE_SIZE)) if self.settings else 0

    def settings_shown(self) -> list[list[str]]:
        start = (self.settings_page - 1) * SETTINGS_PAGE_SIZE
        return self.settings[start : start + SETTINGS_PAGE_SIZE]


@dataclass
class MaintenanceContext(Context):
    """The flow's context while in maintenance: a fresh one (the resident's was reset), plus
    what the maintenance screens show."""

    maint: MaintView = field(default_factory=MaintView)


class Maintenance:
    """Maintenance mode's part of the flow (`flow.maint`)."""

    def __init__(self, flow: Flow, setup: Setup | None = None):
        self.flow = flow
        setup = setup or Setup(MemoryStore())
        self.store = setup.store
        self.settings = setup.settings

    @property
    def active(self) -> bool:
        return self.flow.state in STATES

    @property
    def view(self) -> MaintView | None:
        ctx = self.flow.ctx
        return ctx.maint if isinstance(ctx, MaintenanceContext) else None

    def audit(self, action: str, result: str = "") -> None:
        self.flow._emit(fx.Audit(action, result))

    # ------------------------------------------------------------------ in and out

    def enter(self) -> None:
        flow = self.flow
        if self.active:
            return
        came_from = flow.state
        flow.reset("attract")  # the resident's session ends here, as on the idle timeout
        flow.ctx = MaintenanceContext(
            language=flow.settings.default_language, volume=flow.settings.default_volume
        )
        view = self.view
        view.pin_set = self.store.pin_hash() is not None
        self._show_lock(self._lockout())
        self.audit("enter", f"from {came_from}")
        flow.go("maint_pin")
        if not view.pin_set:
            flow.show(N_("maint_pin.no_pin"))
        elif view.locked_minutes:
            flow.show(N_("maint_pin.locked"))

    def leave(self, why: str) -> None:
        self.audit("exit", why)
        self.flow.reset("attract")

    def tick(self) -> bool:
        """A Tick: True when maintenance handled it (its own idle timeout)."""
        flow, view = self.flow, self.view
        if not self.active:
            return False
        now = flow.clock.now()
        working = flow.awaiting is not None or (view is not None and bool(view.queue))
        if working:
            flow.last_activity = now  # waiting for the kiosk is not the technician's idleness
        elif now - flow.last_activity >= self.settings.idle_s:
            self.leave("idle timeout")
            return True
        if view is not None and view.locked_until is not None:
            self._show_lock(Lockout(self.settings.max_failures, view.locked_until))
        return True

    # ------------------------------------------------------------------ PIN

    def pin_entered(self, pin: str) -> None:
        flow, view = self.flow, self.view
        if flow.state != "maint_pin" or view is None or view.checking:
            return
        lock = self._lockout()
        self._show_lock(lock)
        if self._locked(lock):
            self.audit("pin", "refused: locked out")
            flow.show(N_("maint_pin.locked"))
            return
        stored = self.store.pin_hash()
        view.pin_set = stored is not None
        if stored is None:
            self.audit("pin", "refused: no PIN set")
            flow.show(N_("maint_pin.no_pin"))
            return
        shortest, longest = PIN_DIGITS
        if not (pin.isascii() and pin.isdigit() and shortest <= len(pin) <= longest):
            flow.show(N_("maint_pin.format"))  # cannot be the PIN: not counted
            return
        view.checking = True
        rid = flow._next_request("check_pin")
        flow._emit(fx.CheckPin(rid, pin, stored))

    def pin_checked(self, e: ev.PinChecked) -> None:
        flow, view = self.flow, self.view
        if view is None or not flow._accept(e.request_id):
            return
        view.checking = False
        if e.ok:
            self.store.save_lockout(Lockout())
            self._show_lock(Lockout())
            self.audit("pin", "accepted")
            flow.go("maint_menu")
            return
        lock = self._lockout()
        lock.failures += 1
        limit = self.settings.max_failures
        if lock.failures >= limit:
            lock.locked_until = flow.wall() + self.settings.lockout_s
        self.store.save_lockout(lock)  # durable before the technician is told
        self._show_lock(lock)
        self.audit("pin", f"wrong ({min(lock.failures, limit)} of {limit})")
        if lock.locked_until is not None:
            self.audit("lockout", f"{self.settings.lockout_s:g} s")
            flow.show(N_("maint_pin.locked"))
        else:
            flow.show(N_("maint_pin.wrong"))

    def _lockout(self) -> Lockout:
        """The stored lockout, brought up to date: an expired one ends (and the count with
        it); one reaching further than `lockout_s` ahead (the clock was set back) is cut."""
        flow, s = self.flow, self.settings
        lock = self.store.load_lockout()
        now = flow.wall()
        if lock.locked_until is None and lock.failures >= s.max_failures:
            lock = Lockout(s.max_failures, now + s.lockout_s)
        elif lock.locked_until is not None and now >= lock.locked_until:
            lock = Lockout()
        elif lock.locked_until is not None and lock.locked_until - now > s.lockout_s:
            lock = Lockout(s.max_failures, now + s.lockout_s)
        else:
            return lock
        self.store.save_lockout(lock)
        return lock

    def _locked(self, lock: Lockout) -> bool:
        return lock.locked_until is not None and self.flow.wall() < lock.locked_until

    def _show_lock(self, lock: Lockout) -> None:
        view = self.view
        if view is None:
            return
        limit = self.settings.max_failures
        if self._locked(lock):
            view.locked_until = lock.locked_until
            view.locked_minutes = max(1, math.ceil((lock.locked_until - self.flow.wall()) / 60))
            view.attempts_left = 0
        else:
            view.locked_until = None
            view.locked_minutes = 0
            view.attempts_left = max(0, limit - min(lock.failures, limit))

    # ------------------------------------------------------------------ tasks

    def task(self, op: str, **kwargs) -> None:
        """Asks the maintenance service for `op` (one answer is awaited at a time)."""
        rid = self.flow._next_request(op)
        self.flow._emit(fx.MaintenanceTask(rid, op, kwargs))

    def fetch(self, op: str, **kwargs) -> None:
        """A task whose answer a view shows (logs, settings, identity)."""
        self.view.loading = op
        self.task(op, **kwargs)

    def enqueue(self, checks: list[tuple[str, bool]]) -> None:
        view = self.view
        running = (view.running, view.running_test_page)
        for item in checks:
            if item not in view.queue and item != running:
                view.queue.append(item)
        if view.running is None:
            self._next_check()

    def _next_check(self) -> None:
        view = self.view
        if not view.queue:
            return
        view.running, view.running_test_page = view.queue.pop(0)
        view.selected = view.running
        self.task("check", name=view.running, test_page=view.running_test_page)

    def done(self, e: ev.MaintenanceDone) -> None:
        view = self.view
        if view is None or not self.flow._accept(e.request_id):
            return
        handler = getattr(self, "_done_" + e.op, None)
        if handler is not None:
            handler(e.result)

    def failed(self, e: ev.MaintenanceFailed) -> None:
        view = self.view
        if view is None or not self.flow._accept(e.request_id):
            return
        if e.op == "check" and view.running is not None:
            self._done_check(
                {
                    "name": view.running,
                    "status": "fail",
                    "ok": False,
                    "message_key": "doctor_check_crashed",
                    "text": f"the check could not be run: {e.detail}",
                    "measurement": {},
                }
            )
            return
        view.loading = None
        view.draining = False
        self.audit(e.op, f"failed: {e.detail}")
        self.flow.show(N_("maint_menu.task_failed"))

    def _done_check(self, result: dict[str, Any]) -> None:
        view = self.view
        name = view.running or result.get("name", "")
        test_page = view.running_test_page
        view.results[name] = result
        view.running, view.running_test_page = None, False
        self.audit("printer test page" if test_page else f"diagnostic {name}", result["status"])
        self._next_check()

    def _done_drain(self, result: dict[str, Any]) -> None:
        view = self.view
        view.loading = None
        view.draining = False
        view.drain = result
        if not result.get("available", True):
            self.audit("drain outbox", "no outbox")
            return
        self.audit(
            "drain outbox",
            f"delivered {result['delivered']}, refused {result['refused']}, "
            f"waiting {result['waiting']}",
        )

    def _done_logs(self, result: dict[str, Any]) -> None:
        view = self.view
        view.loading = None
        view.logs = [list(line) for line in result["lines"]]
        view.logs_page, view.logs_pages = result["page"], result["pages"]

    def _done_settings(self, rows: list[list[str]]) -> None:
        view = self.view
        view.loading = None
        view.settings = [list(row) for row in rows]
        view.settings_page = 1

    def _done_identity(self, identity: dict[str, str]) -> None:
        view = self.view
        view.loading = None
        view.identity = dict(identity)


# ---------------------------------------------------------------------------- buttons

Handler = Callable[["Flow", ev.Tapped], None]


def _leave(why: str) -> Handler:
    return lambda flow, _e: flow.maint.leave(why)


def _language(flow: Flow, _e: ev.Tapped) -> None:
    languages = flow.settings.languages
    now = languages.index(flow.ctx.language) if flow.ctx.language in languages else -1
    flow.set_language(languages[(now + 1) % len(languages)])


def _open(state: str, op: str | None = None, **kwargs) -> Handler:
    def handler(flow: Flow, _e: ev.Tapped) -> None:
        flow.maint.audit("open", state.removeprefix("maint_"))
        if op is not None:
            flow.maint.fetch(op, **kwargs)
        flow.go(state)

    return handler


def _drain(flow: Flow, _e: ev.Tapped) -> None:
    view = flow.maint.view
    if view.draining:
        return
    view.draining = True
    flow.maint.task("drain")


def _restart(flow: Flow, _e: ev.Tapped) -> None:
    flow.maint.audit("restart", f"exit code {EXIT_RESTART}")
    flow.reset("attract")
    flow._emit(fx.RestartApp(EXIT_RESTART))


def _run(flow: Flow, e: ev.Tapped) -> None:
    if e.value in CHECKS:
        flow.maint.view.selected = e.value
        flow.maint.enqueue([(e.value, False)])


def _run_all(flow: Flow, _e: ev.Tapped) -> None:
    flow.maint.enqueue([(name, False) for name in CHECKS])


def _test_page(flow: Flow, _e: ev.Tapped) -> None:
    flow.maint.view.selected = "printer"
    flow.maint.enqueue([("printer", True)])


def _menu(flow: Flow, _e: ev.Tapped) -> None:
    view = flow.maint.view
    if view.running is not None or view.queue or view.loading:
        flow._pending = None  # what was asked for is no longer awaited
    view.queue.clear()
    view.running, view.running_test_page = None, False
    view.loading = None
    flow.go("maint_menu")


def _logs_page(step: int) -> Handler:
    def handler(flow: Flow, _e: ev.Tapped) -> None:
        view = flow.maint.view
        page = view.logs_page + step
        if page < 1 or page > max(1, view.logs_pages):
            return
        flow.maint.audit("view logs", f"page {page}")
        flow.maint.fetch("logs", page=page, page_size=LOGS_PAGE_SIZE)

    return handler


def _settings_page(step: int) -> Handler:
    def handler(flow: Flow, _e: ev.Tapped) -> None:
        view = flow.maint.view
        page = view.settings_page + step
        if page < 1 or page > view.settings_pages:
            return
        view.settings_page = page
        flow.maint.audit("view settings", f"page {page}")

    return handler


NAV: dict[str, dict[str, Handler]] = {
    "maint_pin": {"language": _language, "cancel": _leave("cancelled at the PIN")},
    "maint_menu": {
        "diagnostics": _open("maint_diagnostics"),
        "logs": _open("maint_logs", "logs", page=1, page_size=LOGS_PAGE_SIZE),
        "settings": _open("maint_settings", "settings"),
        "identity": _open("maint_identity", "identity"),
        "drain": _drain,
        "language": _language,
        "restart": _restart,
        "exit": _leave("left"),
    },
    "maint_diagnostics": {
        "run": _run,
        "run_all": _run_all,
        "test_page": _test_page,
        "back": _menu,
    },
    "maint_logs": {"previous": _logs_page(-1), "next": _logs_page(+1), "back": _menu},
    "maint_settings": {
        "previous": _settings_page(-1),
        "next": _settings_page(+1),
        "back": _menu,
    },
    "maint_identity": {"back": _menu},
}
