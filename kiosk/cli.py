"""`kiosk`: run the kiosk, show its device key, print its settings reference.

Bad input ends with one line on stderr and a non-zero exit, never a traceback: a technician
reads this over a remote shell.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import signal
import sys
from pathlib import Path

from kiosk.config import ConfigError, KioskSettings, load_settings, markdown_table

EXIT_USAGE = 2


class UsageError(Exception):
    pass


class CommandError(Exception):
    """Bad input or surroundings the user can fix; the message is the one line shown."""


class _Parser(argparse.ArgumentParser):
    # argparse prints the whole usage block before its error; one line is easier to read in a
    # log and to act on. Subparsers are built from this class too.
    def error(self, message: str):
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds: {text!r}")
    return value


def _png_path(text: str) -> Path:
    path = Path(text)
    if path.suffix.lower() != ".png":
        raise argparse.ArgumentTypeError(f"the screenshot is a PNG file, name it *.png: {text!r}")
    return path


def run_overrides(args) -> dict[str, str]:
    """The settings `kiosk run`'s device options stand for."""
    overrides = {}
    if args.camera is not None:
        overrides |= {"camera": args.camera, "face_pipeline": "live"}
    if args.fingerprint is not None:
        overrides |= {"fingerprint_port": args.fingerprint, "fingerprint_device": "r30x"}
    return overrides


def _demo_face(settings, backend) -> dict[str, str]:
    """A demo's face pipeline: the live one with the demo actor when her clip is there and
    nothing else was chosen; says which on the console."""
    if settings.face_pipeline != "auto":
        return {}
    from kiosk.devices import demo_actor

    usable, line = demo_actor.find_actor()
    if not usable:
        print(f"{line}: face checks are simulated", flush=True)
        return {}
    try:
        backend.enrol_face_for_all(demo_actor.enrolment_png())
    except demo_actor.ActorUnavailable as exc:
        print(f"demo actor unusable ({exc}): face checks are simulated", flush=True)
        return {}
    print(f"{line}; enrolled as every demo pensioner's face", flush=True)
    return {"face_pipeline": "actor"}


def cmd_run(args) -> int:
    from kiosk import container as ct

    settings = load_settings(args.config, **run_overrides(args))
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CommandError(f"cannot create the data directory {settings.data_dir}: {exc}") from exc
    key = _device_key(settings)
    _no_core_dumps()
    _bound_freed_memory()
    _log_to_file(settings)
    # SIGTERM (systemd, a test harness) would end the process without unwinding; as SystemExit
    # it unwinds through Kivy and the demo back end is stopped on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    if settings.lockdown:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C on a console ends nothing
    if not args.demo:
        return _run_ui(ct.build(settings), args)

    from kiosk.api.signing import public_key_b64
    from kiosk.demo import DemoBackend

    with DemoBackend(settings, public_key_b64(key.public_key())) as backend:
        print(
            f"demo back end listening on {backend.url} (pid {backend.proc.pid}, "
            f"log {backend.log_path})",
            flush=True,
        )
        update = {"backend_url": backend.url, "devices": "simulated"}
        update |= _demo_face(settings, backend)
        demo_settings = settings.model_copy(update=update)
        return _run_ui(ct.build(demo_settings), args, demo=True)


MMAP_THRESHOLD = 262144  # as the systemd unit's MALLOC_MMAP_THRESHOLD_


def _bound_freed_memory() -> None:
    """What the unit's MALLOC_MMAP_THRESHOLD_ does, for every other way of starting the kiosk
    (a demo, a terminal): glibc raises its mmap threshold to the largest block freed, so after
    the first camera frames (2.7 MB each) it keeps 100-170 MB of freed memory it never gives
    back (bench/soak.py, docs/BENCHMARKS.md). A fixed threshold returns big blocks at once."""
    import os

    from kiosk import glibc_malloc

    if "MALLOC_MMAP_THRESHOLD_" in os.environ or not sys.platform.startswith("linux"):
        return
    glibc_malloc.mallopt("MALLOC_MMAP_THRESHOLD_", MMAP_THRESHOLD)


def _no_core_dumps() -> None:
    """A core dump of the kiosk would hold whatever was in memory: camera frames, templates.
    None are written, whatever the system's setting (and no other process may attach)."""
    import resource

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_dumpable = 4
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_dumpable, 0, 0, 0, 0)


