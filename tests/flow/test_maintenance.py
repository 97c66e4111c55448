"""Maintenance mode in the flow (kiosk/flow/maintenance.py), without a screen or a device:
the hidden entry ends the resident's session, the PIN is checked off the owner thread, five
wrong PINs lock it on the injected clock (and the lock outlives a restart), its own idle
timeout, the tasks of its screens, and an audit effect for every action."""

from __future__ import annotations

import random

import pytest

from kiosk.api import contract as c
from kiosk.flow import effects as fx
from kiosk.flow import events as ev
from kiosk.flow import maintenance as mt
from kiosk.flow.clock import ManualClock
from kiosk.flow.context import FlowSettings
from kiosk.flow.machine import Flow
from kiosk.maintenance.pin import PinStore, hash_pin, verify_pin
from tests.flow.helpers import answer, last, session, to_state

PIN = "482915"
CHEAP = {"n": 16, "r": 1, "p": 1}  # scrypt at test speed; the format is the kiosk's own
START = 1_800_000_000.0


def maint_flow(store=None, *, pin=PIN, clock=None, **settings) -> tuple[Flow, ManualClock]:
    """A flow whose wall clock is the manual clock too (lockouts in virtual time)."""
    clock = clock or ManualClock(start=START)
    if store is None:
        store = mt.MemoryStore(hash_pin(pin, **CHEAP) if pin else None)
    flow = Flow(
        clock,
        FlowSettings(),
        rng=random.Random(7),
        wall=clock.now,
        maintenance=mt.Setup(store, mt.MaintenanceSettings(**settings)),
    )
    flow.start()
    return flow, clock


def audits(effects) -> list[tuple[str, str]]:
    return [(e.action, e.result) for e in effects if isinstance(e, fx.Audit)]


def enter(flow: Flow) -> list[fx.Effect]:
    return flow.handle(ev.Tapped(mt.ENTRY))


def type_pin(flow: Flow, pin: str) -> list[fx.Effect]:
    """PinEntered, and the runner's part: the slow check, answered as PinChecked."""
    effects = flow.handle(ev.PinEntered(pin))
    checks = [e for e in effects if isinstance(e, fx.CheckPin)]
    if not checks:
        return effects
    ok = verify_pin(checks[0].pin, checks[0].stored)
    return effects + flow.handle(ev.PinChecked(checks[0].request_id, ok))


def logged_in(**kw) -> tuple[Flow, ManualClock]:
    flow, clock = maint_flow(**kw)
    enter(flow)
    type_pin(flow, PIN)
    assert flow.state == "maint_menu"
    return flow, clock


def task(effects, op=None) -> fx.MaintenanceTask:
    found = [e for e in effects if isinstance(e, fx.MaintenanceTask) and op in (None, e.op)]
    assert found, f"no MaintenanceTask {op} in {effects}"
    return found[-1]


# --------------------------------------------------------------------------- entry


def test_every_maintenance_state_is_a_quiet_screen_with_its_own_timer():
    from kiosk.flow.machine import NAV, SCREENS

    for state in mt.STATES:
        assert SCREENS[state].idle is False and SCREENS[state].speaks is False
        assert state in NAV


@pytest.mark.parametrize("state", ["confirm_name", "face_capture", "attract", "out_of_service"])
def test_entry_ends_the_resident_session_first(state):
    if state == "out_of_service":
        flow, _clock, effects = to_state("identifying")
        flow.handle(ev.ApiFailed(last(effects, fx.CallApi).request_id, "identify", "network", "e"))
    else:
        flow, _clock, effects = to_state(state)
    if state == "face_capture":
        assert flow.ctx.session is not None
    assert flow.state == state
    flow.maint = mt.Maintenance(flow, mt.Setup(mt.MemoryStore(hash_pin(PIN, **CHEAP))))
    effects = enter(flow)
    assert flow.state == "maint_pin"
    assert flow.ctx.personal_values() == {}
    assert isinstance(flow.ctx, mt.MaintenanceContext)
    assert any(isinstance(e, fx.ClearPersonalData) for e in effects)
    assert ("enter", f"from {state}") in audits(effects)
    if state == "face_capture":  # the capture and the camera stop
        assert any(isinstance(e, fx.CancelCapture) for e in effects)
        assert any(isinstance(e, fx.StopCamera) for e in effects)
    assert not any(isinstance(e, fx.Speak) for e in effects)  # nothing said aloud


def test_a_late_answer_from_the_resident_journey_is_ignored():
    flow, _clock, effects = to_state("identifying")
    call = last(effects, fx.CallApi)
    enter(flow)
    flow.handle(ev.ApiDone(call.request_id, "identify", None))
    assert flow.state == "maint_pin"


def test_entry_from_maintenance_does_nothing():
    flow, _clock = logged_in()
    assert enter(flow) == []
    assert flow.state == "maint_menu"


