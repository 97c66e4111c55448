"""`kiosk-backend`: serve the reference back end and administer it."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

log = logging.getLogger("backend")


def _settings(args):
    from backend.settings import BackendSettings

    overrides = {}
    if getattr(args, "db_url", None):
        overrides["db_url"] = args.db_url
    return BackendSettings(**overrides)


def _db(args):
    from backend.db import make_engine, session_factory, upgrade

    s = _settings(args)
    upgrade(s.db_url)
    return s, session_factory(make_engine(s.db_url))


def cmd_serve(args) -> int:
    import uvicorn

    from backend.app import create_app

    s = _settings(args)
    from backend.db import upgrade

    upgrade(s.db_url)
    app = create_app(s)
    host = args.host or s.host
    port = s.port if args.port is None else args.port
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)
    return 0


def cmd_migrate(args) -> int:
    _db(args)
    print("database at head")
    return 0


def cmd_seed(args) -> int:
    from backend.clock import SystemClock
    from backend.seed import seed_demo

    if not args.demo:
        print("kiosk-backend seed: only --demo data can be seeded", file=sys.stderr)
        return 2
    s, sessions = _db(args)
    with sessions() as db:
        created, present = seed_demo(db, SystemClock().now(), s)
    print(f"demo pensioners: {created} created, {present} already present")
    return 0


def cmd_openapi(args) -> int:
    from backend.app import create_app
    from backend.settings import BackendSettings

    schema = create_app(BackendSettings(db_url="sqlite://")).openapi()
    text = json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def cmd_kiosk(args) -> int:
    from backend.clock import SystemClock
    from backend.kiosks import list_kiosks, register, revoke

    _s, sessions = _db(args)
    now = SystemClock().now()
    with sessions() as db:
        if args.kiosk_cmd == "register":
            key = args.public_key
            if key.startswith("@"):
                key = Path(key[1:]).read_text()
            register(db, now, args.id, args.site, key, demo=args.demo)
            print(f"kiosk {args.id} registered{' (demo)' if args.demo else ''}")
        elif args.kiosk_cmd == "revoke":
            revoke(db, now, args.id)
            print(f"kiosk {args.id} revoked")
        else:
            for k in list_kiosks(db):
                print(f"{k.id}\t{k.state}\t{'demo' if k.is_demo else 'live'}\t{k.site}")
    return 0


def cmd_audit_verify(args) -> int:
    from backend.audit import verify_chain

    _s, sessions = _db(args)
    with sessions() as db:
        broken = verify_chain(db)
    if broken is None:
        print("audit chain intact")
        return 0
    print(f"audit chain broken at entry {broken}", file=sys.stderr)
    return 1


def _finger_position(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 10:
        raise argparse.ArgumentTypeError(f"{text!r} is not a finger position 1..10 (ISO)")
    return value


def cmd_enrol(args) -> int:
    from backend.clock import SystemClock
    from backend.enrol import (
        EnrolInputError,
        Photo,
        face_enrolment,
        find_pensioner,
        finger_enrolment,
        store,
    )

    if (args.finger is None) != (args.finger_image is None):
        print("kiosk-backend enrol: --finger and --finger-image go together", file=sys.stderr)
        return 2
    if not args.photo and args.finger is None:
        print("kiosk-backend enrol: nothing to enrol: give --photo (or --finger)", file=sys.stderr)
        return 2
    if args.all_demo and args.finger is not None:
        print("kiosk-backend enrol: --all-demo enrols a face only", file=sys.stderr)
        return 2
    _s, sessions = _db(args)
    with sessions() as db:
        if args.all_demo:
            from backend.seed import load_personas

            keys = [p["key"] for p in load_personas() if p["face"]]
            targets = [(k, find_pensioner(db, persona=k).id) for k in keys]
        else:
            person = find_pensioner(db, persona=args.persona, pensioner_id=args.pensioner_id)
            targets = [(args.persona, person.id)]
    try:
        photos = [Photo.read(p) for p in args.photo]
        finger = Photo.read(args.finger_image) if args.finger is not None else None
        enrolments = [face_enrolment(photos)] if photos else []
        if finger is not None:
            enrolments.append(finger_enrolment(finger, args.finger))
    except EnrolInputError as exc:
        print(f"kiosk-backend enrol: {exc}", file=sys.stderr)
        return 1
    for persona, pensioner_id in targets:
        with sessions() as db:
            stored = store(db, SystemClock().now(), pensioner_id, enrolments)
        who = f"pensioner {pensioner_id}"
        if persona:
            who = f"persona {persona} ({who})"
        for st in stored:
            e = st.enrolment
            what = "face" if e.modality == "face" else f"finger {e.finger_position}"
            unit = "photo" if e.modality == "face" else "image"
            print(
                f"enrolled {what} for {who}: extractor {e.extractor} v{e.extractor_version}, "
                f"{e.sources} {unit}{'s' if e.sources != 1 else ''}"
            )
    return 0


def cmd_export_subject(args) -> int:
    import os

    from sqlalchemy import select

    from backend import audit, subject
    from backend import models as m

    _s, sessions = _db(args)
    with sessions() as db:
        pid = args.pensioner_id
        if args.document:
            from kiosk.api import documents

            doc_type, number = args.document
            try:
                parsed = documents.parse(doc_type, number)
            except (documents.DocumentError, ValueError) as exc:
                raise ValueError(f"--document {doc_type} {number}: not a valid number") from exc
            doc = db.scalar(
                select(m.IdentityDocument).where(
                    m.IdentityDocument.doc_type == parsed.doc_type.value,
                    m.IdentityDocument.number == parsed.number,
                )
            )
            if doc is None:
                raise LookupError("no pensioner holds that document")
            pid = doc.pensioner_id
        data = subject.export(db, pid, with_biometrics=args.with_biometrics)
        from backend.clock import SystemClock

        audit.append(
            db,
            SystemClock().now(),
            actor="admin:export-subject",
            action="subject_exported",
            subject=f"pensioner:{pid}",
            detail={"with_biometrics": args.with_biometrics, "tables": sorted(data["tables"])},
        )
        db.commit()
    text = subject.dumps(data)
    if args.out:
        # Personal data: readable by the operator alone.
        fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text + "\n")
        rows = sum(len(v) for v in data["tables"].values())
        print(f"pensioner {pid}: {rows} rows from {len(data['tables'])} tables to {args.out}")
    else:
        print(text)
    return 0


def cmd_settings(_args) -> int:
    from backend.settings import BackendSettings
    from backend.settings_doc import markdown_table

    print(markdown_table(BackendSettings, "KIOSK_BACKEND_"))
    return 0


def cmd_ecard(args) -> int:
    import datetime as dt

    from backend import ecard
    from backend.clock import SystemClock

    s = _settings(args)
    ring = ecard.ECardKeyring(s.ecard_key_path)
    now = SystemClock().now()
    if args.ecard_cmd == "keys":
        for k in ring.keys(now):
            until = k.valid_until.isoformat() if k.valid_until else "current"
            print(f"{k.key_id}\t{k.valid_from.isoformat()}\t{until}")
        return 0
    if args.ecard_cmd == "rotate":
        new = ring.rotate(now)
        print(f"e-card key {new.key_id} is current; the previous key is retired")
        return 0
    if args.days < 1:
        raise ValueError("--days must be at least 1")
    if args.persona:
        from backend.seed import load_personas

        entry = next((p for p in load_personas() if p["key"] == args.persona), None)
        if entry is None:
            raise LookupError(f"no demo persona {args.persona!r}")
        docs = [(d["type"], d["number"]) for d in entry["documents"]]
        born = dt.date.fromisoformat(entry["date_of_birth"])
    else:
        from backend import models as m

        _s, sessions = _db(args)
        with sessions() as db:
            person = db.get(m.Pensioner, args.pensioner_id)
            if person is None:
                raise LookupError(f"no pensioner {args.pensioner_id}")
            docs = [(d.doc_type, d.number) for d in sorted(person.documents, key=lambda d: d.id)]
            born = person.date_of_birth
    if args.document is not None:
        from kiosk.api.contract import DocumentType

        known = [t.value for t in DocumentType]
        if args.document not in known:
            raise ValueError(f"--document {args.document!r}: one of {', '.join(known)}")
    doc_type, number = ecard.pick_document(docs, args.document)
    text, claims = ecard.issue_card(ring, doc_type, number, born, now, args.days)
    print(text)
    print(
        f"e-card for {doc_type} {number}, key {claims.key_id}, "
        f"valid until {claims.expires_at.isoformat()}",
        file=sys.stderr,
    )
    if args.png:
        path = ecard.write_qr_png(text, args.png)
        print(f"QR code written to {path}", file=sys.stderr)
    return 0


def _read_new_password() -> str:
    """From standard input when it is not a terminal (first line), else asked twice."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    import getpass

    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        raise ValueError("the two passwords differ")
    return first