def _run_ui(container, args, demo: bool = False) -> int:
    from kiosk.ui import launch  # kivy only from here, after its environment is set

    try:
        return launch(container, demo=demo, screenshot=args.screenshot, exit_after=args.exit_after)
    finally:
        container.close()


def cmd_tour(args) -> int:
    from kiosk.i18n import LANGUAGES
    from kiosk.ui import render_tour  # kivy only from here, after its environment is set

    settings = load_settings(args.config)
    for what, path in (("data", settings.data_dir), ("output", Path(args.out))):
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CommandError(f"cannot create the {what} directory {path}: {exc}") from exc
    return render_tour(settings, Path(args.out), [args.lang] if args.lang else list(LANGUAGES))


def cmd_scenario(args) -> int:
    import json

    from kiosk.ui import scenario

    settings = load_settings(args.config)
    data_dir = Path(args.data_dir) if args.data_dir else None
    if data_dir is not None:
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CommandError(f"cannot create the data directory {data_dir}: {exc}") from exc
    progress = (lambda line: print(line, file=sys.stderr, flush=True)) if args.json else print
    try:
        report = scenario.run(args.name, settings, data_dir=data_dir, log=progress)
    except scenario.ScenarioError as exc:
        raise CommandError(str(exc)) from exc
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=1), flush=True)
    else:
        for step in report.get("steps", []):
            print(f"{step['seconds']:8.2f} s  {step['screen']}")
        print(
            f"{report['scenario']}: ended on {report['final_screen']} "
            f"(expected {report['expected_screen']})"
            + (f", reference {report['reference']}" if report.get("reference") else "")
        )
    if report.get("error"):
        print(f"kiosk scenario: {report['error'].strip().splitlines()[-1]}", file=sys.stderr)
    return 0 if report["ok"] else 1


def cmd_doctor(args) -> int:
    import json

    from kiosk import container as ct
    from kiosk import doctor

    if args.fault and not args.demo:
        return _fail(
            "kiosk doctor: --fault needs --demo (faults are switched on simulators)", EXIT_USAGE
        )
    settings = load_settings(args.config)
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CommandError(f"cannot create the data directory {settings.data_dir}: {exc}") from exc
    key = _device_key(settings)
    if not args.demo:
        checks = _doctor_checks(ct.build(settings), args)
    else:
        from kiosk.api.signing import public_key_b64
        from kiosk.demo import DemoBackend

        # As for `run --demo`: SIGTERM unwinds, so the demo back end is stopped on the way out.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
        with DemoBackend(settings, public_key_b64(key.public_key())) as backend:
            demo_settings = settings.model_copy(
                update={"backend_url": backend.url, "devices": "simulated"}
            )
            container = ct.build(demo_settings)
            try:
                for device, fault in args.fault:
                    doctor.apply_fault(container, device, fault, backend=backend)
            except doctor.FaultError as exc:
                container.close()
                raise CommandError(str(exc)) from exc
            checks = _doctor_checks(container, args)
    if args.json:
        print(json.dumps(doctor.report(checks), ensure_ascii=False, indent=1), flush=True)
    return 0 if doctor.all_ok(checks) else 1


def _doctor_checks(container, args):
    from kiosk import doctor

    # Human output comes line by line as each check ends (a camera takes a second or two).
    on_check = None if args.json else (lambda check: print(check.line(), flush=True))
    try:
        return doctor.run_checks(
            container,
            timeout=args.timeout,
            print_test_page=args.print_test_page,
            finger_wait_s=args.finger_wait,
            on_check=on_check,
        )
    finally:
        container.close()


def _fault_spec(text: str) -> tuple[str, str]:
    from kiosk.doctor import FaultError, parse_fault

    try:
        return parse_fault(text)
    except FaultError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_key_show(args) -> int:
    from kiosk.api.signing import key_fingerprint, public_key_b64

    settings = load_settings(args.config)
    public = _device_key(settings).public_key()
    b64 = public_key_b64(public)
    print(f"kiosk_id: {settings.kiosk_id}")
    print(f"public_key: {b64}")
    print(f"fingerprint: {key_fingerprint(public)}")
    print(f"key_file: {settings.device_key_path}")
    register = [
        "kiosk-backend", "kiosk", "register", "--id", settings.kiosk_id,
        "--site", settings.site, "--public-key", b64,
    ]  # fmt: skip
    print(f"register_with: {shlex.join(register)}")
    return 0