def test_no_pin_set_keeps_maintenance_closed():
    flow, _clock = maint_flow(pin=None)
    effects = enter(flow)
    assert flow.state == "maint_pin"
    assert flow.ctx.maint.pin_set is False
    assert last(effects, fx.ShowMessage).key == "maint_pin.no_pin"
    effects = type_pin(flow, PIN)
    assert not any(isinstance(e, fx.CheckPin) for e in effects)
    assert flow.state == "maint_pin"
    assert ("pin", "refused: no PIN set") in audits(effects)


# --------------------------------------------------------------------------- PIN


def test_the_right_pin_opens_the_menu_and_is_checked_off_the_owner_thread():
    flow, _clock = maint_flow()
    enter(flow)
    effects = flow.handle(ev.PinEntered(PIN))
    check = last(effects, fx.CheckPin)
    assert flow.state == "maint_pin" and flow.ctx.maint.checking
    assert PIN not in repr(check) and check.stored not in repr(check)  # never in a log line
    assert PIN not in repr(ev.PinEntered(PIN))
    effects = flow.handle(ev.PinChecked(check.request_id, verify_pin(PIN, check.stored)))
    assert flow.state == "maint_menu"
    assert ("pin", "accepted") in audits(effects)


def test_a_wrong_pin_is_counted_and_said():
    flow, _clock = maint_flow()
    enter(flow)
    assert flow.ctx.maint.attempts_left == 5
    effects = type_pin(flow, "123987")
    assert flow.state == "maint_pin"
    assert last(effects, fx.ShowMessage).key == "maint_pin.wrong"
    assert flow.ctx.maint.attempts_left == 4
    assert ("pin", "wrong (1 of 5)") in audits(effects)


@pytest.mark.parametrize("pin", ["", "12345", "1234567890123", "12a456"])
def test_what_cannot_be_a_pin_is_not_checked_nor_counted(pin):
    flow, _clock = maint_flow()
    enter(flow)
    effects = type_pin(flow, pin)
    assert not any(isinstance(e, fx.CheckPin) for e in effects)
    assert last(effects, fx.ShowMessage).key == "maint_pin.format"
    assert flow.ctx.maint.attempts_left == 5


def test_a_second_pin_while_one_is_checked_is_ignored():
    flow, _clock = maint_flow()
    enter(flow)
    flow.handle(ev.PinEntered(PIN))
    assert flow.handle(ev.PinEntered(PIN)) == []


def test_five_wrong_pins_lock_maintenance_for_the_lockout_on_the_clock():
    flow, clock = maint_flow(lockout_s=900, idle_s=3600)
    enter(flow)
    for n in range(1, 6):
        effects = type_pin(flow, f"90817{n}")
    assert last(effects, fx.ShowMessage).key == "maint_pin.locked"
    assert ("lockout", "900 s") in audits(effects)
    assert flow.ctx.maint.locked_minutes == 15
    # The sixth attempt, with the right PIN, is refused without being checked.
    effects = type_pin(flow, PIN)
    assert not any(isinstance(e, fx.CheckPin) for e in effects)
    assert flow.state == "maint_pin"
    assert ("pin", "refused: locked out") in audits(effects)
    # The lock counts down on the clock and ends with it.
    clock.advance(600)
    flow.handle(ev.Tick())
    assert flow.ctx.maint.locked_minutes == 5
    clock.advance(299)
    assert not any(isinstance(e, fx.CheckPin) for e in flow.handle(ev.PinEntered(PIN)))
    clock.advance(2)
    type_pin(flow, PIN)
    assert flow.state == "maint_menu"


def test_the_count_starts_again_after_the_right_pin():
    flow, _clock = maint_flow()
    enter(flow)
    for _ in range(4):
        type_pin(flow, "908172")
    type_pin(flow, PIN)
    flow.handle(ev.Tapped("exit"))
    enter(flow)
    assert flow.ctx.maint.attempts_left == 5


def test_the_lockout_and_the_count_survive_a_restart(tmp_path):
    store = PinStore(tmp_path)
    store.set_pin(PIN, **CHEAP)
    flow, clock = maint_flow(store)
    enter(flow)
    for _ in range(3):
        type_pin(flow, "908172")
    # A new process: a new flow on the same data directory.
    flow, clock = maint_flow(PinStore(tmp_path), clock=clock)
    enter(flow)
    assert flow.ctx.maint.attempts_left == 2
    type_pin(flow, "908172")
    type_pin(flow, "908172")
    assert flow.ctx.maint.locked_minutes == 15
    flow, clock = maint_flow(PinStore(tmp_path), clock=clock)
    effects = enter(flow)
    assert last(effects, fx.ShowMessage).key == "maint_pin.locked"
    assert not any(isinstance(e, fx.CheckPin) for e in type_pin(flow, PIN))
    clock.advance(901)
    flow, clock = maint_flow(PinStore(tmp_path), clock=clock)
    enter(flow)
    type_pin(flow, PIN)
    assert flow.state == "maint_menu"


