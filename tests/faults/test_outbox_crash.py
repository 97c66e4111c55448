"""The outbox under a full disk and under kill -9.

Disk full, two ways, each where it is closest to the real thing:

- in a child process, `RLIMIT_FSIZE` caps the size of every file the process writes at the
  outbox's current size: SQLite's write(2) of the WAL frames really fails in the middle of
  the transaction (EFBIG, after a short write), as it does with ENOSPC on a full disk. The
  kernel refuses the bytes, so SQLite's own recovery of a torn transaction is what is
  tested. (A limit on the whole process cannot be set on the test process itself: the back
  end shares it.)
- in the kiosk's own process, `PRAGMA max_page_count` at the outbox's current size makes
  the next put fail with SQLITE_FULL ("database or disk is full", the error a full disk
  gives) without touching the back end's files: this is how the runner and the flow react
  to a put that raises.

kill -9: a warm zygote forks workers that put sealed evidence into one outbox file and drain
it to the real back end (through the fault proxy, which counts what reaches the back end);
each worker is killed with SIGKILL at a random moment of its put or of its drain, and the
next one starts on the same file, until everything drained. Then the back end is counted.
`KIOSK_FAULT_KILLS` sets the number of kills (default 200).
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from kiosk.api import contract as c
from kiosk.devices.sim_resident import ResidentScript
from kiosk.outbox import Outbox
from tests.conftest import persona
from tests.faults.harness import OPS, Kiosk, make_client, records

REPO = Path(__file__).resolve().parents[2]
KILLS = int(os.environ.get("KIOSK_FAULT_KILLS", "200"))
SEED = int(os.environ.get("KIOSK_FAULT_SEED", "20261128"))
BATCH = 2  # sessions each worker puts before it drains


def _integrity(path: Path) -> str:
    db = sqlite3.connect(path)
    try:
        return db.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        db.close()


def _count(path: Path) -> int:
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
    finally:
        db.close()


# -- disk full ---------------------------------------------------------------------------------


def _fill(path: Path, slack: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "tests.faults.outbox_child", "fill", str(path), str(slack)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_disk_full_mid_write_leaves_no_partial_entry_and_keeps_the_others(tmp_path):
    path = tmp_path / "outbox.sqlite3"
    Outbox(path).close()
    first = _fill(path, slack=1 << 20)  # room enough: the entry is written
    assert first["put"] == "ok", first
    assert _count(path) == 1

    full = _fill(path, slack=0)  # the disk is full: the next WAL frames do not fit
    assert full["put"] == "error", full
    # SQLite saw the write(2) fail (EFBIG here; SQLITE_FULL for ENOSPC on a real disk), after
    # part of the transaction had reached the WAL: a torn write, not a refused one.
    assert full["code"] in ("SQLITE_IOERR_WRITE", "SQLITE_FULL"), full
    assert full["wal_bytes_at_failure"] > 0, full

    assert _integrity(path) == "ok"
    box = Outbox(path)
    try:
        assert box.depth() == 1  # no partial entry; the one before is whole
        [entry] = box.due()
        assert entry.evidence_id == first["evidence_id"]
        assert full["evidence_id"] not in {e.evidence_id for e in box.due()}
    finally:
        box.close()
    again = _fill(path, slack=1 << 20)  # space freed: the outbox takes entries again
    assert again["put"] == "ok", again
    assert _count(path) == 2


def _full_outbox(path: Path) -> Outbox:
    """An outbox on a "disk" with no page left: its next put raises SQLITE_FULL."""
    box = Outbox(path)
    pages = box._db.execute("PRAGMA page_count").fetchone()[0]
    box._db.execute(f"PRAGMA max_page_count = {pages}")
    return box


def _offline_verification(healthy, kiosk_client, personas, outbox):
    method, path = OPS["submit_evidence"]
    rule = healthy.proxy.add("down", method, path)  # the line drops at the submission
    p = persona(personas, key="demo-02")
    return rule, Kiosk(kiosk_client, ResidentScript(p["key"]), outbox=outbox), p


def test_disk_full_when_queueing_never_tells_the_resident_received(
    healthy, kiosk_client, identity, personas, tmp_path
):
    """The resident may be told "received" only once the evidence is on disk: with the disk
    full, the pending screen and the pending receipt must never appear, and nothing reaches
    the back end later either (there is nothing to drain)."""
    box = _full_outbox(tmp_path / "outbox.sqlite3")
    rule, k, p = _offline_verification(healthy, kiosk_client, personas, box)
    try:
        assert k.journey(p) == "out_of_service"
        assert rule.hits >= 1
        assert "pending" not in k.flow.visited
        assert not k.printer.documents  # no "received, pending" receipt printed
        assert box.depth() == 0
        assert _integrity(box.path) == "ok"
    finally:
        k.close()
        box.close()
    healthy.proxy.heal()
    rec = records(healthy.app, identity.kiosk_id)
    assert rec.certifications == [] and rec.duplicates() == []
    assert rec.chain_broken_at is None


def test_disk_full_when_queueing_ends_out_of_service(
    healthy, kiosk_client, identity, personas, tmp_path
):
    box = _full_outbox(tmp_path / "outbox.sqlite3")
    _rule, k, p = _offline_verification(healthy, kiosk_client, personas, box)
    try:
        assert k.journey(p) == "out_of_service"
        assert k.flow.ctx.personal_values() == {}
        assert "pending" not in k.flow.visited and not k.printer.documents
    finally:
        k.close()
        box.close()


def test_no_outbox_never_tells_the_resident_received(healthy, kiosk_client, personas):
    _rule, k, p = _offline_verification(healthy, kiosk_client, personas, None)
    try:
        end = k.journey(p)
        assert "pending" not in k.flow.visited, (end, k.flow.visited, k.printer.documents)
        assert end == "out_of_service"
    finally:
        k.close()


# -- kill -9 -----------------------------------------------------------------------------------


class Zygote:
    """tests/faults/outbox_child.py in zygote mode: one warm Python that forks the workers."""

    def __init__(self):
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.faults.outbox_child", "zygote"],
            cwd=REPO,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        ready = json.loads(self.proc.stdout.readline())
        assert "ready" in ready, ready

    def run(self, job: dict) -> dict:
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, "the zygote died"
        return json.loads(line)

    def close(self) -> None:
        try:
            self.proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()


class Report:
    """The workers' report file, read as it grows."""

    def __init__(self, path: Path):
        self.path = path
        self.offset = 0
        self.queued: dict[str, str] = {}  # session id -> evidence id, durable when reported

    def new_lines(self) -> list[tuple[str, list[str], float]]:
        if not self.path.exists():
            return []
        with self.path.open("rb") as f:
            f.seek(self.offset)
            data = f.read()
        cut = data.rfind(b"\n") + 1
        self.offset += cut
        out = []
        for raw in data[:cut].decode().splitlines():
            word, *rest, t = raw.split()
            if word == "phase":
                word, rest = rest[0], []
            if word == "queued":
                self.queued[rest[0]] = rest[1]
            out.append((word, rest, float(t)))
        return out


