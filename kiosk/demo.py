"""`kiosk run --demo`: the reference back end as a child process on loopback.

A child, not a thread of this process: Kivy wants the process (its main thread, its signals),
and a child can be stopped for certain. The back end keeps its SQLite file under the kiosk's
data_dir, is seeded with the demo pensioners and knows this kiosk's key as a demo kiosk.
This is the only module of the kiosk that names the back end, and only to launch it with -m.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from kiosk.api import contract as c
from kiosk.config import KioskSettings

BACKEND_MODULE = "backend.cli"


class DemoError(RuntimeError):
    """The demo back end could not be set up; the message is one line."""


def free_port(host: str = "127.0.0.1") -> int:
    # The port is free when asked; the child binds it a moment later. Should another process
    # take it in between, the child exits and start() says so.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class DemoBackend:
    def __init__(
        self,
        settings: KioskSettings,
        public_key_b64: str,
        *,
        step_timeout_s: float = 120.0,
        start_timeout_s: float = 60.0,
        stop_timeout_s: float = 10.0,
    ):
        self.settings = settings
        self.public_key_b64 = public_key_b64
        self.step_timeout_s = step_timeout_s
        self.start_timeout_s = start_timeout_s
        self.stop_timeout_s = stop_timeout_s
        data_dir = Path(settings.data_dir).resolve()
        self.db_path = data_dir / "demo-backend.sqlite3"
        self.log_path = data_dir / "demo-backend.log"
        self.host = "127.0.0.1"
        self.port: int | None = None
        self.proc: subprocess.Popen | None = None
        self._log = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _env(self) -> dict[str, str]:
        # The back end's key files live with the demo's database under data_dir, not in
        # whatever directory the kiosk was started from; every step uses the same ones.
        data_dir = self.db_path.parent
        env = dict(os.environ)
        env["KIOSK_BACKEND_EVIDENCE_KEY_PATH"] = str(data_dir / "demo-evidence-key.pem")
        env["KIOSK_BACKEND_ECARD_KEY_PATH"] = str(data_dir / "demo-ecard-key.pem")
        return env

    def issue_ecard(self, persona_key: str) -> str:
        """A QR e-card payload for a demo pensioner, signed by the demo back end's key."""
        return self._step("ecard", "issue", "--persona", persona_key).strip().splitlines()[-1]

    def enrol_face_for_all(self, png: bytes) -> None:
        """One face (the demo actor's) as every demo pensioner's reference. The picture is
        a public clip's frame, not a resident's; its file lives only for the step."""
        path = self.db_path.parent / "demo-actor-enrolment.png"
        path.write_bytes(png)
        try:
            self._step("enrol", "--all-demo", "--photo", str(path))
        finally:
            path.unlink(missing_ok=True)

    def _cmd(self, *args: str) -> list[str]:
        db_url = f"sqlite:///{self.db_path}"
        return [sys.executable, "-m", BACKEND_MODULE, "--db-url", db_url, *args]

    def start(self) -> str:
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        s = self.settings
        self._step("migrate")
        self._step("seed", "--demo")
        self._step(
            "kiosk", "register", "--id", s.kiosk_id, "--site", s.site,
            f"--public-key={self.public_key_b64}", "--demo",
        )  # fmt: skip
        self.port = free_port(self.host)
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(  # noqa: S603 (our interpreter, our arguments)
            self._cmd("serve", "--host", self.host, "--port", str(self.port)),
            stdin=subprocess.DEVNULL,
            env=self._env(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            # Its own session: a Ctrl-C meant for the kiosk reaches the back end through
            # stop(), in order, not at the same moment.
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        atexit.register(self.stop)
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self.url

    def _step(self, *args: str) -> str:
        name = " ".join(args[:2]) if args[0] == "kiosk" else args[0]
        try:
            done = subprocess.run(  # noqa: S603 (our interpreter, our arguments)
                self._cmd(*args),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                env=self._env(),
                text=True,
                timeout=self.step_timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise DemoError(
                f"demo back end: `{name}` did not finish within {self.step_timeout_s:g} s"
            ) from exc
        if done.returncode != 0:
            raise DemoError(
                f"demo back end: `{name}` failed (exit {done.returncode}): "
                f"{_last_line(done.stderr if done.stderr.strip() else done.stdout)}"
            )
        return done.stdout

    def _wait_healthy(self) -> None:
        health = f"{self.url}{c.API_PREFIX}/health"
        deadline = time.monotonic() + self.start_timeout_s
        with requests.Session() as http:
            http.trust_env = False  # a proxy from the environment must not see loopback calls
            while True:
                code = self.proc.poll()
                if code is not None:
                    raise DemoError(
                        f"demo back end exited with code {code} before answering; "
                        f"see {self.log_path}: {_last_line(self._log_tail())}"
                    )
                with contextlib.suppress(requests.RequestException):
                    r = http.get(health, timeout=(1.0, 2.0))
                    if r.status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise DemoError(
                        f"demo back end did not answer {health} within "
                        f"{self.start_timeout_s:g} s; see {self.log_path}"
                    )
                time.sleep(0.1)

    def stop(self) -> None:
        """Idempotent: terminate, then kill if it does not leave in time."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(self.stop_timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(self.stop_timeout_s)
        if self._log is not None:
            self._log.close()
            self._log = None
        atexit.unregister(self.stop)

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def __enter__(self) -> DemoBackend:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _die_with_parent() -> None:
    # Runs in the child before exec. atexit does not run when the kiosk is killed outright;
    # Linux then still sends the back end SIGTERM (PR_SET_PDEATHSIG = 1).
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


def _last_line(text: str) -> str:
    """The line that says why: the last exception line of a traceback (what follows it is
    often a pointer to documentation), else the last line."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    errors = [line for line in lines if re.match(r"^[\w.]+(Error|Exception)\b.*:", line)]
    line = (errors or lines or ["(no output)"])[-1]
    return line if len(line) <= 300 else line[:297] + "..."