def test_a_clock_set_back_does_not_stretch_the_lockout():
    store = mt.MemoryStore(hash_pin(PIN, **CHEAP))
    store.lockout = mt.Lockout(5, START + 10 * 86400)  # ten days ahead: the clock went back
    flow, _clock = maint_flow(store, lockout_s=900)
    enter(flow)
    assert flow.ctx.maint.locked_minutes == 15
    assert store.lockout.locked_until == START + 900


def test_a_damaged_lockout_record_locks(tmp_path):
    store = PinStore(tmp_path)
    store.set_pin(PIN, **CHEAP)
    store.lockout_path.write_text("{not json")
    flow, _clock = maint_flow(store)
    enter(flow)
    assert flow.ctx.maint.locked_minutes == 15
    assert not any(isinstance(e, fx.CheckPin) for e in type_pin(flow, PIN))


def test_cancel_at_the_pin_is_a_full_reset():
    flow, _clock = maint_flow()
    enter(flow)
    effects = flow.handle(ev.Tapped("cancel"))
    assert flow.state == "attract"
    assert not isinstance(flow.ctx, mt.MaintenanceContext)
    assert ("exit", "cancelled at the PIN") in audits(effects)


# --------------------------------------------------------------------------- time


def test_maintenance_has_its_own_idle_timeout():
    flow, clock = logged_in(idle_s=120)
    clock.advance(flow.settings.idle_reset_s + 1)  # the resident's timeout does not apply
    flow.handle(ev.Tick())
    assert flow.state == "maint_menu"
    clock.advance(120 - flow.settings.idle_reset_s)
    effects = flow.handle(ev.Tick())
    assert flow.state == "attract"
    assert ("exit", "idle timeout") in audits(effects)
    assert any(isinstance(e, fx.ClearPersonalData) for e in effects)


def test_a_touch_restarts_the_maintenance_idle_timer():
    flow, clock = logged_in(idle_s=120)
    clock.advance(100)
    flow.handle(ev.Touched())
    clock.advance(100)
    flow.handle(ev.Tick())
    assert flow.state == "maint_menu"


def test_the_idle_timer_waits_for_a_running_task():
    flow, clock = logged_in(idle_s=120)
    flow.handle(ev.Tapped("diagnostics"))
    effects = flow.handle(ev.Tapped("run", "camera"))
    clock.advance(500)
    flow.handle(ev.Tick())
    assert flow.state == "maint_diagnostics"
    t = task(effects, "check")
    flow.handle(ev.MaintenanceDone(t.request_id, "check", {"name": "camera", "status": "pass"}))
    clock.advance(121)
    flow.handle(ev.Tick())
    assert flow.state == "attract"


def test_the_pin_screen_times_out_too():
    flow, clock = maint_flow(idle_s=120)
    enter(flow)
    clock.advance(121)
    flow.handle(ev.Tick())
    assert flow.state == "attract"


# --------------------------------------------------------------------------- the menu


def test_exit_and_restart_end_in_a_reset():
    flow, _clock = logged_in()
    effects = flow.handle(ev.Tapped("exit"))
    assert flow.state == "attract"
    assert ("exit", "left") in audits(effects)

    flow, _clock = logged_in()
    effects = flow.handle(ev.Tapped("restart"))
    assert flow.state == "attract"
    assert last(effects, fx.RestartApp).exit_code == mt.EXIT_RESTART == 75
    assert ("restart", "exit code 75") in audits(effects)


def test_diagnostics_run_one_check_at_a_time_and_audit_each():
    flow, _clock = logged_in()
    effects = flow.handle(ev.Tapped("diagnostics"))
    assert flow.state == "maint_diagnostics"
    assert ("open", "diagnostics") in audits(effects)
    effects = flow.handle(ev.Tapped("run_all"))
    seen = []
    while True:
        t = task(effects, "check")
        name = t.kwargs["name"]
        assert flow.ctx.maint.running == name and t.kwargs["test_page"] is False
        seen.append(name)
        result = {"name": name, "status": "pass", "message_key": "device_ok", "text": "ok"}
        effects = flow.handle(ev.MaintenanceDone(t.request_id, "check", result))
        assert (f"diagnostic {name}", "pass") in audits(effects)
        if not any(isinstance(e, fx.MaintenanceTask) for e in effects):
            break
    assert seen == list(mt.CHECKS)
    assert set(flow.ctx.maint.results) == set(mt.CHECKS)