class Windows:
    """When each phase runs, in seconds after the fork, learnt from the runs seen so far."""

    def __init__(self):
        self.marks = {"put": 0.01, "drain": 0.03, "done": 0.15}

    def learn(self, lines) -> None:
        for word, _rest, t in lines:
            if word in self.marks:
                self.marks[word] = 0.7 * self.marks[word] + 0.3 * t

    def pick(self, phase: str, rng: random.Random) -> float:
        start = self.marks[phase]
        end = self.marks["drain" if phase == "put" else "done"]
        return rng.uniform(start, max(end, start + 0.002))


def _phase_at_kill(lines) -> str:
    phase = "startup"
    for word, _rest, _t in lines:
        if word in ("put", "drain"):
            phase = word
        elif word == "done":
            phase = "exiting"
    return phase


def test_kill9_during_put_and_drain_loses_nothing_and_duplicates_nothing(
    healthy, identity, personas, tmp_path
):
    """Every evidence a worker reported as queued (put() had returned) ends as exactly one
    certification; no session is certified twice; the audit chain holds."""
    rng = random.Random(SEED)
    started = time.monotonic()
    app, proxy = healthy.app, healthy.proxy
    direct = make_client(healthy.server.url, identity, read_timeout=20)
    p = persona(personas, key="demo-03")
    key_path = tmp_path / "device-key.pem"
    from cryptography.hazmat.primitives import serialization

    key_path.write_bytes(
        identity.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    base = {
        "cmd": "run",
        "url": proxy.url,  # no faults: the proxy counts what reaches the back end
        "kiosk_id": identity.kiosk_id,
        "device_key": str(key_path),
        "evidence_key": direct.evidence_key().public_key,
        "outbox": str(tmp_path / "outbox.sqlite3"),
        "report": str(tmp_path / "report.log"),
        "persona": p["key"],
    }
    report, windows = Report(tmp_path / "report.log"), Windows()
    kills = {"put": 0, "drain": 0, "startup": 0, "exiting": 0}
    sessions: list[str] = []
    token: tuple[str, float] | None = None

    def new_sessions(n: int) -> list[dict]:
        nonlocal token
        import datetime as dt

        if token is None or time.monotonic() - token[1] > 300:
            doc = p["documents"][0]
            who = direct.identify(
                c.DocumentType(doc["type"]),
                doc["number"],
                dt.date.fromisoformat(p["date_of_birth"]),
            )
            token = (who.subject_token, time.monotonic())
        out = []
        for _ in range(n):
            s = direct.start_session(token[0], c.Purpose.CERTIFICATION)
            sessions.append(s.session_id)
            out.append({"session_id": s.session_id, "server_nonce": s.server_nonce})
        return out

    zygote = Zygote()
    runs = clean_runs = 0
    try:
        for _ in range(2):  # calibration: the phases' timing, no kill
            zygote.run({**base, "sessions": new_sessions(BATCH), "seed": runs})
            runs += 1
            windows.learn(report.new_lines())
        while kills["put"] + kills["drain"] < KILLS:
            target = "put" if kills["put"] <= kills["drain"] else "drain"
            job = {
                **base,
                "sessions": new_sessions(BATCH),
                "seed": 1000 * runs,
                "kill_after_s": windows.pick(target, rng),
                "deadline_s": 30,
            }
            result = zygote.run(job)
            runs += 1
            lines = report.new_lines()
            windows.learn(lines)
            if result["killed"]:
                kills[_phase_at_kill(lines)] += 1
            else:
                assert result["exit"] == 0, (result, lines)
            assert runs < 4 * KILLS + 50, f"kills do not land: {kills} after {runs} runs"
        while True:  # no more kills: the last worker drains what is left
            result = zygote.run({**base, "sessions": [], "seed": 0})
            clean_runs += 1
            report.new_lines()
            assert result["exit"] == 0, result
            if _count(Path(base["outbox"])) == 0:
                break
            assert clean_runs < 5
    finally:
        zygote.close()
        direct.close()
    proxy.wait_idle()
    wall_s = time.monotonic() - started

    assert _integrity(Path(base["outbox"])) == "ok"
    rec = records(app, identity.kiosk_id)
    by_pending = {r.pending_reference: r for r in rec.certifications}
    lost = [
        (sid, eid)
        for sid, eid in report.queued.items()
        if (r := by_pending.get(c.pending_reference(eid))) is None or r.session_id != sid
    ]
    duplicated = rec.duplicates()
    certified = {r.session_id for r in rec.certifications}
    reached = proxy.forwarded("POST", OPS["submit_evidence"][1])
    answered_ok = sum(1 for s in reached if s.status == 200)
    figures = {
        "kills": kills["put"] + kills["drain"],
        "kills_during_put": kills["put"],
        "kills_during_drain": kills["drain"],
        "kills_at_startup_or_exit": kills["startup"] + kills["exiting"],
        "runs": runs + clean_runs,
        "sessions": len(sessions),
        "queued_reported": len(report.queued),
        "delivered": len(rec.certifications),
        "delivered_unreported": len(certified - set(report.queued)),
        "never_queued": len(set(sessions) - certified),
        "submissions_reaching_backend": len(reached),
        # Decided, then the worker died before deleting the entry: sent again with the same
        # idempotency key and answered with the first decision (nothing recorded twice).
        "answers_lost_and_replayed": answered_ok - len(rec.certifications),
        "submissions_refused": len(reached) - answered_ok,
        "lost": len(lost),
        "duplicated": len(duplicated),
        "audit_chain_ok": rec.chain_broken_at is None,
        "seed": SEED,
        "wall_s": round(wall_s, 1),
    }
    (tmp_path / "kill9.json").write_text(json.dumps(figures, indent=2))
    if os.environ.get("KIOSK_FAULTS_JSON"):  # `make soak` keeps them for docs/BENCHMARKS.md
        Path(os.environ["KIOSK_FAULTS_JSON"]).write_text(json.dumps(figures, indent=2))
    print("\nkill -9 figures:", json.dumps(figures))
    FIGURES.update(figures)
    assert figures["kills"] >= KILLS, figures
    assert not lost, f"lost {lost[:5]}: {figures}"
    assert not duplicated, f"duplicated {duplicated[:5]}: {figures}"
    assert rec.chain_broken_at is None, figures
    assert figures["submissions_refused"] == 0, figures  # a refusal would drop an entry
    # Unreported-but-delivered: put() committed and the kill came before the report line.
    assert set(report.queued) <= certified <= set(sessions), figures
    # Each certification is of a session's own evidence: approved, named after its package.
    assert all(r.pending_reference for r in rec.certifications), figures


FIGURES: dict = {}  # reported in the terminal summary (tests/faults/conftest.py)
