"""Staff accounts: scrypt hashes, RFC 6238 one-time codes, lockout, in virtual time."""

from __future__ import annotations

import datetime as dt

import pytest

from backend.db import make_engine, session_factory, upgrade
from backend.settings import BackendSettings
from backend.staff import accounts
from backend.staff.accounts import LoginOutcome

# RFC 6238, appendix B: seeds of 20, 32 and 64 bytes, 8 digits.
SEEDS = {
    "sha1": b"12345678901234567890",
    "sha256": b"12345678901234567890123456789012",
    "sha512": b"1234567890123456789012345678901234567890123456789012345678901234",
}
RFC6238 = [
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]
# RFC 4226, appendix D: HOTP of the 20-byte seed for counters 0..9.
RFC4226 = ["755224", "287082", "359152", "969429", "338314",
           "254676", "287922", "162583", "399871", "520489"]  # fmt: skip


@pytest.mark.parametrize("t,sha1,sha256,sha512", RFC6238)
def test_totp_rfc6238_vectors(t, sha1, sha256, sha512):
    for digest, want in (("sha1", sha1), ("sha256", sha256), ("sha512", sha512)):
        assert accounts.totp(SEEDS[digest], t, digits=8, digest=digest) == want


def test_hotp_rfc4226_vectors():
    assert [accounts.hotp(SEEDS["sha1"], i) for i in range(10)] == RFC4226


def test_totp_window_is_one_step_either_side_and_a_code_counts_once():
    secret = accounts.new_totp_secret()
    t = 1_800_000_000.0
    step = accounts.totp_step(t)
    at = lambda k: accounts.totp_now(secret, t + 30 * k)  # noqa: E731
    assert accounts.match_totp(secret, at(0), t, None) == step
    assert accounts.match_totp(secret, at(-1), t, None) == step - 1
    assert accounts.match_totp(secret, at(1), t, None) == step + 1
    assert accounts.match_totp(secret, at(-2), t, None) is None
    assert accounts.match_totp(secret, at(2), t, None) is None
    # Used: the same step, or an older one, never again.
    assert accounts.match_totp(secret, at(0), t, last_step=step) is None
    assert accounts.match_totp(secret, at(-1), t, last_step=step) is None
    assert accounts.match_totp(secret, at(1), t, last_step=step) == step + 1
    for junk in ("", "12345", "1234567", "abcdef", "12 34 5"):
        assert accounts.match_totp(secret, junk, t, None) is None


def test_provisioning_uri_names_the_account_and_the_secret():
    secret = accounts.new_totp_secret()
    uri = accounts.provisioning_uri("rita", secret)
    assert uri.startswith("otpauth://totp/Jiangmen%20pension%20kiosk%3Arita?")
    assert f"secret={secret}" in uri and "digits=6" in uri and "period=30" in uri


def test_password_hash_is_salted_scrypt_and_verifies():
    a = accounts.hash_password("correct horse battery")
    b = accounts.hash_password("correct horse battery")
    assert a != b and a.startswith("scrypt$15$8$1$")
    assert accounts.verify_password(a, "correct horse battery")
    assert not accounts.verify_password(a, "correct horse batterY")
    assert not accounts.verify_password("md5$x", "anything")
    assert not accounts.verify_password("scrypt$x$y$z$a$b", "anything")


@pytest.fixture
def db(tmp_path):
    url = f"sqlite:///{tmp_path / 'staff.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    with session_factory(engine)() as session:
        yield session
    engine.dispose()


NOW = dt.datetime(2026, 11, 28, 8, 0, tzinfo=dt.UTC)


def test_create_user_refuses_bad_names_roles_passwords_and_duplicates(db):
    accounts.create_user(db, NOW, "rita", "reviewer", "a long enough password")
    for name, role, pw in [
        ("Rita!", "reviewer", "a long enough password"),
        ("ri", "reviewer", "a long enough password"),
        ("tom", "janitor", "a long enough password"),
        ("tom", "technician", "short"),
        ("rita", "admin", "a long enough password"),
    ]:
        with pytest.raises(ValueError):
            accounts.create_user(db, NOW, name, role, pw)


def test_lockout_after_n_failures_then_unlocks_by_time(db):
    s = BackendSettings(db_url="sqlite://", staff_login_failures=5, staff_lockout_s=900)
    _user, secret = accounts.create_user(db, NOW, "rita", "reviewer", "a long enough password")
    now = NOW
    for i in range(4):
        r = accounts.sign_in(
            db, now, "rita", "wrong password!", accounts.totp_now(secret, now.timestamp()), s
        )
        assert r.outcome is LoginOutcome.FAILED, i
    # The fifth failure (a wrong code this time) locks.
    r = accounts.sign_in(db, now, "rita", "a long enough password", "000000", s)
    assert r.outcome is LoginOutcome.LOCKED
    # Locked: even both right factors are refused, until the lock runs out.
    later = now + dt.timedelta(seconds=899)
    good = accounts.totp_now(secret, later.timestamp())
    assert accounts.sign_in(db, later, "rita", "a long enough password", good, s).outcome is (
        LoginOutcome.LOCKED
    )
    after = now + dt.timedelta(seconds=901)
    good = accounts.totp_now(secret, after.timestamp())
    r = accounts.sign_in(db, after, "rita", "a long enough password", good, s)
    assert r.outcome is LoginOutcome.OK and r.user.failed_logins == 0
    # The code just used does not work twice.
    assert accounts.sign_in(db, after, "rita", "a long enough password", good, s).outcome is (
        LoginOutcome.FAILED
    )


def test_unlock_clears_the_lock(db):
    s = BackendSettings(db_url="sqlite://", staff_login_failures=2)
    _user, secret = accounts.create_user(db, NOW, "tom", "technician", "a long enough password")
    for _ in range(2):
        accounts.sign_in(db, NOW, "tom", "nope nope nope", "123456", s)
    assert accounts.is_locked(accounts.find(db, "tom"), NOW)
    accounts.unlock(db, NOW, "tom")
    good = accounts.totp_now(secret, NOW.timestamp())
    assert accounts.sign_in(db, NOW, "tom", "a long enough password", good, s).outcome is (
        LoginOutcome.OK
    )


def test_unknown_user_fails_like_a_wrong_password(db):
    s = BackendSettings(db_url="sqlite://")
    assert accounts.sign_in(db, NOW, "nobody", "whatever", "123456", s).outcome is (
        LoginOutcome.FAILED
    )
    assert accounts.sign_in(db, NOW, "Robert'); DROP", "x", "1", s).outcome is LoginOutcome.FAILED


def test_roles_and_areas():
    from backend.staff.accounts import Area, may_enter

    assert may_enter("reviewer", Area.REVIEW) and not may_enter("reviewer", Area.FLEET)
    assert may_enter("technician", Area.FLEET) and not may_enter("technician", Area.REVIEW)
    assert may_enter("admin", Area.REVIEW) and may_enter("admin", Area.FLEET)
    assert not may_enter("", Area.REVIEW)
