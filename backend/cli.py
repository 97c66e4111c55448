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


def cmd_settings(_args) -> int:
    from backend.settings import BackendSettings
    from backend.settings_doc import markdown_table

    print(markdown_table(BackendSettings, "KIOSK_BACKEND_"))
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

    sub.add_parser("audit-verify", help="check the audit log's hash chain").set_defaults(
        func=cmd_audit_verify
    )
    sub.add_parser("settings", help="print the settings reference").set_defaults(func=cmd_settings)
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
