"""The technician PIN (kiosk/maintenance/pin.py): a salted scrypt hash with its parameters,
trivial PINs refused, files readable by the kiosk's user only; `kiosk maintenance set-pin`."""

from __future__ import annotations

import io
import os
import sys

import pytest

from kiosk.cli import main
from kiosk.flow.maintenance import Lockout
from kiosk.maintenance import pin as pn
from kiosk.maintenance.audit import AUDIT_FILE, verify

CHEAP = {"n": 16, "r": 1, "p": 1}


def test_a_pin_is_stored_as_a_salted_scrypt_hash_with_its_parameters():
    stored = pn.hash_pin("482915")  # the kiosk's real cost
    assert stored.startswith("scrypt$n=32768,r=8,p=1$")
    assert "482915" not in stored
    assert pn.verify_pin("482915", stored)
    assert not pn.verify_pin("482916", stored)
    assert pn.hash_pin("482915", **CHEAP) != pn.hash_pin("482915", **CHEAP)  # a salt each
    n, r, p, salt, digest = pn.parse(stored)
    assert (n, r, p, len(salt), len(digest)) == (32768, 8, 1, 16, 32)


def test_older_parameters_still_verify():
    assert pn.verify_pin("482915", pn.hash_pin("482915", n=2**10, r=4, p=2))


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "482915",
        "pbkdf2$n=16,r=1,p=1$AAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAA==",
        "scrypt$n=15,r=1,p=1$AAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAA==",  # n not a power of 2
        "scrypt$n=4194304,r=8,p=1$AAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAA==",  # 4 GiB of memory
        "scrypt$n=16,r=1,p=1$AA==$AAAAAAAAAAAAAAAAAAAAAA==",  # salt too short
    ],
)
def test_what_is_not_a_hash_we_write_is_refused(stored):
    with pytest.raises(ValueError):
        pn.verify_pin("482915", stored)


@pytest.mark.parametrize(
    "pin",
    ["000000", "111111111", "123456", "654321", "890123", "121212", "123123", "112211",
     "12341234", "98769876"],
)  # fmt: skip
def test_trivial_pins_are_refused(pin):
    assert pn.trivial(pin)
    with pytest.raises(pn.PinError, match="too easy"):
        pn.validate_new_pin(pin)


@pytest.mark.parametrize("pin", ["12345", "1234567890123", "48a915", "４８２９１５", ""])
def test_a_pin_is_6_to_12_ascii_digits(pin):
    with pytest.raises(pn.PinError):
        pn.validate_new_pin(pin)


@pytest.mark.parametrize("pin", ["482915", "907315", "583920174", "271828182845"])
def test_ordinary_pins_are_accepted(pin):
    pn.validate_new_pin(pin)


def test_the_store_keeps_the_hash_and_the_lockout_private(tmp_path):
    store = pn.PinStore(tmp_path)
    assert store.pin_hash() is None
    assert store.load_lockout() == Lockout()
    store.save_lockout(Lockout(3, None))
    store.set_pin("482915", **CHEAP)  # a new PIN ends the lockout
    assert store.load_lockout() == Lockout()
    assert pn.verify_pin("482915", store.pin_hash())
    for path in (store.pin_path, store.lockout_path):
        assert path.stat().st_mode & 0o777 == 0o600
    assert "482915" not in store.pin_path.read_text()
    store.save_lockout(Lockout(5, 1_800_000_900.0))
    assert pn.PinStore(tmp_path).load_lockout() == Lockout(5, 1_800_000_900.0)


def test_a_damaged_pin_file_is_no_pin_and_a_damaged_lockout_locks(tmp_path):
    store = pn.PinStore(tmp_path)
    store.pin_path.write_text("not a hash\n")
    assert store.pin_hash() is None
    store.lockout_path.write_text("[1, 2")
    assert store.load_lockout().failures >= 5


# --------------------------------------------------------------------------- CLI


@pytest.fixture
def data_dir(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith("KIOSK_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("KIOSK_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def _stdin(monkeypatch, text: str) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))


def test_set_pin_reads_it_twice_from_stdin_and_audits(monkeypatch, capsys, data_dir):
    _stdin(monkeypatch, "482915\n482915\n")
    assert main(["maintenance", "set-pin"]) == 0
    assert "technician PIN set" in capsys.readouterr().out
    store = pn.PinStore(data_dir)
    assert pn.verify_pin("482915", store.pin_hash())
    assert store.pin_path.stat().st_mode & 0o777 == 0o600
    assert verify(data_dir / AUDIT_FILE).entries == 1
    assert main(["maintenance", "audit-verify"]) == 0
    assert "intact: 1 entries" in capsys.readouterr().out


@pytest.mark.parametrize(
    "given,why",
    [
        ("482915\n482916\n", "differ"),
        ("123456\n123456\n", "too easy"),
        ("4829\n4829\n", "6 to 12 digits"),
        ("482915\n", "twice"),
    ],
)
def test_set_pin_refuses_and_changes_nothing(monkeypatch, capsys, data_dir, given, why):
    _stdin(monkeypatch, given)
    assert main(["maintenance", "set-pin"]) == 1
    err = capsys.readouterr().err
    assert why in err and len(err.strip().splitlines()) == 1
    assert pn.PinStore(data_dir).pin_hash() is None


def test_audit_verify_names_the_first_broken_line(capsys, data_dir):
    from kiosk.maintenance.audit import AuditLog

    log = AuditLog(data_dir / AUDIT_FILE)
    for action in ("enter", "pin", "open"):
        log.append(action, "ok")
    lines = log.path.read_text().splitlines()
    lines[1] = lines[1].replace('"ok"', '"accepted"')
    log.path.write_text("\n".join(lines) + "\n")
    assert main(["maintenance", "audit-verify"]) == 1
    assert "broken at line 2" in capsys.readouterr().out