def _device_key(settings):
    from kiosk.container import device_key

    try:
        return device_key(settings)
    except (OSError, ValueError) as exc:
        raise CommandError(f"cannot use the device key {settings.device_key_path}: {exc}") from exc


def cmd_settings(_args) -> int:
    print(markdown_table(KioskSettings))
    return 0


def _log_to_file(settings) -> None:
    """The kiosk's own log in its data directory (maintenance mode shows it, redacted)."""
    from kiosk.heartbeat import RECENT_ERRORS
    from kiosk.maintenance import logs

    logging.getLogger().addHandler(RECENT_ERRORS)  # the heartbeat's last_errors
    try:
        logs.install(settings.data_dir, settings.log_file_max_kb, settings.log_file_count)
    except OSError as exc:
        print(f"kiosk: no log file in {settings.data_dir}: {exc}", file=sys.stderr)


def _read_pin_twice() -> tuple[str, str]:
    """From a terminal: two hidden prompts. Otherwise: the first two lines of stdin (a PIN is
    never an argument: it would show in the process list and the shell's history)."""
    import getpass

    if sys.stdin.isatty():
        return getpass.getpass("New technician PIN: "), getpass.getpass("The same PIN again: ")
    lines = sys.stdin.read().splitlines()
    if len(lines) < 2:
        raise CommandError("give the PIN twice, one per line, on stdin (or run it in a terminal)")
    return lines[0].strip(), lines[1].strip()


def cmd_maintenance_set_pin(args) -> int:
    from kiosk.maintenance.audit import AUDIT_FILE, AuditLog
    from kiosk.maintenance.pin import PinError, PinStore

    settings = load_settings(args.config)
    first, second = _read_pin_twice()
    if first != second:
        raise CommandError("the two PINs differ; nothing changed")
    store = PinStore(settings.data_dir)
    try:
        store.set_pin(first)
    except PinError as exc:
        raise CommandError(f"{exc}; nothing changed") from None
    except OSError as exc:
        raise CommandError(f"cannot write {store.pin_path}: {exc}") from exc
    AuditLog(settings.data_dir / AUDIT_FILE).append("set pin", "from the command line")
    print(f"technician PIN set in {store.pin_path} (scrypt hash, mode 0600); lockout cleared")
    return 0


