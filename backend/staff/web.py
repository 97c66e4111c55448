"""The staff web consoles under /staff: plain HTML forms rendered with Jinja2, no JavaScript.

Routes (none of them in the kiosk API's OpenAPI document):

    GET  /staff                                   -> the signed-in user's console, or sign-in
    GET  /staff/login, POST /staff/login          password + one-time code (TOTP)
    POST /staff/logout
    GET  /staff/review                            reviewer, admin: cases awaiting a decision
    GET  /staff/review/cases/{reference}          the case (audited)
    GET  /staff/review/cases/{reference}/frame    its best frame (audited)
    GET  /staff/review/cases/{reference}/reference-photo   the enrolled photo (audited)
    POST /staff/review/cases/{reference}/decision approve / reject / appointment, with a reason
    GET  /staff/fleet                             technician, admin: every kiosk's state
    GET  /staff/fleet/kiosks/{kiosk_id}           a kiosk's recent heartbeats and alerts
    GET  /staff/static/...                        the style sheet

Every page is sent with a strict Content-Security-Policy (default-src 'self', no frames) and
`Cache-Control: no-store`; every POST needs the session's CSRF token (the sign-in form a
double-submit token) and, when the browser sends one, an Origin of this host (a reverse
proxy in front must pass the Host header through unchanged).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from pathlib import Path
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend import models as m
from backend.settings import BackendSettings
from backend.staff import accounts, fleet, notify, review, sessions
from backend.staff.accounts import Area, LoginOutcome
from kiosk.api import signing

log = logging.getLogger(__name__)

ROOT = "/staff"
BACKEND = Path(__file__).resolve().parent.parent
templates = Jinja2Templates(directory=str(BACKEND / "templates"))
REFERENCE_RE = re.compile(r"^JM[0-9]{6}-[0-9A-HJKMNP-TV-Z]{8}$")
SMS_STATUS = {
    "sent": "the resident has been sent a message",
    "no_recipient": "no phone number is on file: the resident sees it at receipt lookup",
    "failed": "the message to the resident failed and is kept to retry",
}
LOCAL = dt.timezone(dt.timedelta(hours=8))  # Jiangmen, Hong Kong and Macau keep UTC+8

CSP = (
    "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'none'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


# --------------------------------------------------------------------------- formatting


def _local_time(value: dt.datetime | None) -> str:
    if value is None:
        return "—"
    return value.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M:%S")


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    s = int(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"


def _num(value: float | None, places: int = 3) -> str:
    return "—" if value is None else f"{value:.{places}f}"


templates.env.filters["local_time"] = _local_time
templates.env.filters["age"] = _age
templates.env.filters["num"] = _num
templates.env.globals["timeline"] = review.timeline


# --------------------------------------------------------------------------- plumbing


class NotSignedIn(Exception):
    def __init__(self, ended: bool = False):
        super().__init__("not signed in")
        self.ended = ended


class Denied(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _db(request: Request):
    with request.app.state.sessions() as db:
        yield db


DB = Annotated[Session, Depends(_db)]


def _settings(request: Request) -> BackendSettings:
    return request.app.state.settings


def _now(request: Request) -> dt.datetime:
    return request.app.state.clock.now()


def _secure(request: Request) -> bool:
    return request.url.scheme == "https" or _settings(request).staff_secure_cookie


def _same_origin(request: Request) -> bool:
    """A POST's Origin (when the browser sends one) names this host."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    host = request.headers.get("host", "")
    return origin != "null" and urlsplit(origin).netloc == host


async def _submitted_csrf(request: Request) -> str | None:
    """The CSRF field of a POSTed form (parsed once; the route reads the same form)."""
    if request.method != "POST":
        return None
    form = await request.form()
    value = form.get(sessions.CSRF_FIELD)
    return value if isinstance(value, str) else ""


def _signed_in(area: Area | None):
    def dependency(
        request: Request, db: DB, submitted: Annotated[str | None, Depends(_submitted_csrf)]
    ) -> sessions.Current:
        token = request.cookies.get(sessions.COOKIE)
        cur = sessions.load(db, _now(request), token, _settings(request))
        if request.method == "POST" and (
            cur is None
            or not _same_origin(request)
            or not sessions.tokens_match(cur.csrf, submitted)
        ):
            raise Denied(403, "This form has expired or did not come from this console. "
                         "Reload the page and try again.")  # fmt: skip
        if cur is None:
            raise NotSignedIn(ended=token is not None)
        if area is not None and not accounts.may_enter(cur.user.role, area):
            raise Denied(403, f"Your role ({cur.user.role}) does not give access to this page.")
        return cur

    return dependency


Staff = Annotated[sessions.Current, Depends(_signed_in(None))]
Reviewer = Annotated[sessions.Current, Depends(_signed_in(Area.REVIEW))]
Technician = Annotated[sessions.Current, Depends(_signed_in(Area.FLEET))]


