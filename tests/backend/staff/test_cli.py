"""kiosk-backend staff add / list / unlock and retention run."""

from __future__ import annotations

import io
from urllib.parse import parse_qs, urlsplit

from backend.cli import main
from backend.db import make_engine, session_factory
from backend.settings import BackendSettings
from backend.staff import accounts
from backend.staff.accounts import LoginOutcome


def test_staff_add_list_unlock(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert main(["--db-url", url, "staff", "add", "--username", "rita", "--role", "reviewer"]) == 0
    out = capsys.readouterr().out
    uri = next(line for line in out.splitlines() if line.startswith("otpauth://"))
    secret = parse_qs(urlsplit(uri).query)["secret"][0]

    engine = make_engine(url)
    s = BackendSettings(db_url=url, staff_login_failures=2)
    from backend.clock import SystemClock

    now = SystemClock().now()
    with session_factory(engine)() as db:
        for _ in range(2):
            accounts.sign_in(db, now, "rita", "a long enough password", "000000", s)
    assert main(["--db-url", url, "staff", "list"]) == 0
    assert "rita\treviewer\tlocked\t2" in capsys.readouterr().out
    assert main(["--db-url", url, "staff", "unlock", "--username", "rita"]) == 0
    with session_factory(engine)() as db:
        code = accounts.totp_now(secret, now.timestamp())
        result = accounts.sign_in(db, now, "rita", "a long enough password", code, s)
        assert result.outcome is LoginOutcome.OK
    engine.dispose()

    # A short password, a duplicate name, an unknown user: status 2 and one line.
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["--db-url", url, "staff", "add", "--username", "tom", "--role", "admin"]) == 2
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert main(["--db-url", url, "staff", "add", "--username", "rita", "--role", "admin"]) == 2
    assert main(["--db-url", url, "staff", "unlock", "--username", "nobody"]) == 2
    err = capsys.readouterr().err
    assert "at least 12" in err and "exists" in err and "nobody" in err


def test_retention_run(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    assert main(["--db-url", url, "retention", "run"]) == 0
    assert "evidence purged: 0" in capsys.readouterr().out