def cmd_maintenance_audit_verify(args) -> int:
    from kiosk.maintenance.audit import AUDIT_FILE, verify

    settings = load_settings(args.config)
    path = settings.data_dir / AUDIT_FILE
    verdict = verify(path)
    print(f"{path}: {verdict.describe()}")
    return 0 if verdict.ok else 1


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="kiosk", description=__doc__.splitlines()[0])
    # Subcommands that read settings share this; later ones (scenario, tour, doctor, bio)
    # take it the same way.
    config = _Parser(add_help=False)
    config.add_argument(
        "--config", metavar="PATH", help="TOML settings file (default: $KIOSK_CONFIG)"
    )
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND")

    sp = sub.add_parser("run", parents=[config], help="run the kiosk")
    sp.add_argument(
        "--demo", action="store_true", help="with a local reference back end on loopback"
    )
    sp.add_argument(
        "--camera",
        metavar="SRC",
        help="the real camera for the live face pipeline: an OpenCV device index, a "
        "/dev/video* path or a stream URL (with --demo: a webcam demo)",
    )
    sp.add_argument(
        "--fingerprint",
        metavar="PORT",
        help="the real R30x fingerprint module's serial port, e.g. /dev/ttyUSB0 (with "
        "--demo: a real module, the rest simulated)",
    )
    sp.add_argument(
        "--screenshot",
        metavar="PNG",
        type=_png_path,
        help="save the first frame that shows the back end's state, then exit",
    )
    sp.add_argument(
        "--exit-after",
        metavar="SECONDS",
        type=_positive_seconds,
        help="exit after this long once the window is open (non-zero if the screenshot "
        "was not taken by then)",
    )
    sp.set_defaults(func=cmd_run)

    from kiosk.i18n import LANGUAGES

    sp = sub.add_parser(
        "tour", parents=[config], help="render every screen in every language to PNG, offscreen"
    )
    sp.add_argument("--out", metavar="DIR", required=True, help="writes DIR/<lang>/<screen>.png")
    sp.add_argument("--lang", choices=LANGUAGES, help="only this language (default: all four)")
    sp.set_defaults(func=cmd_tour)

    from kiosk.scenarios import SCENARIOS

    sp = sub.add_parser(
        "scenario",
        parents=[config],
        help="a simulated resident taps through the real UI, offscreen, against a local "
        "reference back end",
        description="Scenarios: "
        + "; ".join(f"{s.name}: {s.summary} (ends on {s.expect})" for s in SCENARIOS.values()),
    )
    sp.add_argument("name", choices=sorted(SCENARIOS), metavar="NAME", help=", ".join(SCENARIOS))
    sp.add_argument(
        "--json",
        action="store_true",
        help="print a JSON summary: final_screen, reference, seconds per step",
    )
    sp.add_argument(
        "--data-dir", metavar="DIR", help="keep the kiosk and back-end files here (default: temp)"
    )
    sp.set_defaults(func=cmd_scenario)

    from kiosk.doctor import FAULTS

    sp = sub.add_parser(
        "doctor",
        parents=[config],
        help="check the devices, the disk, the outbox and the back end, one line each "
        "(exit 1 when a required check fails)",
        description="Each check exercises its device or service through its contract. "
        "Exit 0 when every required check passes (warnings do not count), 1 otherwise, "
        "2 for bad usage or settings.",
    )
    sp.add_argument("--json", action="store_true", help='print {"ok": ..., "checks": [...]} only')
    sp.add_argument(
        "--demo",
        action="store_true",
        help="simulated devices and a local reference back end on loopback (as run --demo)",
    )
    sp.add_argument(
        "--fault",
        metavar="DEVICE=FAULT",
        type=_fault_spec,
        action="append",
        default=[],
        help="with --demo: switch a simulator's fault before the checks (repeatable): "
        + "; ".join(f"{device}: {', '.join(faults)}" for device, faults in FAULTS.items()),
    )
    sp.add_argument(
        "--print-test-page",
        action="store_true",
        help="also print a test page (never by default: it uses paper)",
    )
    sp.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=_positive_seconds,
        default=5.0,
        help="time limit of each device wait and of the TLS handshake (default 5); back-end "
        "calls keep the configured timeouts",
    )
    sp.add_argument(
        "--finger-wait",
        metavar="SECONDS",
        type=_positive_seconds,
        default=2.0,
        help="how long the fingerprint test capture waits for a finger (default 2)",
    )
    sp.set_defaults(func=cmd_doctor)

    sp = sub.add_parser("key", help="the device key")
    ks = sp.add_subparsers(dest="key_cmd", required=True, metavar="ACTION")
    show = ks.add_parser(
        "show",
        parents=[config],
        help="print the kiosk id and public key to register it (creates the key on first use)",
    )
    show.set_defaults(func=cmd_key_show)

    sp = sub.add_parser("settings", help="print the settings reference (markdown)")
    sp.set_defaults(func=cmd_settings)

    sp = sub.add_parser("maintenance", help="maintenance mode: the technician PIN, the audit log")
    ms = sp.add_subparsers(dest="maintenance_cmd", required=True, metavar="ACTION")
    pin = ms.add_parser(
        "set-pin",
        parents=[config],
        help="set the technician PIN (6-12 digits, asked twice; from stdin when not a "
        "terminal); stored as an scrypt hash in <data_dir>/maintenance-pin",
    )
    pin.set_defaults(func=cmd_maintenance_set_pin)
    audit = ms.add_parser(
        "audit-verify",
        parents=[config],
        help="check the hash chain of <data_dir>/maintenance-audit.jsonl (exit 1 and the "
        "first broken line when it was altered)",
    )
    audit.set_defaults(func=cmd_maintenance_audit_verify)

    from kiosk.bio.cli import register as register_bio

    register_bio(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    from kiosk.demo import DemoError

    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    try:
        args = build_parser().parse_args(argv)
    except UsageError as exc:
        return _fail(str(exc), EXIT_USAGE)
    try:
        return args.func(args)
    except ConfigError as exc:
        return _fail(f"kiosk: {exc}", EXIT_USAGE)
    except (CommandError, DemoError) as exc:
        return _fail(f"kiosk {args.cmd}: {exc}", 1)
    except KeyboardInterrupt:
        return 130


def _fail(message: str, code: int) -> int:
    print(" ".join(message.split()), file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
