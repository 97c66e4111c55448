"""Child processes of the outbox crash tests (tests/faults/test_outbox_crash.py).

`python -m tests.faults.outbox_child zygote`
    Imports everything once, then reads one JSON command a line on stdin. `run` forks a
    worker that opens the outbox file, puts sealed evidence for the sessions it is given
    (writing `queued <session> <evidence id>` to the report file once `put()` has returned:
    durable from then on), then drains the outbox to the back end until it is empty. When
    `kill_after_s` is set, the zygote sends the worker SIGKILL that long after the fork (a
    pidfd: never another process that reused the id). It answers one JSON line per run.
    Forking from a warm zygote makes a run cost milliseconds instead of a Python start, so
    hundreds of kills fit in the suite's time; the worker shares nothing open with the
    zygote (the outbox and the HTTP session are opened after the fork).

`python -m tests.faults.outbox_child fill OUTBOX SLACK`
    Opens the outbox, then limits the size of any file this process writes (RLIMIT_FSIZE,
    SIGXFSZ ignored) to the largest of the outbox's files plus SLACK bytes, and puts one
    sealed package: the disk is full in the middle of the write. Prints a JSON line.
"""

from __future__ import annotations

import json
import os
import select
import signal
import sys
import time


def _seal_for(session: dict, kiosk_id: str, device_key, backend_key, persona: str, seed: int):
    import numpy as np

    from kiosk.devices.sim_resident import MATCH, face_evidence
    from kiosk.evidence import Sealer

    capture = face_evidence(persona, MATCH, np.random.default_rng(seed))
    sealer = Sealer(kiosk_id, device_key, lambda: backend_key)
    return sealer.seal(capture, session["session_id"], session["server_nonce"])


def _worker(job: dict, t0: float) -> None:
    """The forked worker: put, then drain. Never returns (os._exit)."""
    from kiosk.api import keys, sealing
    from kiosk.api.client import KioskApiClient, new_idempotency_key
    from kiosk.outbox import Outbox

    report = os.open(job["report"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def say(line: str) -> None:
        os.write(report, f"{line} {time.monotonic() - t0:.4f}\n".encode())

    say("start")
    device_key = keys.load_or_create(job["device_key"])
    backend_key = sealing.load_x25519_public(job["evidence_key"])
    box = Outbox(job["outbox"], backoff_s=0.02, max_backoff_s=0.2)
    say("phase put")
    for i, session in enumerate(job["sessions"]):
        sealed = _seal_for(
            session, job["kiosk_id"], device_key, backend_key, job["persona"], job["seed"] + i
        )
        box.put(session["session_id"], sealed, new_idempotency_key())
        say(f"queued {session['session_id']} {sealed.evidence_id}")
    say("phase drain")
    client = KioskApiClient(
        job["url"],
        job["kiosk_id"],
        device_key,
        connect_timeout=0.5,
        read_timeout=5.0,
        retries=2,
        sleep=lambda s: None,
    )
    while box.depth():
        r = box.drain(client)
        say(f"drained {r.delivered} {r.refused} {r.deferred}")
        if r.deferred:
            time.sleep(0.02)
    say("done")
    os._exit(0)


def _run(job: dict) -> dict:
    sys.stdout.flush()
    sys.stderr.flush()
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            _worker(job, t0)
        except BaseException as exc:  # noqa: BLE001 - reported, then the worker ends
            os.write(2, f"worker failed: {exc!r}\n".encode())
        finally:
            os._exit(code)
    fd = os.pidfd_open(pid)
    killed = timed_out = False
    try:
        delay = job.get("kill_after_s")
        wait = job.get("deadline_s", 60.0) if delay is None else delay
        ready, _, _ = select.select([fd], [], [], max(0.0, wait - (time.monotonic() - t0)))
        if not ready:  # still running: this is the moment (or it hangs: end it)
            signal.pidfd_send_signal(fd, signal.SIGKILL)
            killed, timed_out = delay is not None, delay is None
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(fd)
    return {
        "killed": killed and os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL,
        "timed_out": timed_out,
        "exit": os.waitstatus_to_exitcode(status),
        "elapsed_s": time.monotonic() - t0,
    }


def zygote() -> int:
    # Everything the worker needs, imported (and warmed) before any fork.
    import numpy  # noqa: F401

    import kiosk.api.client
    import kiosk.devices.sim_resident
    import kiosk.evidence
    import kiosk.outbox  # noqa: F401

    print(json.dumps({"ready": os.getpid()}), flush=True)
    for line in sys.stdin:
        job = json.loads(line)
        if job.get("cmd") == "quit":
            break
        print(json.dumps(_run(job)), flush=True)
    return 0


def fill(path: str, slack: int) -> int:
    import resource
    import sqlite3

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from kiosk.outbox import Outbox

    backend_key = X25519PrivateKey.generate().public_key()
    session = {"session_id": "00000000-0000-4000-8000-00000000f111", "server_nonce": "n" * 43}
    sealed = _seal_for(session, "HK-FULL-01", Ed25519PrivateKey.generate(), backend_key, "x", 7)
    box = Outbox(path)
    files = [path, path + "-wal"]  # -shm is mapped memory, not written through write(2)
    limit = max(os.path.getsize(f) for f in files if os.path.exists(f)) + slack
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails (EFBIG) instead of a kill
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    out = {"limit": limit, "evidence_id": sealed.evidence_id, "bytes": len(sealed.ciphertext)}
    try:
        box.put(session["session_id"], sealed, "ev-" + "f" * 32)
        out["put"] = "ok"
    except sqlite3.Error as exc:
        out.update(put="error", error=str(exc), code=getattr(exc, "sqlite_errorname", None))
        wal = path + "-wal"
        out["wal_bytes_at_failure"] = os.path.getsize(wal) if os.path.exists(wal) else 0
    try:
        box.close()
    except sqlite3.Error as exc:
        out["close_error"] = str(exc)
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else "zygote"
    if mode == "fill":
        sys.exit(fill(sys.argv[2], int(sys.argv[3])))
    sys.exit(zygote())