def test_a_check_tapped_while_another_runs_waits_its_turn_and_the_test_page_is_apart():
    flow, _clock = logged_in()
    flow.handle(ev.Tapped("diagnostics"))
    first = task(flow.handle(ev.Tapped("run", "disk")), "check")
    assert flow.handle(ev.Tapped("test_page")) == []  # queued, not started
    assert flow.ctx.maint.queue == [("printer", True)]
    effects = flow.handle(ev.MaintenanceDone(first.request_id, "check", {"status": "pass"}))
    page = task(effects, "check")
    assert page.kwargs == {"name": "printer", "test_page": True}
    effects = flow.handle(ev.MaintenanceFailed(page.request_id, "check", "PrinterFault"))
    assert flow.ctx.maint.results["printer"]["status"] == "fail"
    assert ("printer test page", "fail") in audits(effects)


def test_leaving_diagnostics_drops_what_was_still_to_come():
    flow, _clock = logged_in()
    flow.handle(ev.Tapped("diagnostics"))
    t = task(flow.handle(ev.Tapped("run_all")), "check")
    flow.handle(ev.Tapped("back"))
    assert flow.state == "maint_menu"
    assert flow.handle(ev.MaintenanceDone(t.request_id, "check", {"status": "pass"})) == []
    assert flow.ctx.maint.results == {} and flow.ctx.maint.running is None


def test_drain_logs_settings_identity():
    flow, _clock = logged_in()
    t = task(flow.handle(ev.Tapped("drain")), "drain")
    assert flow.ctx.maint.draining
    result = {"available": True, "delivered": 2, "refused": 0, "deferred": 0, "waiting": 0}
    effects = flow.handle(ev.MaintenanceDone(t.request_id, "drain", result))
    assert ("drain outbox", "delivered 2, refused 0, waiting 0") in audits(effects)
    assert flow.ctx.maint.drain == result and not flow.ctx.maint.draining

    effects = flow.handle(ev.Tapped("logs"))
    t = task(effects, "logs")
    assert t.kwargs == {"page": 1, "page_size": mt.LOGS_PAGE_SIZE}
    assert ("open", "logs") in audits(effects)
    page = {"lines": [["11-28 10:00:00", "INFO", "x"]], "page": 1, "pages": 3}
    flow.handle(ev.MaintenanceDone(t.request_id, "logs", page))
    assert flow.ctx.maint.logs == [["11-28 10:00:00", "INFO", "x"]]
    assert flow.handle(ev.Tapped("previous")) == []  # no page before the first
    effects = flow.handle(ev.Tapped("next"))
    assert task(effects, "logs").kwargs["page"] == 2
    assert ("view logs", "page 2") in audits(effects)
    flow.handle(ev.Tapped("back"))

    t = task(flow.handle(ev.Tapped("settings")), "settings")
    rows = [[f"setting_{i}", str(i)] for i in range(20)]
    flow.handle(ev.MaintenanceDone(t.request_id, "settings", rows))
    assert flow.ctx.maint.settings_pages == 3
    assert flow.ctx.maint.settings_shown() == rows[:9]
    flow.handle(ev.Tapped("next"))
    assert flow.ctx.maint.settings_shown() == rows[9:18]
    flow.handle(ev.Tapped("back"))

    t = task(flow.handle(ev.Tapped("identity")), "identity")
    ident = {"kiosk_id": "HK-DEMO-01", "site": "s", "version": "0.1.0", "key_fingerprint": "f"}
    flow.handle(ev.MaintenanceDone(t.request_id, "identity", ident))
    assert flow.ctx.maint.identity == ident


def test_a_failed_task_says_so():
    flow, _clock = logged_in()
    t = task(flow.handle(ev.Tapped("settings")), "settings")
    effects = flow.handle(ev.MaintenanceFailed(t.request_id, "settings", "OSError"))
    assert last(effects, fx.ShowMessage).key == "maint_menu.task_failed"
    assert ("settings", "failed: OSError") in audits(effects)


def test_the_language_button_cycles_the_screens_language():
    flow, _clock = maint_flow()
    enter(flow)
    seen = [flow.ctx.language]
    for _ in range(len(flow.settings.languages)):
        flow.handle(ev.Tapped("language"))
        seen.append(flow.ctx.language)
    assert seen[0] == seen[-1] and set(seen) == set(flow.settings.languages)


def test_nothing_personal_survives_into_maintenance_after_a_whole_journey():
    flow, _clock, effects = to_state("starting")
    answer(flow, effects, session())
    flow.maint = mt.Maintenance(flow, mt.Setup(mt.MemoryStore(hash_pin(PIN, **CHEAP))))
    enter(flow)
    type_pin(flow, PIN)
    ctx = flow.ctx
    assert ctx.personal_values() == {}
    assert ctx.purpose is None and ctx.session is None and ctx.doc_type is None
    assert not isinstance(ctx.purpose, c.Purpose)
