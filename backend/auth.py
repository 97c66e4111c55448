"""Device authentication: every kiosk request carries an Ed25519 transport signature.

Checks, in this order (each failure is a 401/403 problem+json with its own code):
headers present -> kiosk known -> kiosk not revoked -> timestamp within the skew window ->
signature verifies -> nonce unseen. The nonce is recorded only after the signature
verifies, so nobody can burn a kiosk's nonces without its key.
"""

from __future__ import annotations

import datetime as dt
import random

from fastapi import Request
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from backend.models import Kiosk, RequestNonce
from backend.problems import ApiProblem
from kiosk.api import signing
from kiosk.api.contract import ProblemCode

# Old nonces are purged on about one request in fifty: often enough to keep the table small,
# rarely enough to cost nothing.
NONCE_PURGE_CHANCE = 0.02


def request_target(request: Request) -> str:
    """The path and query exactly as the client sent them (what the client signed)."""
    path = request.scope.get("raw_path") or request.url.path.encode()
    target = path.decode("latin-1")
    query = request.scope.get("query_string", b"")
    if query:
        target += "?" + query.decode("latin-1")
    return target


async def authenticate(request: Request) -> Kiosk:
    state = request.app.state
    now = state.clock.time()
    try:
        signed = signing.parse_headers(request.headers)
    except KeyError as exc:
        raise ApiProblem(401, ProblemCode.UNAUTHENTICATED, server_time=now) from exc
    except signing.SignatureInvalid as exc:
        raise ApiProblem(401, ProblemCode.BAD_SIGNATURE, str(exc), server_time=now) from exc

    body = await request.body()
    target = request_target(request)
    return await run_in_threadpool(_check, state, signed, request.method, target, body, now)


def _check(
    state, signed: signing.SignedHeaders, method: str, target: str, body: bytes, now: float
) -> Kiosk:
    with state.sessions() as db:
        kiosk = db.get(Kiosk, signed.kiosk_id)
        if kiosk is None:
            raise ApiProblem(401, ProblemCode.UNKNOWN_DEVICE, server_time=now)
        if kiosk.state != "active":
            raise ApiProblem(403, ProblemCode.DEVICE_REVOKED, server_time=now)
        if abs(signed.timestamp - now) > state.settings.clock_skew_s:
            raise ApiProblem(
                401,
                ProblemCode.STALE_TIMESTAMP,
                f"timestamp differs from server clock by {int(signed.timestamp - now)} s",
                server_time=now,
            )
        try:
            key = signing.load_public_key(kiosk.public_key)
            signing.verify(key, signed, method, target, body)
        except (signing.SignatureInvalid, ValueError) as exc:
            raise ApiProblem(401, ProblemCode.BAD_SIGNATURE, server_time=now) from exc
        seen_at = dt.datetime.fromtimestamp(now, dt.UTC)
        if random.random() < NONCE_PURGE_CHANCE:  # noqa: S311 - a cadence, not a secret
            # Before the insert: a DELETE flushes pending rows, and a replayed nonce must
            # fail in the commit below (401), not in this statement (500).
            horizon = seen_at - dt.timedelta(seconds=2 * state.settings.clock_skew_s)
            db.execute(delete(RequestNonce).where(RequestNonce.seen_at < horizon))
        db.add(RequestNonce(kiosk_id=kiosk.id, nonce=signed.nonce, seen_at=seen_at))
        try:
            db.commit()
        except IntegrityError as exc:
            raise ApiProblem(401, ProblemCode.REPLAYED_NONCE, server_time=now) from exc
        db.expunge(kiosk)
    return kiosk