def _page(
    request: Request,
    name: str,
    cur: sessions.Current | None = None,
    status_code: int = 200,
    **context,
) -> HTMLResponse:
    role = cur.user.role if cur else ""
    context.update(
        cur=cur,
        root=ROOT,
        may_review=bool(cur) and accounts.may_enter(role, Area.REVIEW),
        may_fleet=bool(cur) and accounts.may_enter(role, Area.FLEET),
    )
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def _home_of(role: str) -> str:
    if accounts.may_enter(role, Area.REVIEW):
        return f"{ROOT}/review"
    return f"{ROOT}/fleet"


def _safe_next(value: str | None) -> str | None:
    """Only a path of these consoles: never another site, never a scheme-relative URL."""
    if (
        value
        and value.startswith(ROOT + "/")
        and "//" not in value
        and re.fullmatch(r"[A-Za-z0-9/_.\-]+", value)
    ):
        return value
    return None


def _redirect(to: str) -> RedirectResponse:
    return RedirectResponse(to, status_code=303)


router = APIRouter(prefix=ROOT, include_in_schema=False)


# --------------------------------------------------------------------------- sign-in


@router.get("")
def home(request: Request, db: DB):
    cur = sessions.load(db, _now(request), request.cookies.get(sessions.COOKIE), _settings(request))
    if cur is None:
        return _redirect(f"{ROOT}/login")
    return _redirect(_home_of(cur.user.role))


def _login_page(
    request: Request, message: str | None = None, status_code: int = 200, next_: str | None = None
) -> HTMLResponse:
    token = sessions.new_login_token()
    response = _page(
        request,
        "login.html",
        status_code=status_code,
        login_token=token,
        message=message,
        next=_safe_next(next_) or "",
    )
    response.set_cookie(
        sessions.LOGIN_COOKIE, token, max_age=1800, **sessions.cookie_options(_secure(request))
    )
    return response


@router.get("/login")
def login_form(request: Request, next: str | None = None, ended: str | None = None):
    message = "Your session has ended. Please sign in again." if ended == "1" else None
    return _login_page(request, message, next_=next)


@router.post("/login")
def login(
    request: Request,
    db: DB,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    code: Annotated[str, Form(max_length=16)] = "",
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=200)] = "",
):
    expected = request.cookies.get(sessions.LOGIN_COOKIE)
    if not _same_origin(request) or not sessions.tokens_match(expected, csrf_token):
        raise Denied(403, "This sign-in form has expired. Reload the page and try again.")
    s = _settings(request)
    now = _now(request)
    result = accounts.sign_in(db, now, username.strip().lower(), password, code, s)
    if result.outcome is LoginOutcome.LOCKED:
        return _login_page(
            request,
            "This account is locked after too many failed sign-ins. Try again later or ask "
            "an administrator to unlock it.",
            status_code=403,
        )
    if result.outcome is not LoginOutcome.OK:
        return _login_page(
            request, "Sign-in failed: check the user name, password and code.", 401, next
        )
    sessions.destroy(db, request.cookies.get(sessions.COOKIE))  # a new session, never the old
    token = sessions.create(db, now, result.user, s)
    response = _redirect(_safe_next(next) or _home_of(result.user.role))
    response.set_cookie(sessions.COOKIE, token, **sessions.cookie_options(_secure(request)))
    response.delete_cookie(sessions.LOGIN_COOKIE, path=sessions.PATH)
    return response


@router.post("/logout")
def logout(request: Request, db: DB, cur: Staff):
    sessions.destroy(db, cur.token)
    response = _redirect(f"{ROOT}/login")
    response.delete_cookie(sessions.COOKIE, path=sessions.PATH)
    return response


# --------------------------------------------------------------------------- review


def _reference(value: str) -> str:
    if not REFERENCE_RE.match(value):
        raise Denied(404, "No such case.")
    return value


@router.get("/review")
def review_queue(
    request: Request, db: DB, cur: Reviewer, decided: str | None = None, sms: str | None = None
):
    now = _now(request)
    return _page(
        request,
        "review_queue.html",
        cur,
        items=review.queue(db, now),
        recent=review.recently_decided(db),
        decided=decided if decided and REFERENCE_RE.match(decided) else None,
        sms=SMS_STATUS.get(sms or "", ""),
        labels=review.DECISION_LABELS,
        reasons=review.REASONS,
    )


