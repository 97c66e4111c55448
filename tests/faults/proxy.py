"""A real HTTP fault proxy on loopback, between the kiosk's client and the back end.

Requests are forwarded with `requests`, bodies streamed and every end-to-end header (the
transport signature, the idempotency key, X-Server-Time on the way back) passed unchanged.
Rules, matched on method + path (regular expressions, `re.fullmatch`, the query string left
out), decide what happens to a request instead:

- `down`: the connection is closed without an answer (and nothing reaches the back end);
- `slow`: the request waits `delay_s` (longer than the kiosk's read timeout), then goes to the
  back end, which does the work; the answer comes too late for the kiosk;
- `500`: answered at once with 500 and a problem+json body (the back end never sees it);
- `after_forward_drop`: forwarded, the back end answers, and the answer is dropped (the
  connection closed): the lost answer idempotency keys exist for.

Each rule applies to the next `times` matching requests, or always (`times=None`). The first
rule that matches and has uses left wins; anything else is forwarded.

    with FaultProxy(backend_url) as proxy:
        proxy.add("down", "POST", r"/api/v1/identify")
        client = KioskApiClient(proxy.url, ...)
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import requests

ACTIONS = ("down", "slow", "500", "after_forward_drop")

# RFC 9110 7.6.1: hop-by-hop, never forwarded (Content-Length is recomputed for the body).
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}


@dataclass
class Rule:
    action: str
    method: str = ".*"
    path: str = ".*"
    times: int | None = None  # None: always
    delay_s: float = 1.5
    hits: int = 0
    _method_re: re.Pattern = field(init=False, repr=False)
    _path_re: re.Pattern = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown action {self.action!r}; one of {ACTIONS}")
        self._method_re = re.compile(self.method, re.IGNORECASE)
        self._path_re = re.compile(self.path)

    def matches(self, method: str, path: str) -> bool:
        return bool(self._method_re.fullmatch(method) and self._path_re.fullmatch(path))

    @property
    def spent(self) -> bool:
        return self.times is not None and self.hits >= self.times


@dataclass(frozen=True)
class Seen:
    """One request as the proxy handled it: `action` is the rule's, or "forward"; `status`
    is what the back end answered (None when it was never asked)."""

    method: str
    path: str
    action: str
    status: int | None


class FaultProxy:
    def __init__(self, upstream: str, host: str = "127.0.0.1", port: int = 0):
        self.upstream = upstream.rstrip("/")
        self._rules: list[Rule] = []
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._in_flight = 0
        self._stopping = threading.Event()
        self._local = threading.local()
        self.seen: list[Seen] = []
        proxy = self

        class Handler(_Handler):
            owner = proxy

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.host, self.port = self.server.server_address[:2]
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- life -------------------------------------------------------------------------------

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes slow requests: they end without reaching the back end
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- rules ------------------------------------------------------------------------------

    def add(
        self,
        action: str,
        method: str = ".*",
        path: str = ".*",
        *,
        times: int | None = None,
        delay_s: float = 1.5,
    ) -> Rule:
        rule = Rule(action, method, path, times, delay_s)
        with self._lock:
            self._rules.append(rule)
        return rule

    def heal(self) -> None:
        """No more faults: everything is forwarded from now on."""
        with self._lock:
            self._rules.clear()

    def reset(self) -> None:
        """Healed, and the record of requests seen so far forgotten."""
        with self._lock:
            self._rules.clear()
            self.seen = []

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Until no request is inside the proxy (a slow one still on its way to the back end
        has arrived and been answered)."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{self._in_flight} requests still in the proxy")
                self._idle.wait(left)

    def forwarded(self, method: str, path: str) -> list[Seen]:
        """The requests matching `method` + `path` (regexes) that reached the back end."""
        m, p = re.compile(method, re.IGNORECASE), re.compile(path)
        with self._lock:
            return [
                s
                for s in self.seen
                if s.status is not None and m.fullmatch(s.method) and p.fullmatch(s.path)
            ]

    # -- used by the handler ----------------------------------------------------------------

    def _take(self, method: str, path: str) -> Rule | None:
        with self._lock:
            self._in_flight += 1
            for rule in self._rules:
                if not rule.spent and rule.matches(method, path):
                    rule.hits += 1
                    return rule
        return None

    def _done(self, seen: Seen) -> None:
        with self._lock:
            self.seen.append(seen)
            self._in_flight -= 1
            self._idle.notify_all()

    def _session(self) -> requests.Session:
        s = getattr(self._local, "session", None)
        if s is None:
            s = requests.Session()
            s.trust_env = False
            s.headers.clear()  # no User-Agent / Accept-Encoding of our own: the kiosk's pass
            self._local.session = s
        return s


class _Handler(BaseHTTPRequestHandler):
    owner: FaultProxy
    protocol_version = "HTTP/1.1"  # keep-alive, as the kiosk's requests session expects

    def log_message(self, format, *args) -> None:
        pass

    def do_GET(self) -> None:
        self._proxy()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    # -- the work ---------------------------------------------------------------------------

    def _proxy(self) -> None:
        owner = self.owner
        method, path = self.command, urlsplit(self.path).path
        body = self._read_body()
        if body is None:  # the kiosk died mid-request: a server would not process half a body
            self.close_connection = True
            with owner._lock:
                owner.seen.append(Seen(method, path, "client_gone", None))
            return
        rule = owner._take(method, path)
        action = rule.action if rule else "forward"
        status = None
        try:
            if action == "down":
                self.close_connection = True
                return
            if action == "500":
                self._problem_500()
                return
            if action == "slow" and owner._stopping.wait(rule.delay_s):
                self.close_connection = True
                return
            upstream = self._forward(method, body)
            status = upstream.status_code
            if action == "after_forward_drop":
                upstream.content  # noqa: B018 - the back end's whole answer, then dropped
                upstream.close()
                self.close_connection = True
                return
            self._relay(upstream)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the kiosk gave up waiting (slow): nothing to do
        except requests.RequestException as exc:
            self.close_connection = True
            self.log_error("upstream failed: %s", exc)
        finally:
            owner._done(Seen(method, path, action, status))

    def _read_body(self) -> bytes | None:
        """The whole request body, or None when the connection ended before it did."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = bytearray()
            while True:
                line = self.rfile.readline()
                if not line:
                    return None
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return bytes(out)
                chunk = self.rfile.read(size)
                if len(chunk) < size:
                    return None
                out += chunk
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        return body if len(body) == length else None

    def _forward(self, method: str, body: bytes) -> requests.Response:
        headers = {
            k: v
            for k, v in self.headers.items()
            if k.lower() not in HOP_BY_HOP and k.lower() != "content-length"
        }
        return self.owner._session().request(
            method,
            self.owner.upstream + self.path,
            headers=headers,
            data=body or None,
            stream=True,
            allow_redirects=False,
            timeout=(5, 60),
        )

    def _relay(self, upstream: requests.Response) -> None:
        self.send_response_only(upstream.status_code, upstream.reason)
        length = upstream.headers.get("Content-Length")
        for k, v in upstream.raw.headers.items():  # as sent, repeated headers included
            if k.lower() not in HOP_BY_HOP:
                self.send_header(k, v)
        chunked = length is None and self.command != "HEAD"
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for chunk in upstream.raw.stream(65536, decode_content=False):
                if not chunk:
                    continue
                if chunked:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                else:
                    self.wfile.write(chunk)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        finally:
            upstream.close()

    def _problem_500(self) -> None:
        body = json.dumps(
            {
                "type": "urn:jiangmen-kiosk:problem:internal_error",
                "title": "Internal Server Error",
                "status": 500,
                "code": "internal_error",
                "detail": "fault proxy: injected 500",
            }
        ).encode()
        self.send_response_only(500, "Internal Server Error")
        self.send_header("Content-Type", "application/problem+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
