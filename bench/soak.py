"""Soak: many complete sessions in one kiosk process, memory measured as they go, and no
biometric data left behind afterwards.

    .venv/bin/python -m bench.soak [--flow-sessions 1000] [--ui-sessions 100]
                                   [--max-minutes 20] [--out bench/results/soak.json]

Two parts, then an after-check:

- `flow`: one headless kiosk in this process: the flow on a ManualClock (idle timeouts in
  virtual time), its Runner, a simulated resident, the printer port on the simulated ESC/POS
  printer (drivers/printer, receipts rendered for real) and an outbox with its drainer, against
  the real back end (FastAPI on loopback in this process, SQLite in a temp folder, seeded with
  the demo pensioners, this kiosk registered as a demo kiosk). Sessions cycle through
  FLOW_SCENARIOS with the demo pensioners reused (a certified pensioner can verify again, so
  every session stays valid without re-seeding). RSS (and Python's allocated blocks, threads,
  open files) sampled after each session. The RSS includes the in-process back end, so the
  kiosk's own growth is at most what is reported.
- `ui`: the real UI offscreen in a child process (bench/soak_ui.py): KioskRunApp on a
  container with the simulated devices against the demo back end (its own process), a
  scripted resident tapping through UI_SCENARIOS back to back in ONE app instance, each
  session ended by the kiosk's full reset; the face capture lasts `--face-hold-s` so the
  1280x720 camera preview is drawn into its texture meanwhile (the known Kivy leak risk).
  RSS sampled in the child after each session, back on the attract screen.
- `privacy`: the kiosk's data folder, KIVY_HOME, the temp folder and the logs (log files, the
  UI child's output) scanned with tests/privacy/probe.py's forms for every template the
  sessions captured, and for face pictures. The back end's own files are not the kiosk's
  and are left out (it keeps references and evidence by design).

Growth: warm-up is the first 10 % of the sessions (at least 20, fewer only when a part has
fewer than 40); growth = last sample - sample at the end of the warm-up, and the least-squares
slope over the samples after it, in KB per session, and the slope over the last half of
them (a leak keeps its slope, memory the allocator keeps levels off). Goal: growth < 10 MB.
Each sample is taken after a full garbage collection (`--no-collect`: without), and carries
glibc's own figures (memory handed out vs freed but kept), which tell a leak from heap
fragmentation. The soak runs with the kiosk's own glibc malloc settings, read from its
systemd unit (assets/deploy/jiangmen-kiosk.service: MALLOC_MMAP_THRESHOLD_), in the UI
child's environment and through mallopt in this process (`--glibc-malloc-defaults`: without);
the run records the settings it had and how many malloc arenas each part ended with.
`--malloc-trim` (a diagnostic) has glibc give back its free memory after each sample and
samples the RSS again (rss_trimmed_mb): what the process really holds. A session that does
not end where its scenario says is a failure, with its reason.
`--max-minutes` caps the whole run: the parts stop early (and say so) when their share of the
time is used up. At the default sizes: about 13 minutes on the 2-core bench machine.

The simulated printer keeps every byte and every receipt image it was sent (a test double's
record, drivers/printer/simulator.py); both parts clear it after each session so that what is
measured is the kiosk, and report how much it would have kept.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import json
import logging
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.machine import describe  # noqa: E402
from kiosk import glibc_malloc  # noqa: E402

GOAL_MB = 10.0
WARMUP_FRACTION = 0.10
WARMUP_MIN = 20
MAX_POINTS = 500  # RSS samples kept in the JSON per part (decimated beyond)
MAX_FAILURES_LISTED = 25

FLOW_SCENARIOS = (
    "verify_approve",
    "retry_then_approve",
    "finger_fallback",
    "manual_review",
    "enquiry",
    "idle_reset",
    "cancelled_capture",
    "offline_then_drain",
)
UI_SCENARIOS = (
    "verify-approve",
    "enquiry",
    "verify-finger-fallback",
    "verify-manual-review",
    "idle-reset",
    "verify-ecard",
    "cancel-capture",
)

# Per-session cost measured on the 2-core bench machine (Xeon, load about 2 from other work):
# 0.16 s a flow session (0.06 s of it the kiosk, the rest the full garbage collection before
# each sample), 5.9 s a UI session (taps at the offscreen frame rate, 1 s at the camera).
# The time cap is shared out by these, and --help's expected total computed from them.
EST_FLOW_S = 0.16
EST_UI_S = 6.0
EST_UI_START_S = 10.0
EST_SCAN_S = 10.0


def _progress(line: str) -> None:
    print(f"bench/soak: {line}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------- measuring


def rss_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as f:
        resident_pages = int(f.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def process_sample(collect: bool = True, trim: bool = False) -> dict:
    """This process now: RSS (MB), Python's allocated blocks, threads, open descriptors;
    with `collect`, after a full garbage collection (cyclic garbage waiting for the collector
    is not growth: Kivy's widgets live in reference cycles and a full collection runs
    rarely in a heap of a million blocks). With `trim` (a diagnostic), glibc then hands
    the free memory of every arena back (malloc_trim(0)) and the RSS is read again: what
    remains is what the process really holds."""
    if collect:
        gc.collect()
    try:
        fds = len(os.listdir("/proc/self/fd"))
    except OSError:
        fds = None
    in_use, free = malloc_mb()
    sample = {
        "rss_mb": rss_mb(),
        "py_blocks": sys.getallocatedblocks(),
        "threads": threading.active_count(),
        "fds": fds,
        "malloc_in_use_mb": in_use,
        "malloc_free_mb": free,
    }
    if trim and malloc_trim():
        sample["rss_trimmed_mb"] = rss_mb()
    return sample


def _libc():
    import ctypes

    return ctypes.CDLL(None)


def malloc_trim() -> bool:
    """glibc's malloc_trim(0): free memory at the top of the heap and whole free pages inside
    every arena go back to the system. False where there is no glibc."""
    try:
        _libc().malloc_trim(0)
    except (OSError, AttributeError):
        return False
    return True


def malloc_arenas() -> int | None:
    """How many malloc arenas glibc has made in this process (malloc_info's heaps): one per
    thread that allocated while the others were busy, up to 8 per core unless
    MALLOC_ARENA_MAX says fewer."""
    import ctypes

    try:
        libc = _libc()
        buf, size = ctypes.c_char_p(), ctypes.c_size_t()
        libc.open_memstream.restype = ctypes.c_void_p
        stream = libc.open_memstream(ctypes.byref(buf), ctypes.byref(size))
        if not stream:
            return None
        libc.malloc_info(0, ctypes.c_void_p(stream))
        libc.fclose(ctypes.c_void_p(stream))
        text = ctypes.string_at(buf, size.value).decode("ascii", "replace")
        libc.free(buf)
    except (OSError, AttributeError):
        return None
    return text.count("<heap nr=")


UNIT = ROOT / "assets" / "deploy" / "jiangmen-kiosk.service"


def unit_malloc_env(unit: Path = UNIT) -> dict[str, str]:
    """The glibc malloc settings the kiosk's systemd unit gives it (its Environment= lines)."""
    import shlex

    out: dict[str, str] = {}
    try:
        lines = unit.read_text(encoding="utf-8").splitlines()
    except OSError:
        return out
    for line in lines:
        if line.startswith("Environment="):
            for item in shlex.split(line.removeprefix("Environment=")):
                key, _, value = item.partition("=")
                if key in glibc_malloc.MALLOPT:
                    out[key] = value
    return out


def apply_malloc_env(settings: dict[str, str]) -> dict[str, str]:
    """The kiosk's malloc settings for this run: into the environment (the UI child, a new
    process, reads them there) and, through mallopt, into this process (the flow part). A
    setting already in the environment is left as it is. Returns what was applied."""
    applied = {}
    for key, value in settings.items():
        if key in os.environ:
            continue
        os.environ[key] = value
        applied[key] = value
        with contextlib.suppress(ValueError):  # not a number: glibc ignores it too
            glibc_malloc.mallopt(key, int(value))
    return applied


def malloc_env() -> dict[str, str]:
    """The glibc malloc settings in this process's environment (MALLOC_ARENA_MAX, ...)."""
    return {
        k: v
        for k, v in sorted(os.environ.items())
        if k.startswith("MALLOC_") or k == "GLIBC_TUNABLES"
    }


_MALLINFO2 = None


def malloc_mb() -> tuple[float | None, float | None]:
    """glibc's malloc, all arenas: (MB handed out and not freed, MB freed but kept by the
    allocator). RSS growing while the first stays flat is fragmentation, not a leak."""
    global _MALLINFO2
    try:
        import ctypes

        if _MALLINFO2 is None:

            class MallInfo2(ctypes.Structure):
                _fields_ = [
                    (name, ctypes.c_size_t)
                    for name in (
                        "arena", "ordblks", "smblks", "hblks", "hblkhd",
                        "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost",
                    )
                ]  # fmt: skip

            fn = ctypes.CDLL(None).mallinfo2
            fn.restype = MallInfo2
            _MALLINFO2 = fn
        info = _MALLINFO2()
    except (OSError, AttributeError):
        return None, None
    return (info.uordblks + info.hblkhd) / 2**20, info.fordblks / 2**20


def warmup_count(n: int) -> int:
    """Sessions counted as warm-up: 10 % (at least 20, but never more than half of a part)."""
    return min(max(WARMUP_MIN, round(n * WARMUP_FRACTION)), n // 2)


def slope(values: list[float]) -> float | None:
    """Least-squares slope of values against their index (per session)."""
    n = len(values)
    if n < 2:
        return None
    mx = (n - 1) / 2
    my = sum(values) / n
    sxx = sum((i - mx) ** 2 for i in range(n))
    sxy = sum((i - mx) * (v - my) for i, v in enumerate(values))
    return sxy / sxx


def decimate(values: list, max_points: int = MAX_POINTS) -> tuple[list, int]:
    """Every k-th value (the last always kept) so that at most max_points remain; (values, k)."""
    if len(values) <= max_points:
        return list(values), 1
    k = -(-len(values) // max_points)
    out = values[::k]
    if (len(values) - 1) % k:
        out.append(values[-1])
    return out, k


def growth(samples: list[dict], goal_mb: float = GOAL_MB) -> dict:
    """The growth figures of one part from its per-session samples."""
    rss = [s["rss_mb"] for s in samples]
    n = len(rss)
    warm = warmup_count(n)
    out: dict = {"warmup_sessions": warm, "goal_mb": goal_mb}
    if n < 2 or n - warm < 2:
        out.update(
            rss_mb_start=round(rss[0], 2) if rss else None,
            rss_mb_last=round(rss[-1], 2) if rss else None,
            growth_mb_after_warmup=None,
            slope_kb_per_session=None,
            growth_kb_per_session=None,
            **{"pass": None},
        )
        return out
    after = rss[warm - 1 :] if warm else rss
    grown = rss[-1] - after[0]
    per = slope(after)
    # A leak keeps its slope; memory the allocator keeps levels off: the slope over the last
    # half of the sessions after the warm-up tells the two apart on a long enough run.
    late = slope(after[len(after) // 2 :])
    out.update(
        rss_mb_start=round(rss[0], 2),
        rss_mb_at_warmup_end=round(after[0], 2),
        rss_mb_last=round(rss[-1], 2),
        rss_mb_max=round(max(rss), 2),
        growth_mb_after_warmup=round(grown, 3),
        growth_kb_per_session=round(grown * 1024 / (len(after) - 1), 2),
        slope_kb_per_session=round(per * 1024, 2),
        slope_kb_per_session_last_half=None if late is None else round(late * 1024, 2),
        projected_mb_per_1000_sessions=round(per * 1000, 1),
    )
    trimmed = [s.get("rss_trimmed_mb") for s in samples]
    if None not in trimmed:
        t_after = trimmed[warm - 1 :] if warm else trimmed
        out.update(
            trimmed_rss_mb_at_warmup_end=round(t_after[0], 2),
            trimmed_rss_mb_last=round(trimmed[-1], 2),
            trimmed_growth_mb_after_warmup=round(trimmed[-1] - t_after[0], 3),
            trimmed_slope_kb_per_session=round(slope(t_after) * 1024, 2),
        )
    for key in ("py_blocks", "threads", "fds", "malloc_in_use_mb", "malloc_free_mb"):
        values = [s.get(key) for s in samples]
        if values and None not in values:
            digits = 2 if key.endswith("_mb") else 0
            values = [round(v, digits) if digits else v for v in values]
            out[f"{key}_at_warmup_end"] = values[warm - 1] if warm else values[0]
            out[f"{key}_last"] = values[-1]
            out[f"{key}_max"] = max(values)
    return out


def part_result(
    samples: list[dict],
    failures: list[dict],
    seconds: float,
    planned: int,
    stopped: str | None,
    scenarios: Counter,
) -> dict:
    n = len(samples)
    stats = growth(samples)
    rss, every = decimate([round(s["rss_mb"], 2) for s in samples])
    series = {}
    for key in ("py_blocks", "malloc_in_use_mb", "malloc_free_mb", "rss_trimmed_mb"):
        values = [s.get(key) for s in samples]
        if values and None not in values:
            series[key] = decimate([round(v, 2) for v in values])[0]
    grown = stats.get("growth_mb_after_warmup")
    ok = None if grown is None else (grown < GOAL_MB and not failures)
    return {
        "sessions": n,
        "sessions_planned": planned,
        "failures": len(failures),
        "failure_list": failures[:MAX_FAILURES_LISTED],
        "seconds": round(seconds, 1),
        "s_per_session": round(seconds / n, 3) if n else None,
        "sessions_per_s": round(n / seconds, 2) if seconds and n else None,
        "stopped_early": stopped is not None,
        "stop_reason": stopped,
        "scenarios": dict(sorted(scenarios.items())),
        "rss_mb": rss,
        "rss_every": every,
        **series,
        **stats,
        "pass": ok,
    }


class Trace:
    """--trace: where Python memory grew after the warm-up (tracemalloc, a diagnostic: it
    slows the sessions and adds its own memory, so RSS figures of such a run are not the
    soak's)."""

    def start(self) -> None:
        import tracemalloc

        self.types_before = self.types()
        gc.collect()
        tracemalloc.start(12)
        self.before = tracemalloc.take_snapshot()

    @staticmethod
    def types() -> Counter:
        gc.collect()
        return Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.get_objects())

    def objects(self, n: int = 20) -> dict[str, int]:
        """The kinds of objects (tracked by the garbage collector) that grew most in number."""
        grown = self.types()
        grown.subtract(self.types_before)
        return {k: v for k, v in grown.most_common(n) if v > 0}

    def top(self, n: int = 15) -> list[dict]:
        import tracemalloc

        if not tracemalloc.is_tracing():
            return []
        gc.collect()
        after = tracemalloc.take_snapshot()
        tracemalloc.stop()
        keep = [tracemalloc.Filter(False, tracemalloc.__file__)]
        diff = after.filter_traces(keep).compare_to(self.before.filter_traces(keep), "traceback")
        out = [
            {
                "kb": round(sum(s.size_diff for s in diff) / 1024, 1),
                "blocks": sum(s.count_diff for s in diff),
                "at": ["(all)"],
            }
        ]
        for stat in diff[:n]:
            # the allocating line first, then its callers
            frames = [f"{Path(f.filename).name}:{f.lineno}" for f in reversed(stat.traceback)]
            out.append(
                {"kb": round(stat.size_diff / 1024, 1), "blocks": stat.count_diff, "at": frames}
            )
        return out


# ---------------------------------------------------------------------------- flow part


class SessionFailed(Exception):
    pass


class Link:
    """The kiosk's API client, except that evidence does not arrive while `drop_evidence`
    (the line to the bureau goes down at the moment of submission)."""

    def __init__(self, client):
        self._client = client
        self.drop_evidence = False

    def __getattr__(self, name):
        return getattr(self._client, name)

    def submit_evidence(self, *args, **kwargs):
        if self.drop_evidence:
            from kiosk.api.errors import NetworkError

            raise NetworkError("soak: link down at submission")
        return self._client.submit_evidence(*args, **kwargs)


class Captures:
    """Every template the simulated residents handed over, kept for the after-check in
    arrays allocated (and touched) up front, so that keeping them does not grow the process
    whose growth is being measured. Finger templates of any length up to FINGER_MAX bytes
    (the simulated resident's are 256 bytes of float32, the real extractor's about 1 KB of
    JSON); longer ones, and any beyond the capacity, are kept in lists (then noted)."""

    FACE_DIM, FINGER_MAX = 128, 4096

    def __init__(self, face_capacity: int = 0, finger_capacity: int = 0):
        import numpy as np

        self._face = np.full((face_capacity, self.FACE_DIM), np.nan)
        self._finger = np.full((finger_capacity, self.FINGER_MAX), 0xFF, np.uint8)
        self._finger_len = np.full(finger_capacity, -1, np.int64)
        self.n_face = self.n_finger = 0  # all noted
        self._face_kept = self._finger_kept = 0  # of which in the arrays
        self._more_face: list[list[float]] = []
        self._more_finger: list[bytes] = []
        self._lock = threading.Lock()

    def note(self, evidence) -> None:
        import base64

        import numpy as np

        tpl = evidence.template
        with self._lock:
            if tpl.vector is not None:
                if self._face_kept < len(self._face) and len(tpl.vector) == self.FACE_DIM:
                    self._face[self._face_kept] = tpl.vector
                    self._face_kept += 1
                else:
                    self._more_face.append(list(tpl.vector))
                self.n_face += 1
            if tpl.data_b64 is not None:
                data = base64.b64decode(tpl.data_b64)
                k = self._finger_kept
                if k < len(self._finger) and len(data) <= self.FINGER_MAX:
                    self._finger[k, : len(data)] = np.frombuffer(data, np.uint8)
                    self._finger_len[k] = len(data)
                    self._finger_kept += 1
                else:
                    self._more_finger.append(data)
                self.n_finger += 1

    @property
    def overflow(self) -> int:
        return len(self._more_face) + len(self._more_finger)

    @property
    def face(self) -> list[list[float]]:
        return [row.tolist() for row in self._face[: self._face_kept]] + self._more_face

    @property
    def finger(self) -> list[bytes]:
        kept = [
            row[:n].tobytes()
            for row, n in zip(
                self._finger[: self._finger_kept],
                self._finger_len[: self._finger_kept].tolist(),
                strict=True,
            )
        ]
        return kept + self._more_finger

    def to_json(self) -> dict:
        import base64

        return {
            "face": self.face,
            "finger_b64": [base64.b64encode(b).decode() for b in self.finger],
        }

    @classmethod
    def from_json(cls, data: dict) -> Captures:
        import base64

        out = cls()
        out._more_face = [list(v) for v in data.get("face", [])]
        out._more_finger = [base64.b64decode(b) for b in data.get("finger_b64", [])]
        out.n_face, out.n_finger = len(out._more_face), len(out._more_finger)
        return out


class Samples:
    """Per-session process samples in an array allocated up front (see Captures)."""

    KEYS = (
        "rss_mb",
        "py_blocks",
        "threads",
        "fds",
        "malloc_in_use_mb",
        "malloc_free_mb",
        "rss_trimmed_mb",
    )

    def __init__(self, capacity: int):
        import numpy as np

        self._rows = np.full((capacity, len(self.KEYS)), -1.0)
        self.n = 0

    def add(self, sample: dict) -> None:
        if self.n < len(self._rows):
            self._rows[self.n] = [-1.0 if sample.get(k) is None else sample[k] for k in self.KEYS]
            self.n += 1

    @property
    def last(self) -> dict:
        return self.to_list()[-1] if self.n else {}

    def to_list(self) -> list[dict]:
        out = []
        for row in self._rows[: self.n].tolist():
            sample = dict(zip(self.KEYS, row, strict=True))
            for k in ("py_blocks", "threads", "fds"):
                sample[k] = None if sample[k] < 0 else int(sample[k])
            for k in ("malloc_in_use_mb", "malloc_free_mb", "rss_trimmed_mb"):
                sample[k] = None if sample[k] < 0 else sample[k]
            out.append(sample)
        return out


class Recording:
    """A capture port that notes each template it returns."""

    def __init__(self, port, captures: Captures):
        self.port, self.captures = port, captures

    def capture(self, *args):
        evidence = self.port.capture(*args)
        self.captures.note(evidence)
        return evidence


class StandsStill:
    """A face port for a resident who never completes the challenges: the capture goes on
    until it is cancelled (or 30 s pass), then ends without a result."""

    def __init__(self):
        self.returned = threading.Event()

    def capture(self, server_nonce, challenges, cancel: threading.Event, progress):
        from kiosk.flow.ports import CaptureRetryError

        try:
            progress("liveness_" + challenges[0], 0.0) if challenges else None
            cancel.wait(30)
            raise CaptureRetryError("face_none")
        finally:
            self.returned.set()


def _personas():
    from kiosk.devices.demo_resident import load_personas

    usable = [
        p
        for p in load_personas()
        if p["face"] and p["account"]["status"] != "terminated" and p["documents"]
    ]
    return {
        "face": usable,
        "finger": [p for p in usable if p["fingers"]],
        "enquiry": [p for p in usable if p["account"]["status"] == "paying"],
    }


class FlowSoak:
    """One headless kiosk against a back end in this process; `session(i)` plays one."""

    def __init__(self, work: Path, sessions: int, seed: int = 0):
        self.work = work
        self.seed = seed
        self.rng = random.Random(seed)
        self.captures = Captures(face_capacity=3 * sessions + 8, finger_capacity=sessions + 8)
        self.printer_bytes = self.printer_receipts = 0
        self.pools = _personas()
        self._closers: list = []

    # -------------------------------------------------------------- set-up

    def start(self) -> None:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        from backend.app import create_app
        from backend.clock import SystemClock
        from backend.db import upgrade
        from backend.kiosks import register
        from backend.seed import seed_demo
        from backend.server import BackgroundServer
        from backend.settings import BackendSettings
        from drivers.printer.simulator import SimulatedPrinter
        from kiosk.api.client import KioskApiClient
        from kiosk.api.signing import public_key_b64
        from kiosk.container import receipt_fonts
        from kiosk.devices.printer_port import PrinterPort
        from kiosk.evidence import Sealer, key_from_api
        from kiosk.flow.clock import ManualClock
        from kiosk.flow.context import FlowSettings
        from kiosk.flow.machine import Flow
        from kiosk.flow.runner import Devices, Runner
        from kiosk.outbox import Drainer, Outbox

        back = self.work / "backend"
        back.mkdir(parents=True, exist_ok=True)
        self.kiosk_dir = self.work / "kiosk"
        self.kiosk_dir.mkdir(parents=True, exist_ok=True)
        settings = BackendSettings(
            db_url=f"sqlite:///{back / 'backend.sqlite3'}",
            evidence_key_path=str(back / "evidence-key.pem"),
            ecard_key_path=str(back / "ecard-key.pem"),
            # One kiosk serving a thousand residents within the hour: far beyond the default
            # limit against enumeration (60 per kiosk per hour), which is not what is soaked.
            identify_limit_per_kiosk=10**9,
        )
        clock = SystemClock()  # evidence carries the real capture time: the server's too
        upgrade(settings.db_url)
        self.app = create_app(settings, clock)
        with self.app.state.sessions() as db:
            seed_demo(db, clock.now(), settings)
        self.server = BackgroundServer(self.app).start()
        self._closers.append(self._stop_backend)
        key = Ed25519PrivateKey.generate()
        kiosk_id = "HK-SOAK-01"
        with self.app.state.sessions() as db:
            register(db, clock.now(), kiosk_id, "Soak", public_key_b64(key.public_key()), demo=True)
        self.client = KioskApiClient(self.server.url, kiosk_id, key, read_timeout=20)
        self._closers.append(self.client.close)
        self.link = Link(self.client)
        self.clock = ManualClock()
        self.flow = Flow(self.clock, FlowSettings(kiosk_id=kiosk_id))
        self.printer = SimulatedPrinter(fonts=receipt_fonts())
        self.port = PrinterPort(self.printer)
        self._closers.append(self.printer.close)
        self._closers.append(self.port.close)
        self.outbox = Outbox(self.kiosk_dir / "outbox.sqlite3")
        self._closers.append(self.outbox.close)
        self.drainer = Drainer(self.outbox, self.client, interval_s=5.0).start()
        self._closers.append(self.drainer.stop)
        from kiosk.devices.sim_resident import ResidentScript, SimulatedResident

        idle = SimulatedResident(ResidentScript("nobody"))
        self.runner = Runner(
            self.flow,
            self.link,
            Devices(idle.face, idle.finger, self.port),
            Sealer(kiosk_id, key, key_from_api(self.client)),
            outbox=self.outbox,
            probe_interval_s=0.05,
        )
        self.runner.outbox_drainer = self.drainer
        self._closers.append(self.runner.close)
        self.runner.start()

    def _stop_backend(self) -> None:
        self.server.stop()
        self.app.state.engine.dispose()

    def close(self) -> None:
        for close in reversed(self._closers):
            try:
                close()
            except Exception:
                logging.getLogger(__name__).exception("closing failed")
        self._closers.clear()

    # -------------------------------------------------------------- driving

    def do(self, action: str, value=None) -> None:
        from kiosk.flow import events as ev

        self.runner.dispatch(ev.Tapped(action, value))

    def wait(self, states, timeout: float = 20.0, idle: bool = True) -> None:
        """Until the flow is in one of `states` (and, with idle, waits for nothing)."""
        states = {states} if isinstance(states, str) else set(states)
        deadline = time.monotonic() + timeout
        while not (self.flow.state in states and (not idle or self.flow.awaiting is None)):
            if time.monotonic() > deadline:
                said = self.flow.ctx.message_key
                raise SessionFailed(
                    f"stuck in {self.flow.state} (awaiting {self.flow.awaiting}), "
                    f"wanted {sorted(states)}" + (f": {said}" if said else "")
                )
            self.runner.pump(timeout=0.02)

    def expect(self, state: str) -> None:
        if self.flow.state != state:
            raise SessionFailed(f"on {self.flow.state}, expected {state}")

    def walk_away(self) -> None:
        """Nobody touches the kiosk: virtual time jumps past the warning, then the reset."""
        from kiosk.flow import events as ev

        s = self.flow.settings
        self.clock.advance(s.idle_warning_s + 1)
        self.runner.dispatch(ev.Tick())
        self.expect("idle_warning")
        self.clock.advance(s.idle_reset_s - s.idle_warning_s + 1)
        self.runner.dispatch(ev.Tick())
        self.expect("attract")

    def resident(self, persona: dict, face=(), finger=()) -> None:
        from kiosk.devices.sim_resident import MATCH, ResidentScript, SimulatedResident

        script = ResidentScript(
            persona["key"],
            face=list(face) or [MATCH],
            finger=list(finger) or [MATCH],
            seed=self.rng.randrange(2**32),
        )
        who = SimulatedResident(script)
        self.runner.devices.face = Recording(who.face, self.captures)
        self.runner.devices.finger = Recording(who.finger, self.captures)

    def identify(self, p: dict, purpose: str = "verify") -> None:
        from kiosk.flow import events as ev

        doc = p["documents"][0]
        self.expect("attract")
        self.do("start")
        self.do("choose", "zh_Hant_HK")
        self.do(purpose)
        self.do("choose", doc["type"])
        self.runner.dispatch(ev.DocumentEntered(doc["number"]))
        self.expect("birth_date")
        self.runner.dispatch(ev.BirthDateEntered(dt.date.fromisoformat(p["date_of_birth"])))
        self.wait("confirm_name")
        if not (self.flow.ctx.masked_name_zh or "").startswith(p["name_zh"][0]):
            raise SessionFailed("the masked name is not the pensioner's")

    def consent(self, until) -> None:
        self.do("yes")
        self.expect("consent")
        self.do("agree")
        self.wait(until)

    def finish(self, printed: bool = True) -> None:
        """On the receipt (or pending) screen: check it printed, then done: full reset."""
        if printed and self.flow.ctx.printed is not True:
            raise SessionFailed(f"not printed ({self.flow.ctx.message_key})")
        self.do("done")
        self.expect("attract")

    def session(self, i: int, scenario: str) -> None:
        from kiosk.devices.sim_resident import BORDERLINE, MATCH, STRANGER

        printed_before = self.port.printed
        pool = self.pools["finger" if scenario == "finger_fallback" else "face"]
        if scenario == "enquiry":
            pool = self.pools["enquiry"]
        p = pool[i % len(pool)]
        if scenario == "verify_approve":
            self.resident(p, face=[MATCH])
            self.identify(p)
            self.consent("receipt")
            self._approved()
        elif scenario == "retry_then_approve":
            self.resident(p, face=[STRANGER, MATCH])
            self.identify(p)
            self.consent("try_again")
            self.do("retry")
            self.wait("receipt")
            self._approved()
        elif scenario == "finger_fallback":
            from kiosk.api import contract as c

            self.resident(p, face=[STRANGER], finger=[MATCH])
            self.identify(p)
            self.consent("try_again")
            for _ in range(2):
                self.do("retry")
                self.wait({"try_again", "switch_finger"})
            self.expect("switch_finger")
            self.do("continue")
            self.expect("finger_choice")
            self.do("choose", p["fingers"][0])
            self.wait("receipt")
            if self.flow.ctx.decision.modality is not c.Modality.FINGERPRINT:
                raise SessionFailed("approved, but not by fingerprint")
            self._approved()
        elif scenario == "manual_review":
            self.resident(p, face=[BORDERLINE])
            self.identify(p)
            self.consent("staff_review")
            if not self.flow.ctx.decision.reference:
                raise SessionFailed("no reference for the review")
            self.do("print")
            self.wait("receipt")
            self.finish()
        elif scenario == "enquiry":
            self.resident(p, face=[MATCH])
            self.identify(p, purpose="enquiry")
            self.consent("summary")
            self.do("payments")
            self.wait("payments")
            self.do("next")
            self.wait("payments")
            self.do("back")
            self.expect("summary")
            self.do("print")
            self.wait("receipt")
            self.finish()
        elif scenario == "idle_reset":
            self.resident(p)
            self.identify(p)
            self.walk_away()
        elif scenario == "cancelled_capture":
            self.resident(p)
            still = StandsStill()
            self.runner.devices.face = still
            self.identify(p)
            self.do("yes")
            self.do("agree")
            self.wait("face_capture", idle=False)
            self.do("cancel")
            self.expect("home")
            if not still.returned.wait(5):
                raise SessionFailed("the capture went on after cancel")
            self.walk_away()
        elif scenario == "offline_then_drain":
            self.resident(p, face=[MATCH])
            self.identify(p)
            self.link.drop_evidence = True
            try:
                self.consent("pending")
            finally:
                self.link.drop_evidence = False
            if not (self.flow.ctx.pending_reference or "").startswith("JP-"):
                raise SessionFailed("no pending reference")
            self.finish()
            deadline = time.monotonic() + 15
            while self.outbox.depth():
                if time.monotonic() > deadline:
                    raise SessionFailed("the outbox did not drain")
                time.sleep(0.02)
        else:
            raise ValueError(scenario)
        self.expect("attract")
        left = self.flow.ctx.personal_values()
        if left:
            raise SessionFailed(f"personal data left after the reset: {sorted(left)}")
        want = 0 if scenario in ("idle_reset", "cancelled_capture") else 1
        if self.port.printed - printed_before != want:
            raise SessionFailed(f"{self.port.printed - printed_before} documents printed")

    def _approved(self) -> None:
        from kiosk.api import contract as c

        decision = self.flow.ctx.decision
        if decision is None or decision.outcome is not c.Outcome.APPROVED:
            raise SessionFailed("not approved")
        if not decision.reference:
            raise SessionFailed("approved without a reference")
        self.finish()

    def after_session(self) -> None:
        """The printer simulator's record of what it printed (not the kiosk's) is cleared."""
        if self.printer.sim.received:
            self.printer_bytes += len(self.printer.sim.received)
            self.printer_receipts += 1
        self.printer.sim.clear()

    def recover(self) -> str:
        """After a failure: back to the attract screen, as the kiosk itself would get there
        (the busy step ends, then the idle timeout); returns where it was."""
        from kiosk.flow import events as ev

        was = self.flow.state
        self.link.drop_evidence = False
        deadline = time.monotonic() + 30
        while self.flow.state != "attract" and time.monotonic() < deadline:
            self.runner.pump(timeout=0.05)
            if not self.flow.busy and self.flow.state != "out_of_service":
                self.clock.advance(self.flow.settings.idle_reset_s * 3)
                self.runner.dispatch(ev.Tick())
        if self.flow.state != "attract":
            raise SessionFailed(f"cannot get back to attract from {self.flow.state}")
        return was


def run_flow(args, work: Path, deadline: float) -> tuple[dict, Captures]:
    log_path = work / "logs" / "kiosk.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(log_path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.INFO)
    tmp = work / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    old_tempdir = tempfile.tempdir
    tempfile.tempdir = str(tmp)  # anything the kiosk puts in "the temp folder" lands here
    soak = FlowSoak(work, args.flow_sessions, seed=args.seed)
    samples = Samples(args.flow_sessions)
    failures: list[dict] = []
    scenarios: Counter = Counter()
    stopped = None
    t0 = time.monotonic()
    try:
        soak.start()
        _progress(f"flow: back end at {soak.server.url}, {args.flow_sessions} sessions")
        t0 = time.monotonic()
        warm = warmup_count(args.flow_sessions)
        trace = Trace() if args.trace else None
        for i in range(args.flow_sessions):
            if trace is not None and i == warm:
                trace.start()
            if time.time() > deadline:
                stopped = f"time cap reached after {i} sessions"
                break
            scenario = FLOW_SCENARIOS[i % len(FLOW_SCENARIOS)]
            scenarios[scenario] += 1
            try:
                soak.session(i, scenario)
            except SessionFailed as exc:
                failures.append({"session": i, "scenario": scenario, "reason": str(exc)})
                try:
                    soak.recover()
                except SessionFailed as again:
                    stopped = f"session {i}: {again}"
                    break
            soak.after_session()
            samples.add(process_sample(args.collect, args.malloc_trim))
            if (i + 1) % 100 == 0:
                _progress(
                    f"flow: {i + 1} sessions, {time.monotonic() - t0:.0f} s, "
                    f"RSS {samples.last['rss_mb']:.1f} MB, {len(failures)} failures"
                )
        seconds = time.monotonic() - t0
        top = trace.top() if trace is not None else None
        objects = trace.objects() if trace is not None else None
    finally:
        soak.close()
        root.removeHandler(handler)
        handler.close()
        root.setLevel(old_level)
        tempfile.tempdir = old_tempdir
    result = part_result(
        samples.to_list(), failures, seconds, args.flow_sessions, stopped, scenarios
    )
    result["printer_simulator_bytes_per_receipt"] = (
        round(soak.printer_bytes / soak.printer_receipts) if soak.printer_receipts else 0
    )
    result["rss_includes"] = "the kiosk and the in-process back end (an upper bound)"
    result["malloc_arenas"] = malloc_arenas()
    if top is not None:
        result["tracemalloc_growth_after_warmup"] = top
        result["object_growth_after_warmup"] = objects
    result["captures"] = {"face": soak.captures.n_face, "finger": soak.captures.n_finger}
    result["scan"] = {
        "roots": [str(soak.kiosk_dir), str(tmp)],
        "logs": [str(log_path)],
    }
    del soak.app  # the back end's app and its engine: gone before the next part
    return result, soak.captures


# ---------------------------------------------------------------------------- UI part


def child_env(work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KIOSK_", "KIVY_"))}
    env.update(
        PYTHONPATH=str(ROOT),
        SDL_VIDEODRIVER="offscreen",
        KIVY_NO_ARGS="1",
        KIVY_HOME=str(work / "kivy"),
        TMPDIR=str(work / "tmp"),
        # The demo back end (a child of the child) reads its settings from the environment:
        # one kiosk, many residents within the hour (see the flow part).
        KIOSK_BACKEND_IDENTIFY_LIMIT_PER_KIOSK=str(10**9),
    )
    return env


def run_ui(args, work: Path, deadline: float) -> tuple[dict, Captures]:
    for sub in ("data", "kivy", "tmp", "logs"):
        (work / sub).mkdir(parents=True, exist_ok=True)
    config = {
        "sessions": args.ui_sessions,
        "deadline": deadline,
        "data_dir": str(work / "data"),
        "face_hold_s": args.face_hold_s,
        "seed": args.seed,
        "scenarios": list(UI_SCENARIOS),
        "trace": bool(args.trace),
        "collect": bool(args.collect),
        "malloc_trim": bool(args.malloc_trim),
    }
    # The result (with the templates captured) comes back through a pipe, never a file: the
    # after-check looks for those templates on disk.
    read_end, write_end = os.pipe()
    out_path, err_path = work / "logs" / "child.stdout", work / "logs" / "child.stderr"
    chunks: list[bytes] = []

    def reader():
        with os.fdopen(read_end, "rb") as pipe:
            while True:
                chunk = pipe.read(65536)
                if not chunk:
                    return
                chunks.append(chunk)

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    t0 = time.monotonic()
    limit = max(60.0, deadline - time.time() + 120)
    error = None
    with out_path.open("wb") as out, err_path.open("wb") as err:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.soak_ui",
                json.dumps(config),
                str(write_end),
            ],
            cwd=work,
            env=child_env(work),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            pass_fds=(write_end,),
        )
        os.close(write_end)
        try:
            proc.wait(limit)
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(15)
            error = f"the UI child did not finish within {limit:.0f} s"
    thread.join(30)
    seconds_total = time.monotonic() - t0
    raw = b"".join(chunks)
    try:
        child = json.loads(raw) if raw else {}
    except json.JSONDecodeError:
        child = {}
    if not child:
        tail = err_path.read_text(errors="replace").strip().splitlines()[-8:]
        error = error or f"the UI child reported nothing (exit {proc.returncode}): " + " | ".join(
            tail
        )
    samples = child.get("samples", [])
    scenarios = Counter(child.get("scenarios", {}))
    stopped = child.get("stopped") or error
    result = part_result(
        samples,
        child.get("failures", []),
        child.get("seconds", seconds_total),
        args.ui_sessions,
        stopped,
        scenarios,
    )
    if error:
        result["error"] = error
    result["exit_code"] = proc.returncode
    result["child_seconds_total"] = round(seconds_total, 1)
    for key in (
        "startup_s",
        "window",
        "camera",
        "face_hold_s",
        "preview_frames_shown",
        "preview_frames_per_capture_session",
        "printer_simulator_bytes_per_receipt",
        "session_seconds",
        "tracemalloc_growth_after_warmup",
        "object_growth_after_warmup",
        "malloc_arenas",
        "malloc_env",
    ):
        if key in child:
            result[key] = child[key]
    result["rss_includes"] = "the kiosk UI process only (the demo back end is its own process)"
    captures = Captures.from_json(child.get("captures", {}))
    result["captures"] = {"face": len(captures.face), "finger": len(captures.finger)}
    result["scan"] = {
        "roots": [str(work / "data"), str(work / "kivy"), str(work / "tmp")],
        "logs": [str(out_path), str(err_path)],
    }
    return result, captures


# ---------------------------------------------------------------------------- privacy


def _kiosk_side(p: Path) -> bool:
    # The demo back end's files (demo-backend.sqlite3, demo-*-key.pem, its log) stand in for
    # the bureau's server, which holds references and evidence by design.
    return not p.name.startswith("demo-")


def _forms(captures: Captures) -> dict[bytes, str]:
    """Every form a captured template could take in a file -> what it is."""
    import base64

    import numpy as np

    from tests.privacy import probe

    forms: dict[bytes, str] = {}
    for n, vector in enumerate(captures.face):
        for name, form in probe.template_forms(vector).items():
            forms.setdefault(form, f"face capture {n}: {name}")
    for n, data in enumerate(captures.finger):
        if len(data) % 4 == 0 and not data.startswith(b"{"):
            # a simulated template: little-endian float32 values
            values = np.frombuffer(data, "<f4").astype(float).tolist()
            for name, form in probe.template_forms(values).items():
                forms.setdefault(form, f"finger capture {n}: {name}")
        # Any template (the real extractor's is JSON text): its head, and a piece of its
        # middle that tells one capture from another, raw and in base64 (3-byte aligned, as
        # it sits inside the base64 of the whole).
        mid = len(data) // 2 // 3 * 3
        forms.setdefault(data[:16], f"finger capture {n}: raw")
        forms.setdefault(base64.b64encode(data)[:32], f"finger capture {n}: b64")
        if len(data) >= mid + 24 and mid >= 16:
            forms.setdefault(data[mid : mid + 24], f"finger capture {n}: raw@{mid}")
            forms.setdefault(
                base64.b64encode(data[mid : mid + 24]), f"finger capture {n}: b64@{mid}"
            )
    return forms


def find_templates(files: list[Path], captures: Captures) -> list[str]:
    """probe.find_template for many templates at once: every form (probe.template_forms, at
    least 8 bytes long) indexed by its first 8 bytes, each file read once."""
    forms = _forms(captures)
    by_head: dict[bytes, list[bytes]] = {}
    for form in forms:
        by_head.setdefault(form[:8], []).append(form)
    found = []
    for p in files:
        data = p.read_bytes()
        seen = set()
        for at in range(len(data) - 7):
            candidates = by_head.get(data[at : at + 8])
            if not candidates:
                continue
            for form in candidates:
                if form not in seen and data.startswith(form, at):
                    seen.add(form)
                    found.append(f"{p}@{at}: {forms[form]}")
    return found


def privacy_check(parts: list[tuple[dict, Captures]]) -> dict:
    from tests.privacy import probe

    t0 = time.monotonic()
    out: dict = {
        "templates_found": 0,
        "faces_found": 0,
        "fingerprints_found": 0,
        "files_scanned": 0,
        "per_part": {},
    }
    findings: list[str] = []
    for name, (result, captures) in parts:
        scan = result.get("scan") or {}
        roots = [Path(r) for r in scan.get("roots", []) if Path(r).exists()]
        files = probe.files_under(roots, skip=lambda p: not _kiosk_side(p))
        logs = [Path(p) for p in scan.get("logs", []) if Path(p).exists()]
        files += [p for p in logs if p not in files]
        templates = find_templates(files, captures)
        # The probe itself on the last captures, as a cross-check of the fast search.
        for vector in captures.face[-10:]:
            for hit in probe.find_template(files, vector):
                if not any(hit.split(":", 1)[0] in t for t in templates):
                    templates.append(f"{hit} (probe)")
        faces = probe.find_face_images(files)
        fingers = probe.find_fingerprints(files)
        out["per_part"][name] = {
            "files_scanned": len(files),
            "bytes_scanned": sum(p.stat().st_size for p in files),
            "log_files": len(logs),
            "templates_checked": len(captures.face) + len(captures.finger),
            "templates_found": len(templates),
            "faces_found": len(faces),
            "fingerprints_found": len(fingers),
            "files": sorted(str(p.relative_to(p.parents[1])) for p in files)[:40],
        }
        out["templates_found"] += len(templates)
        out["faces_found"] += len(faces)
        out["fingerprints_found"] += len(fingers)
        out["files_scanned"] += len(files)
        findings += templates + faces + fingers
    out["findings"] = findings[:MAX_FAILURES_LISTED]
    out["seconds"] = round(time.monotonic() - t0, 1)
    out["pass"] = not (out["templates_found"] or out["faces_found"] or out["fingerprints_found"])
    return out


# ---------------------------------------------------------------------------- main


def code_revision() -> dict:
    try:
        rev = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return {"commit": None}
    return {"commit": rev}


def machine() -> dict:
    from importlib import metadata

    try:  # not `import kivy` here: the UI runs in its own process
        kivy = metadata.version("kivy")
    except metadata.PackageNotFoundError:
        kivy = None
    return describe(kivy=kivy)


def expected_seconds(flow_sessions: int, ui_sessions: int) -> float:
    ui = EST_UI_START_S + ui_sessions * EST_UI_S if ui_sessions else 0.0
    return flow_sessions * EST_FLOW_S + ui + EST_SCAN_S


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog=f"Expected at the default sizes on the bench machine: about "
        f"{expected_seconds(1000, 100) / 60:.0f} minutes.",
    )
    ap.add_argument("--flow-sessions", type=int, default=1000)
    ap.add_argument("--ui-sessions", type=int, default=100)
    ap.add_argument("--max-minutes", type=float, default=20.0)
    ap.add_argument(
        "--face-hold-s",
        type=float,
        default=1.0,
        help="how long each face capture lasts in the UI part (the preview is drawn meanwhile)",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--no-collect",
        dest="collect",
        action="store_false",
        help="sample without a full garbage collection first (RSS then includes garbage "
        "waiting for the collector)",
    )
    ap.add_argument(
        "--glibc-malloc-defaults",
        dest="unit_malloc",
        action="store_false",
        help="run with glibc's malloc defaults instead of the malloc settings of the kiosk's "
        "systemd unit (assets/deploy/jiangmen-kiosk.service), which the soak applies otherwise",
    )
    ap.add_argument(
        "--malloc-trim",
        action="store_true",
        help="after each sample, glibc's malloc_trim(0) and the RSS again (rss_trimmed_mb): "
        "what the process holds without the free memory its allocator keeps (a diagnostic: "
        "trimming changes the RSS that follows)",
    )
    ap.add_argument(
        "--trace",
        action="store_true",
        help="tracemalloc and object counts after the warm-up, the top growth sites in the "
        "JSON (a diagnostic: slower, and its RSS figures are not the soak's)",
    )
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "soak.json"))
    ap.add_argument("--keep", help="keep the working folder here (default: a temp folder)")
    args = ap.parse_args(argv)

    applied = apply_malloc_env(unit_malloc_env()) if args.unit_malloc else {}
    started = time.time()
    deadline = started + args.max_minutes * 60
    budget = args.max_minutes * 60 - EST_SCAN_S
    flow_cost = args.flow_sessions * EST_FLOW_S
    ui_cost = (EST_UI_START_S + args.ui_sessions * EST_UI_S) if args.ui_sessions else 0.0
    share = flow_cost / (flow_cost + ui_cost) if flow_cost + ui_cost else 1.0
    flow_deadline = started + budget * share
    _progress(
        f"expected about {expected_seconds(args.flow_sessions, args.ui_sessions) / 60:.1f} min;"
        f" capped at {args.max_minutes:g} min"
    )
    context = (
        contextlib.nullcontext(args.keep)
        if args.keep
        else tempfile.TemporaryDirectory(prefix="kiosk-soak-")
    )
    with context as folder:
        work = Path(folder)
        work.mkdir(parents=True, exist_ok=True)
        parts = []
        result: dict = {
            "benchmark": "soak",
            "machine": machine(),
            "code": code_revision(),
            "parameters": {
                "flow_sessions": args.flow_sessions,
                "ui_sessions": args.ui_sessions,
                "max_minutes": args.max_minutes,
                "face_hold_s": args.face_hold_s,
                "seed": args.seed,
                "gc_collect_before_sample": args.collect,
                "malloc_trim_after_sample": args.malloc_trim,
                "malloc_env": malloc_env(),
                "malloc_env_from_unit": applied,
                "warmup": f"first {WARMUP_FRACTION:.0%} of a part's sessions, at least "
                f"{WARMUP_MIN} (at most half)",
                "flow_scenarios": list(FLOW_SCENARIOS),
                "ui_scenarios": list(UI_SCENARIOS),
            },
            "goal_mb": GOAL_MB,
            "expected_seconds": round(expected_seconds(args.flow_sessions, args.ui_sessions)),
        }
        if args.flow_sessions:
            flow, captures = run_flow(args, work / "flow", flow_deadline)
            result["flow"] = flow
            parts.append(("flow", (flow, captures)))
            _progress(_summary("flow", flow))
            gc.collect()
        if args.ui_sessions:
            ui, captures = run_ui(args, work / "ui", deadline - EST_SCAN_S)
            result["ui"] = ui
            parts.append(("ui", (ui, captures)))
            _progress(_summary("ui", ui))
        try:
            result["privacy"] = privacy_check(parts)
        except Exception:  # noqa: BLE001 - the memory figures are kept, the check fails
            result["privacy"] = {
                "error": traceback.format_exc(limit=4),
                "templates_found": None,
                "faces_found": None,
                "files_scanned": None,
                "pass": False,
            }
        for _name, (part, _c) in parts:
            part.pop("scan", None)
    result["seconds"] = round(time.time() - started, 1)
    stops = [result[n].get("stop_reason") for n in ("flow", "ui") if n in result]
    result["stopped_early"] = any(stops)
    result["pass"] = all(
        result[n].get("pass") is True for n in ("flow", "ui") if n in result
    ) and bool(result["privacy"]["pass"])
    text = json.dumps(result, indent=2)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    _progress(
        f"privacy: {result['privacy']['templates_found']} templates, "
        f"{result['privacy']['faces_found']} faces in {result['privacy']['files_scanned']} files;"
        f" {result['seconds']:.0f} s in all -> {args.out}"
    )
    return 0


def _summary(name: str, part: dict) -> str:
    return (
        f"{name}: {part['sessions']}/{part['sessions_planned']} sessions in {part['seconds']} s "
        f"({part['s_per_session']} s each), {part['failures']} failures, growth after warm-up "
        f"{part.get('growth_mb_after_warmup')} MB, slope {part.get('slope_kb_per_session')} "
        f"KB/session{', stopped: ' + part['stop_reason'] if part['stop_reason'] else ''}"
    )


if __name__ == "__main__":
    sys.exit(main())