def cmd_staff(args) -> int:
    from backend.clock import SystemClock
    from backend.staff import accounts

    _s, sessions = _db(args)
    now = SystemClock().now()
    with sessions() as db:
        if args.staff_cmd == "add":
            user, secret = accounts.create_user(
                db, now, args.username, args.role, _read_new_password()
            )
            print(f"staff user {user.username} added ({user.role})")
            print("Add this to the user's authenticator app now; it is not shown again:")
            print(accounts.provisioning_uri(user.username, secret))
        elif args.staff_cmd == "unlock":
            accounts.unlock(db, now, args.username)
            print(f"staff user {args.username} unlocked")
        else:
            for u in accounts.list_users(db):
                locked = "locked" if accounts.is_locked(u, now) else "active"
                if u.disabled:
                    locked = "disabled"
                last = u.last_login_at.isoformat(timespec="seconds") if u.last_login_at else "-"
                print(f"{u.username}\t{u.role}\t{locked}\t{u.failed_logins}\t{last}")
    return 0


def cmd_retention(args) -> int:
    from backend.clock import SystemClock
    from backend.staff import retention

    s, sessions = _db(args)
    with sessions() as db:
        report = retention.run(db, SystemClock().now(), s)
    print(
        f"evidence purged: {report.evidence_purged} "
        f"(older than {s.evidence_retention_days} days after the final decision); "
        f"heartbeats deleted: {report.heartbeats_deleted}"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kiosk-backend", description=__doc__)
    p.add_argument("--db-url", help="overrides KIOSK_BACKEND_DB_URL")
    sub = p.add_subparsers(dest="cmd", required=True)

    sp = sub.add_parser("serve", help="migrate, then serve the API")
    sp.add_argument("--host")
    sp.add_argument("--port", type=int)
    sp.set_defaults(func=cmd_serve)

    sub.add_parser("migrate", help="bring the database to the latest schema").set_defaults(
        func=cmd_migrate
    )

    sp = sub.add_parser("seed", help="seed demo pensioners (idempotent)")
    sp.add_argument("--demo", action="store_true", required=True)
    sp.set_defaults(func=cmd_seed)

    sp = sub.add_parser("openapi", help="print the OpenAPI document")
    sp.add_argument("--out")
    sp.set_defaults(func=cmd_openapi)

    sp = sub.add_parser("kiosk", help="register, revoke or list kiosks")
    ks = sp.add_subparsers(dest="kiosk_cmd", required=True)
    r = ks.add_parser("register")
    r.add_argument("--id", required=True)
    r.add_argument("--site", required=True)
    r.add_argument(
        "--public-key",
        required=True,
        help="base64 raw Ed25519 key, PEM, or @file (what `kiosk key show` prints)",
    )
    r.add_argument("--demo", action="store_true", help="may submit simulated evidence")
    r = ks.add_parser("revoke")
    r.add_argument("--id", required=True)
    ks.add_parser("list")
    sp.set_defaults(func=cmd_kiosk)

    sp = sub.add_parser(
        "enrol",
        help="enrol a pensioner's face from photos (and optionally a finger from an image)",
        description="Enrol a pensioner's face from one or more photos of one person, with the "
        "kiosk's face extractor; optionally one finger from an image at 500 dpi. Replaces the "
        "template of the same extractor and version; simulated templates stay. Bad photos "
        "exit with status 1, bad arguments or an unknown pensioner with status 2.",
    )
    who = sp.add_mutually_exclusive_group(required=True)
    who.add_argument("--persona", metavar="KEY", help="demo persona key, e.g. demo-01")
    who.add_argument("--pensioner-id", type=int, metavar="ID")
    who.add_argument(
        "--all-demo",
        action="store_true",
        help="every demo persona with a face (a demo where one person stands in for all)",
    )
    sp.add_argument(
        "--photo", action="append", default=[], metavar="FILE",
        help="a photo of the pensioner's face; repeat for several (one template from all)",
    )  # fmt: skip
    sp.add_argument(
        "--finger", type=_finger_position, metavar="POSITION",
        help="ISO/IEC 19794-2 finger position (1..10) to enrol from --finger-image",
    )  # fmt: skip
    sp.add_argument("--finger-image", metavar="FILE", help="fingerprint image at 500 dpi")
    sp.set_defaults(func=cmd_enrol)

    sub.add_parser("audit-verify", help="check the audit log's hash chain").set_defaults(
        func=cmd_audit_verify
    )
    sub.add_parser("settings", help="print the settings reference").set_defaults(func=cmd_settings)

    sp = sub.add_parser(
        "export-subject", help="everything held about one pensioner, as JSON (access request)"
    )
    who = sp.add_mutually_exclusive_group(required=True)
    who.add_argument("--pensioner-id", type=int)
    who.add_argument("--document", nargs=2, metavar=("TYPE", "NUMBER"))
    sp.add_argument("--out", help="write to this file (mode 0600) instead of stdout")
    sp.add_argument(
        "--with-biometrics",
        action="store_true",
        help="include photos, fingerprints and templates (base64): for encrypted media only",
    )
    sp.set_defaults(func=cmd_export_subject)

    sp = sub.add_parser("ecard", help="issue residents' QR e-cards; list or rotate their keys")
    es = sp.add_subparsers(dest="ecard_cmd", required=True)
    r = es.add_parser(
        "issue",
        help="print a signed e-card payload (and optionally write its QR code as a PNG)",
        description="Print the e-card payload (kiosk/api/ecard.py) for a pensioner's identity "
        "document, signed by the current e-card key (created on first use).",
    )
    who = r.add_mutually_exclusive_group(required=True)
    who.add_argument("--persona", metavar="KEY", help="demo persona key, e.g. demo-01")
    who.add_argument("--pensioner-id", type=int, metavar="ID", help="a pensioner in the database")
    r.add_argument(
        "--document",
        metavar="TYPE",
        help="which of the pensioner's documents: hkid, macau_id, prc_id or "
        "home_return_permit (default: the first)",
    )
    r.add_argument("--days", type=int, default=365, help="days the card is valid (default 365)")
    r.add_argument("--png", metavar="FILE", help="also write the QR code to this PNG file")
    es.add_parser("keys", help="list the e-card keys and their validity")
    es.add_parser("rotate", help="retire the current e-card key and add a new one")
    sp.set_defaults(func=cmd_ecard)

    sp = sub.add_parser("staff", help="staff users of the review and fleet consoles")
    ss = sp.add_subparsers(dest="staff_cmd", required=True)
    r = ss.add_parser(
        "add",
        help="add a staff user; prints the TOTP provisioning URI once",
        description="Add a staff user. The password is read from standard input (first line) "
        "when it is not a terminal, else asked for twice. Prints the otpauth:// URI for the "
        "user's authenticator app once.",
    )
    r.add_argument("--username", required=True)
    r.add_argument("--role", required=True, choices=["reviewer", "technician", "admin"])
    r = ss.add_parser("unlock", help="clear a staff user's failed sign-ins and lock")
    r.add_argument("--username", required=True)
    ss.add_parser("list", help="list staff users: name, role, state, failures, last sign-in")
    sp.set_defaults(func=cmd_staff)

    sp = sub.add_parser("retention", help="purge evidence and old heartbeats")
    rs = sp.add_subparsers(dest="retention_cmd", required=True)
    rs.add_parser(
        "run",
        help="purge evidence EVIDENCE_RETENTION_DAYS after the final decision and "
        "heartbeats older than HEARTBEAT_RETENTION_DAYS",
    )
    sp.set_defaults(func=cmd_retention)
    return p


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    args = build_parser().parse_args(argv)
    from pydantic import ValidationError

    try:
        return args.func(args)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "KIOSK_BACKEND_" + str(first["loc"][0]).upper() if first["loc"] else "settings"
        print(f"kiosk-backend: setting {name}: {first['msg']}", file=sys.stderr)
        return 2
    except (ValueError, LookupError) as exc:
        print(f"kiosk-backend {args.cmd}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