def _case_page(
    request: Request,
    db: Session,
    cur: sessions.Current,
    reference: str,
    *,
    message: str | None = None,
    form: dict | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    try:
        case = review.load_case(db, reference)
    except review.CaseNotFound:
        raise Denied(404, "No such case.") from None
    s = _settings(request)
    review.audit_view(db, _now(request), cur.user, reference, "case_viewed", case.session.id)
    return _page(
        request,
        "review_case.html",
        cur,
        status_code=status_code,
        case=case,
        s=s,
        decisions=review.DECISION_LABELS,
        reasons=review.REASONS,
        message=message,
        form=form or {},
        note_max=review.NOTE_MAX,
    )


@router.get("/review/cases/{reference}")
def review_case(reference: str, request: Request, db: DB, cur: Reviewer):
    return _case_page(request, db, cur, _reference(reference))


def _image(
    request: Request, db: Session, cur: sessions.Current, reference: str, which: str
) -> Response:
    reference = _reference(reference)
    try:
        image = (
            review.frame_image(db, reference)
            if which == "frame"
            else review.reference_photo(db, reference)
        )
        sess_id = db.get(m.Receipt, reference).session_id
    except review.CaseNotFound:
        raise Denied(404, "No such case.") from None
    if image is None:
        raise Denied(404, "No such image.")
    review.audit_view(db, _now(request), cur.user, reference, f"case_{which}_viewed", sess_id)
    mime, data = image
    return Response(data, media_type=mime)


@router.get("/review/cases/{reference}/frame")
def review_frame(reference: str, request: Request, db: DB, cur: Reviewer):
    return _image(request, db, cur, reference, "frame")


@router.get("/review/cases/{reference}/reference-photo")
def review_reference_photo(reference: str, request: Request, db: DB, cur: Reviewer):
    return _image(request, db, cur, reference, "reference_photo")


@router.post("/review/cases/{reference}/decision")
def review_decide(
    reference: str,
    request: Request,
    db: DB,
    cur: Reviewer,
    decision: Annotated[str, Form(max_length=32)] = "",
    reason_code: Annotated[str, Form(max_length=32)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
):
    reference = _reference(reference)
    problem = review.validate(decision, reason_code, note)
    form = {"decision": decision, "reason_code": reason_code, "note": note}
    if problem:
        return _case_page(request, db, cur, reference, message=problem, form=form, status_code=422)
    now = _now(request)
    notifier = request.app.state.notifier
    try:
        notification_id = review.decide(
            db, now, reference, cur.user, decision, reason_code, note, _settings(request), notifier
        )
    except review.CaseNotFound:
        raise Denied(404, "No such case.") from None
    except review.AlreadyDecided:
        return _case_page(
            request, db, cur, reference, message="This case has already been decided.",
            status_code=409,
        )  # fmt: skip
    sent = notify.deliver(request.app.state.sessions, notifier, notification_id, now)
    return _redirect(f"{ROOT}/review?decided={quote(reference)}&sms={quote(sent)}")


# --------------------------------------------------------------------------- fleet


@router.get("/fleet")
def fleet_page(request: Request, db: DB, cur: Technician):
    s = _settings(request)
    return _page(
        request,
        "fleet.html",
        cur,
        kiosks=fleet.fleet(db, _now(request), s),
        s=s,
        now=_now(request),
    )


@router.get("/fleet/kiosks/{kiosk_id}")
def fleet_kiosk(kiosk_id: str, request: Request, db: DB, cur: Technician):
    if not signing.KIOSK_ID_RE.match(kiosk_id):
        raise Denied(404, "No such kiosk.")
    s = _settings(request)
    found = fleet.kiosk_detail(db, kiosk_id, _now(request), s)
    if found is None:
        raise Denied(404, "No such kiosk.")
    health, beats = found
    return _page(request, "fleet_kiosk.html", cur, k=health, beats=beats, s=s)


# --------------------------------------------------------------------------- the app


class StaffHeaders:
    """ASGI middleware: security headers on every /staff response; no-store except on the
    style sheet (the pages show personal data and must not stay in caches)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not (path == ROOT or path.startswith(ROOT + "/")):
            await self.app(scope, receive, send)
            return
        static = path.startswith(f"{ROOT}/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() not in (b"cache-control", b"pragma")
                ]
                headers += SECURITY_HEADERS
                if static:
                    headers.append((b"cache-control", b"max-age=3600"))
                else:
                    headers += [(b"cache-control", b"no-store"), (b"pragma", b"no-cache")]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install(app: FastAPI) -> None:
    """Mounts the consoles on the back end's app (called by backend.app.create_app)."""
    app.state.notifier = notify.from_settings(app.state.settings)
    app.include_router(router)
    app.mount(f"{ROOT}/static", StaticFiles(directory=BACKEND / "static"), name="staff-static")
    app.add_middleware(StaffHeaders)

    @app.exception_handler(NotSignedIn)
    async def _not_signed_in(request: Request, exc: NotSignedIn):
        if request.method != "GET":
            return HTMLResponse("Sign in first.", status_code=403)
        path = request.url.path
        target = f"{ROOT}/login?next={quote(path)}" + ("&ended=1" if exc.ended else "")
        response = _redirect(target)
        if exc.ended:
            response.delete_cookie(sessions.COOKIE, path=sessions.PATH)
        return response

    @app.exception_handler(Denied)
    async def _denied(request: Request, exc: Denied):
        return _page(request, "error.html", None, status_code=exc.status, message=exc.message)
