"""Idempotent writes: an `Idempotency-Key` header on any POST/PUT/PATCH/DELETE.

Only an authenticated caller claims a key: the password, secret or token is verified first
(and, on ETNA's paths, the `Et-App-Key` must name an application of the caller's company); a
request that fails these is answered by the application and claims nothing. The key is then
claimed per company under a lease that the running request renews; the answer is stored when it
ends. The same key with the same request (the same caller, app key, content type and body)
replays the stored answer and books nothing new; with a different request it is refused (422).
A key whose request still runs answers 409. A key whose request died (its lease passed without
an answer) is taken over by a retry of the same request, unless that request's booking had
committed: the key says so (409), and nothing is booked twice (`adapters/database/claims.py`).
A 5xx answer releases a key that booked nothing. An answer marked `Cache-Control: no-store` (a
token, a new API client's secret) is never kept: a replay answers 409 instead of showing the
secret a second time. A dry run (`?dryRun=true`) claims no key: it keeps nothing to replay.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from collections.abc import MutableMapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from allotment.adapters.database import claims, dryrun
from allotment.adapters.database.claims import Claim
from allotment.adapters.database.uow import SqlUnitOfWorkFactory
from allotment.bootstrap import Container
from allotment.domain.errors import (
    AllotmentError,
    Conflict,
    Forbidden,
    IdempotencyKeyReused,
    InvalidInstruction,
    Unauthorized,
)
from allotment.entrypoints.http.blocktrade.routes import PREFIX as BASIC_PREFIX
from allotment.entrypoints.http.deps import resolve_principal
from allotment.entrypoints.http.errors import (
    database_unavailable,
    renderer_for,
    status_for,
    unavailable_answer,
    with_retry_after,
)
from allotment.entrypoints.http.etna.routes import VERSIONS as ETNA_VERSIONS
from allotment.services import auth
from allotment.services.ports import IdempotencyRecord

log = logging.getLogger("allotment.idempotency")

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
MAX_KEY_LENGTH = 200
WITHHELD = "application/x-allotment-withheld"
"""Stored in place of the content type of an answer that was not kept."""
ETNA_PREFIXES = tuple(f"/v{version}/" for version in ETNA_VERSIONS)
"""ETNA's routes check the `Et-App-Key` before the token: so does the claim."""


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, container: Container) -> None:
        self.app = app
        self.box = container
        self.lease = timedelta(seconds=container.settings.idempotency_lease_seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers", [])) if scope["type"] == "http" else {}
        raw_key = headers.get(b"idempotency-key")
        if raw_key is None or scope["method"] not in WRITE_METHODS or dryrun.current():
            await self.app(scope, receive, send)
            return
        key = raw_key.decode("latin-1").strip()
        request = Request(scope)
        # The body is in memory already (the text guard outside read it whole): reading it
        # first lets the caller's check and the claim go to the thread pool together.
        body = await _read_all(receive)
        if body is None:
            return  # the client went away (or its body was refused as too large): nothing to do
        try:
            caller, claim, digest, claimed = await run_in_threadpool(
                self._claim, request, headers, key, body
            )
        except Exception as failure:
            await self._fail(request, failure, send)
            return
        if caller is None:
            # The application answers 401 or 403 itself.
            await self.app(scope, _replaying(body), send)
            return
        if claim is None:
            # Refused rather than ignored: the caller would believe its retries were safe.
            error = InvalidInstruction(
                f"the Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters",
                length=len(key),
            )
            response = renderer_for(request)(request, 422, error, error.message, [])
            await response(scope, _no_receive, send)
            return
        if not claimed:
            await self._replay(request, claim, digest, send)
            return
        if caller.app_key is None:
            await self._run(scope, body, send, claim)
            return
        with auth.app_key_checked(caller.app_key, caller.company_id):  # the route reads it once
            await self._run(scope, body, send, claim)

    def _claim(
        self, request: Request, headers: dict[bytes, bytes], key: str, body: bytes
    ) -> tuple[Caller | None, Claim | None, str, bool]:
        """Who calls, then (a sane key of a caller the application accepts) the key claimed:
        the caller, the claim, the request's digest and whether the key was this request's
        to claim. No claim for a caller the application will refuse, nor for a key too long
        or empty."""
        with self._one_connection():
            caller = self._caller_of(request, headers)
            if caller is None or not key or len(key) > MAX_KEY_LENGTH:
                return caller, None, "", False
            claim = Claim(caller.company_id, key, secrets.token_hex(16))
            digest = _digest(request.scope, headers, body, caller.subject)
            return caller, claim, digest, self._reserve(claim, digest)

    def _one_connection(self) -> AbstractContextManager[object]:
        """The look-ups of who calls and the claim on one pooled connection where each of
        their statements stands alone anyway (PostgreSQL's autocommit)."""
        factory = self.box.uow
        if isinstance(factory, SqlUnitOfWorkFactory):
            return factory.shared_single()
        return nullcontext()

    def _caller_of(self, request: Request, headers: dict[bytes, bytes]) -> Caller | None:
        """The verified caller's company (whose keys these are) and subject (part of the
        request: another caller reusing a key gets 422, never the first caller's answer); None
        when the application will refuse the caller."""
        path = request.url.path
        try:
            principal = resolve_principal(
                request, self.box, allow_basic=path.startswith(BASIC_PREFIX)
            )
        except Unauthorized:
            return None
        subject = f"{principal.kind.value}:{principal.subject}"
        if not path.startswith(ETNA_PREFIXES):
            return Caller(principal.company_id, subject, None)
        app_key = headers.get(b"et-app-key", b"").decode("latin-1") or None
        try:
            with self.box.uow(write=False, single=True) as uow:
                company_id = auth.check_app_key(uow, app_key)
        except Forbidden:
            return None
        if company_id != principal.company_id or app_key is None:
            return None
        return Caller(principal.company_id, subject, app_key)

    def _reserve(self, claim: Claim, digest: str) -> bool:
        now = self.box.clock.now()
        with self.box.uow(single=True) as uow:  # each statement of a claim stands alone
            claimed = uow.idempotency.reserve(
                claim.company_id, claim.key, digest, now, now + self.lease, claim.token
            )
            uow.commit()
        return claimed

    async def _fail(self, request: Request, error: Exception, send: Send) -> None:
        if not database_unavailable(error):
            raise error
        log.warning("database unavailable: %s", error)
        await unavailable_answer(request)(request.scope, _no_receive, send)

    async def _replay(self, request: Request, claim: Claim, digest: str, send: Send) -> None:
        with self.box.uow(write=False, single=True) as uow:
            stored = uow.idempotency.get(claim.company_id, claim.key)
        if stored is not None and stored.request_hash == digest and stored.state == "done":
            response = _stored_answer(request, stored)
        else:
            response = self._refusal(request, stored, digest)
        await response(request.scope, _no_receive, send)

    def _refusal(self, request: Request, stored: IdempotencyRecord | None, digest: str) -> Response:
        render = renderer_for(request)
        if stored is None or stored.request_hash != digest:
            error: AllotmentError = IdempotencyKeyReused(
                "this Idempotency-Key was used with a different request"
            )
            return render(request, status_for(error), error, error.message, [])
        now = self.box.clock.now()
        running = stored.leased_until is not None and stored.leased_until > now
        if running or stored.state != "booked":  # (or a retry took the key over just now)
            error = Conflict("a request with this Idempotency-Key is still being processed")
            left = (stored.leased_until or now) - now
            wait = int(left.total_seconds()) + 1
            return with_retry_after(render(request, 409, error, error.message, []), wait)
        error = Conflict(
            "the request with this Idempotency-Key was booked, but the server stopped before "
            "its answer was kept: look the booking up instead of sending it again",
            state=stored.state,
        )
        return render(request, 409, error, error.message, [])

    async def _run(self, scope: Scope, body: bytes, send: Send, claim: Claim) -> None:
        captured: dict[str, Any] = {"status": 500, "headers": [], "body": b""}

        async def capture(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = message.get("headers", [])
            elif message["type"] == "http.response.body":
                captured["body"] += message.get("body", b"")
            await send(message)

        # Created before the claim is held: the renewals' own commits mark nothing booked.
        renewal = asyncio.create_task(self._keep_leased(claim))
        try:
            with claims.holding(claim):
                await self.app(scope, _replaying(body), capture)
        finally:
            renewal.cancel()
            await run_in_threadpool(self._store, claim, captured)

    async def _keep_leased(self, claim: Claim) -> None:
        """Move the lease forward while the request runs (a third of the lease at a time)."""
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 3)
            try:
                await run_in_threadpool(self._renew, claim)
            except Exception as error:  # the next renewal may succeed; the lease is the net
                log.warning("could not renew the lease of an Idempotency-Key: %s", error)

    def _renew(self, claim: Claim) -> None:
        with self.box.uow(single=True) as uow:
            until = self.box.clock.now() + self.lease
            uow.idempotency.renew(claim.company_id, claim.key, claim.token, until)
            uow.commit()

    def _store(self, claim: Claim, captured: dict[str, Any]) -> None:
        status = int(captured["status"])
        headers = {name.lower(): value.decode("latin-1") for name, value in captured["headers"]}
        content_type, body = headers.get(b"content-type", ""), captured["body"]
        if "no-store" in headers.get(b"cache-control", ""):
            content_type, body = WITHHELD, b""
        try:
            with self.box.uow(single=status < 500) as uow:  # storing the answer: one statement
                if status >= 500:
                    uow.idempotency.release(claim.company_id, claim.key, claim.token)
                else:
                    uow.idempotency.complete(
                        claim.company_id, claim.key, status, content_type, body, claim.token
                    )
                uow.commit()
        except Exception as error:
            if not database_unavailable(error):
                raise
            # Its lease will pass: a retry then runs again, or learns that it was booked.
            log.warning("could not store the answer of an Idempotency-Key: %s", error)


@dataclass(frozen=True, slots=True)
class Caller:
    """Whose keys these are (the company), who asks (part of the request), and the ETNA app
    key that was checked for it (None off ETNA's paths)."""

    company_id: int
    subject: str
    app_key: str | None


def _stored_answer(request: Request, stored: IdempotencyRecord) -> Response:
    if stored.content_type == WITHHELD:
        error = Conflict(
            "this Idempotency-Key was used already; its answer carried a secret that is "
            "shown only once",
            status=stored.status_code,
        )
        return renderer_for(request)(request, 409, error, error.message, [])
    return Response(
        content=stored.body or b"",
        status_code=stored.status_code or 200,
        media_type=stored.content_type or None,
        headers={"Idempotent-Replayed": "true"},
    )


def _digest(scope: Scope, headers: dict[bytes, bytes], body: bytes, subject: str) -> str:
    """What makes two requests the same: the caller, the application key it came through, the
    method, path and query, how the body is written and read, and the body."""
    digest = hashlib.sha256()
    for part in (
        subject.encode(),
        headers.get(b"et-app-key", b""),
        scope["method"].encode(),
        scope["path"].encode(),
        scope.get("query_string", b""),
        headers.get(b"content-type", b""),
        headers.get(b"accept", b""),
        body,
    ):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


async def _read_all(receive: Receive) -> bytes | None:
    """The whole body, or None when the client disconnected before sending all of it."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replaying(body: bytes) -> Receive:
    """The body read already, as the application reads it: once, then a disconnect."""
    delivered = False

    async def replay_body() -> Message:
        nonlocal delivered
        if delivered:
            return {"type": "http.disconnect"}
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay_body


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}
