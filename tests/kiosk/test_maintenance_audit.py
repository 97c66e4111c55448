"""The maintenance audit log (kiosk/maintenance/audit.py): append-only, hash-chained; any
change to a line, a removed or an inserted line is reported at the first broken link."""

from __future__ import annotations

import itertools
import json
import threading

import pytest

from kiosk.maintenance.audit import GENESIS, AuditLog, verify


@pytest.fixture
def log(tmp_path):
    clock = iter(range(1_800_000_000, 1_800_001_000))
    audit = AuditLog(tmp_path / "maintenance-audit.jsonl", clock=lambda: float(next(clock)))
    for action, result in [
        ("enter", "from attract"),
        ("pin", "wrong (1 of 5)"),
        ("pin", "accepted"),
        ("diagnostic camera", "pass"),
        ("exit", "left"),
    ]:
        audit.append(action, result)
    return audit


def _lines(log) -> list[str]:
    return log.path.read_text().splitlines()


def _write(log, lines) -> None:
    log.path.write_text("\n".join(lines) + "\n")


def test_entries_chain_from_the_genesis(log):
    entries = log.entries()
    assert [e["seq"] for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0]["prev"] == GENESIS
    assert all(b["prev"] == a["hash"] for a, b in itertools.pairwise(entries))
    assert entries[0]["time"] == "2027-01-15T08:00:00.000Z"
    assert set(entries[0]) == {"seq", "time", "action", "result", "prev", "hash"}
    assert log.verify().ok and log.verify().entries == 5
    assert log.path.stat().st_mode & 0o777 == 0o600


def test_an_edited_line_is_the_first_broken_link(log):
    lines = _lines(log)
    lines[2] = lines[2].replace('"accepted"', '"wrong (2 of 5)"')
    _write(log, lines)
    verdict = verify(log.path)
    assert not verdict.ok and verdict.line == 3 and verdict.entries == 2
    assert "content" in verdict.reason


def test_an_edited_line_with_its_hash_recomputed_breaks_the_next_link(log):
    import hashlib

    lines = _lines(log)
    entry = json.loads(lines[1])
    entry["result"] = "accepted"
    body = {k: entry[k] for k in ("seq", "time", "action", "result", "prev")}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    entry["hash"] = hashlib.sha256(canonical.encode()).hexdigest()
    lines[1] = json.dumps(entry)
    _write(log, lines)
    verdict = verify(log.path)
    assert (verdict.ok, verdict.line) == (False, 3)
    assert "previous hash" in verdict.reason


@pytest.mark.parametrize("kind", ["removed", "inserted", "swapped", "garbage"])
def test_removed_inserted_or_damaged_lines_are_found(log, kind):
    lines = _lines(log)
    if kind == "removed":
        del lines[1]
    elif kind == "inserted":
        lines.insert(3, lines[1])
    elif kind == "swapped":
        lines[1], lines[2] = lines[2], lines[1]
    else:
        lines[3] = "{not json"
    _write(log, lines)
    verdict = verify(log.path)
    assert not verdict.ok
    assert verdict.line == {"removed": 2, "inserted": 4, "swapped": 2, "garbage": 4}[kind]
    assert f"line {verdict.line}" in verdict.describe()


def test_appending_after_damage_keeps_the_damage_visible(log):
    lines = _lines(log)
    lines[-1] = lines[-1][:-5]  # a torn last line
    _write(log, lines)
    log.append("enter", "from attract")
    verdict = verify(log.path)
    assert not verdict.ok and verdict.line == 5


def test_concurrent_appends_keep_one_chain(tmp_path):
    audit = AuditLog(tmp_path / "a.jsonl")
    threads = [
        threading.Thread(target=lambda i=i: [audit.append(f"t{i}", str(n)) for n in range(20)])
        for i in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    verdict = audit.verify()
    assert verdict.ok and verdict.entries == 80


def test_text_is_one_bounded_line(tmp_path):
    audit = AuditLog(tmp_path / "a.jsonl")
    entry = audit.append("open\nlogs", "x" * 1000)
    assert entry["action"] == "open logs" and len(entry["result"]) == 200
    assert audit.verify().ok


def test_no_file_is_an_intact_empty_log(tmp_path):
    assert verify(tmp_path / "none.jsonl").ok
