"""The back end's ASGI application."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend import api, evidence_key, problems
from backend.clock import SystemClock
from backend.db import make_engine, session_factory
from backend.problems import problem_response
from backend.settings import BackendSettings
from backend.staff import web as staff_web
from kiosk.api import contract as c
from kiosk.api.contract import ProblemCode

DESCRIPTION = """\
The Jiangmen Human Resources and Social Security Bureau's API for the self-service kiosks in
Hong Kong and Macau: pension enquiry and the annual pension entitlement verification.

Every kiosk endpoint needs the transport signature: headers `X-Kiosk-Id`, `X-Kiosk-Timestamp`
(Unix seconds), `X-Kiosk-Nonce` (fresh per attempt) and `X-Kiosk-Signature` (Ed25519 over the
string defined in `kiosk/api/signing.py`). Every response carries `X-Server-Time` so kiosks can
correct their clocks. Errors are `application/problem+json` with a stable `code`.
"""

SIGNATURE_SCHEMES = {
    "KioskId": c.H_KIOSK_ID,
    "KioskTimestamp": c.H_TIMESTAMP,
    "KioskNonce": c.H_NONCE,
    "KioskSignature": c.H_SIGNATURE,
}


class ServerFrame:
    """ASGI middleware: stamps X-Server-Time on every response and refuses bodies larger
    than the limit before they are read into memory."""

    def __init__(self, app: ASGIApp, clock, max_body: int):
        self.app = app
        self.clock = clock
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        stamp = f"{self.clock.time():.3f}".encode()

        async def send_stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((c.H_SERVER_TIME.lower().encode(), stamp))
                message = {**message, "headers": headers}
            await send(message)

        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body):
            await problem_response(413, ProblemCode.PAYLOAD_TOO_LARGE)(scope, receive, send_stamped)
            return
        seen = 0

        async def receive_limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, receive_limited, send_stamped)
        except _TooLarge:
            await problem_response(413, ProblemCode.PAYLOAD_TOO_LARGE)(scope, receive, send_stamped)


class _TooLarge(Exception):
    pass


def create_app(settings: BackendSettings | None = None, clock=None) -> FastAPI:
    settings = settings or BackendSettings()
    clock = clock or SystemClock()
    app = FastAPI(
        title="Jiangmen pension kiosk API",
        version=c.API_VERSION,
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        openapi_url=f"{c.API_PREFIX}/openapi.json",
        # A trailing slash is a different (unknown) path, not a redirect: a signed request
        # cannot follow a redirect, its signature covers the path it was sent to.
        redirect_slashes=False,
    )
    engine = make_engine(settings.db_url)
    app.state.settings = settings
    app.state.clock = clock
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    app.state.evidence_keys = evidence_key.Keyring(settings.evidence_key_path)
    problems.install(app)
    app.include_router(api.router)
    staff_web.install(app)  # /staff: review and fleet consoles, outside the OpenAPI document
    app.add_middleware(ServerFrame, clock=clock, max_body=settings.max_body_bytes)
    app.openapi = lambda: _openapi(app)
    return app


def _openapi(app: FastAPI) -> dict:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    comps = schema.setdefault("components", {})
    schemas = comps.setdefault("schemas", {})
    schemas["Problem"] = c.Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schemas["Problem"].pop("$defs", {}).items():
        schemas.setdefault(name, sub)
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    comps["securitySchemes"] = {
        name: {"type": "apiKey", "in": "header", "name": header}
        for name, header in SIGNATURE_SCHEMES.items()
    }
    problem = {"$ref": "#/components/schemas/Problem"}
    for path, ops in schema["paths"].items():
        for op in ops.values():
            signed = "kiosk" in op.get("tags", [])
            codes = {"422", "413", "500"}
            if "requestBody" in op:
                codes.add("400")  # a body that is not UTF-8 JSON
            if signed:
                op["security"] = [{key: [] for key in SIGNATURE_SCHEMES}]
                codes |= {"401", "403", "404", "409", "410", "429"}
            if path.endswith("/health"):
                codes = {"413", "500"}
            for code in codes:
                op["responses"][code] = {
                    "description": "Problem",
                    "content": {c.PROBLEM_CONTENT_TYPE: {"schema": problem}},
                }
    app.openapi_schema = schema
    return schema
