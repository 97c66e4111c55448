"""The maintenance audit log: every technician action at the kiosk, append-only, hash-chained.

`<data_dir>/maintenance-audit.jsonl`, one JSON object per line::

    {"seq": 1, "time": "2026-11-28T10:00:00.000Z", "action": "pin", "result": "accepted",
     "prev": "<64 hex>", "hash": "<64 hex>"}

`hash` is the SHA-256 of the line's other fields as canonical JSON (sorted keys, no spaces);
`prev` is the hash of the line before it (64 zeros on the first line). Editing, removing or
inserting a line therefore breaks the chain at that line, and `verify` names the first broken
link. Lines cut off the end leave a shorter chain that is still whole: the file alone cannot
show that (the kiosk's log file also records every action, see kiosk/flow/runner.py).

Nothing personal is written: actions and results are the flow's own words (check names and
states, counts, page numbers), never what a resident entered.

An append holds an exclusive lock on the file (fcntl) while it reads the last hash and writes
its line, so `kiosk maintenance set-pin` and the running kiosk can append at the same time
without forking the chain.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

AUDIT_FILE = "maintenance-audit.jsonl"
GENESIS = "0" * 64
FIELDS = ("seq", "time", "action", "result", "prev")
MAX_TEXT = 200


def _digest(entry: dict) -> str:
    body = {k: entry[k] for k in FIELDS}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _utc(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass(frozen=True)
class Verdict:
    ok: bool
    entries: int  # whole lines checked before the first broken link (all of them when ok)
    line: int | None = None  # 1-based line number of the first broken link
    reason: str = ""

    def describe(self) -> str:
        if self.ok:
            return f"audit log intact: {self.entries} entries"
        return f"audit log broken at line {self.line}: {self.reason}"


class AuditLog:
    def __init__(self, path: Path, clock: Callable[[], float] | None = None):
        self.path = Path(path)
        self._clock = clock or time.time

    def append(self, action: str, result: str = "") -> dict:
        """Appends one entry, durable when it returns; returns it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "r+b") as f:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            try:
                last = _last_line(f)
                prev, seq = GENESIS, 0
                if last:
                    try:
                        before = json.loads(last)
                        prev, seq = str(before["hash"]), int(before["seq"])
                    except (ValueError, KeyError, TypeError):
                        # A damaged last line: chain on from its bytes, so the damage stays
                        # visible to `verify` instead of being papered over.
                        prev = hashlib.sha256(last).hexdigest()
                entry = {
                    "seq": seq + 1,
                    "time": _utc(self._clock()),
                    "action": " ".join(str(action).split())[:MAX_TEXT],
                    "result": " ".join(str(result).split())[:MAX_TEXT],
                    "prev": prev,
                }
                entry["hash"] = _digest(entry)
                line = json.dumps(entry, ensure_ascii=False, separators=(", ", ": "))
                f.seek(0, os.SEEK_END)
                f.write(line.encode("utf-8") + b"\n")
                f.flush()
                os.fsync(f.fileno())
            finally:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)
        return entry

    def entries(self) -> list[dict]:
        """Every entry that parses (for display; `verify` says whether they can be trusted)."""
        out = []
        if not self.path.exists():
            return out
        for raw in self.path.read_bytes().splitlines():
            try:
                out.append(json.loads(raw))
            except ValueError:
                continue
        return out

    def verify(self) -> Verdict:
        return verify(self.path)


def _last_line(f) -> bytes:
    """The last non-empty line of an open binary file (read backwards from its end)."""
    f.seek(0, os.SEEK_END)
    end = f.tell()
    chunk, data = 4096, b""
    pos = end
    while pos > 0:
        step = min(chunk, pos)
        pos -= step
        f.seek(pos)
        data = f.read(step) + data
        stripped = data.rstrip(b"\n")
        if b"\n" in stripped:
            return stripped.rsplit(b"\n", 1)[1]
    return data.strip(b"\n")


def verify(path: Path) -> Verdict:
    """Checks every link; the first broken one is reported with its line number."""
    path = Path(path)
    if not path.exists():
        return Verdict(True, 0)
    prev, seq = GENESIS, 0
    lines = path.read_bytes().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for number, raw in enumerate(lines, start=1):
        try:
            entry = json.loads(raw)
            got = {k: entry[k] for k in (*FIELDS, "hash")}
        except (ValueError, KeyError, TypeError):
            return Verdict(False, number - 1, number, "not an audit entry (damaged line)")
        if got["prev"] != prev:
            return Verdict(
                False, number - 1, number, "its previous hash is not the hash of the line before"
            )
        if got["seq"] != seq + 1:
            return Verdict(False, number - 1, number, f"sequence {got['seq']} after {seq}")
        if _digest(got) != got["hash"]:
            return Verdict(False, number - 1, number, "its content does not match its hash")
        prev, seq = got["hash"], got["seq"]
    return Verdict(True, len(lines))
