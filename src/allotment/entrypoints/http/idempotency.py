"""Idempotent writes: an `Idempotency-Key` header on any POST/PUT/PATCH/DELETE.

The key is claimed (per company) before the request runs; the answer is stored when it ends.
The same key with the same request replays the stored answer and books nothing new; with a
different request it is refused (422). A key whose first request is still running answers 409.
A 5xx answer releases the key, so that the client may try again. An answer marked
`Cache-Control: no-store` (a token, a new API client's secret) is never kept: the key is
recorded as used, and a replay answers 409 instead of showing the secret a second time.
"""

from __future__ import annotations

import hashlib
from collections.abc import MutableMapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from allotment.bootstrap import Container
from allotment.domain.errors import (
    Conflict,
    IdempotencyKeyReused,
    InvalidInstruction,
    Unauthorized,
)
from allotment.entrypoints.http.deps import basic_credentials, bearer_token
from allotment.entrypoints.http.errors import renderer_for, status_for

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
MAX_KEY_LENGTH = 200
WITHHELD = "application/x-allotment-withheld"
"""Stored in place of the content type of an answer that was not kept."""


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, container: Container) -> None:
        self.app = app
        self.box = container

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITE_METHODS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        raw_key = headers.get(b"idempotency-key")
        if raw_key is None:
            await self.app(scope, receive, send)
            return
        key = raw_key.decode("latin-1").strip()
        request = Request(scope)
        caller = self._caller_of(request)
        if caller is None:
            await self.app(scope, receive, send)  # the application answers 401 itself
            return
        if not key or len(key) > MAX_KEY_LENGTH:
            # Refused rather than ignored: the caller would believe its retries were safe.
            error = InvalidInstruction(
                f"the Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters",
                length=len(key),
            )
            response = renderer_for(request.url.path)(request, 422, error, error.message, [])
            await response(scope, _no_receive, send)
            return
        company_id, subject = caller
        body = await _read_all(receive)
        if body is None:
            return  # the client went away (or its body was refused as too large): nothing to do
        digest = _digest(scope, headers, body, subject)
        with self.box.uow() as uow:
            claimed = uow.idempotency.reserve(company_id, key, digest, self.box.clock.now())
            uow.commit()
        if not claimed:
            await self._replay(request, company_id, key, digest, scope, send)
            return
        await self._run(scope, body, send, company_id, key)

    def _caller_of(self, request: Request) -> tuple[int, str] | None:
        """The company (whose keys these are) and the subject (part of the request: another
        caller reusing a key gets 422, never the first caller's answer)."""
        try:
            token = bearer_token(request)
            if token is not None:
                claims = self.box.tokens.decode(token)
                return claims.company_id, f"{claims.kind}:{claims.subject}"
            credentials = basic_credentials(request)
        except Unauthorized:
            return None
        if credentials is None:
            return None
        with self.box.uow(write=False) as uow:
            user = uow.identity.user_by_username(credentials[0])
        return (user.company_id, f"user:{user.username}") if user else None

    async def _replay(
        self, request: Request, company_id: int, key: str, digest: str, scope: Scope, send: Send
    ) -> None:
        with self.box.uow(write=False) as uow:
            stored = uow.idempotency.get(company_id, key)
        if stored is None or stored.request_hash != digest:
            error: Exception = IdempotencyKeyReused(
                "this Idempotency-Key was used with a different request"
            )
            response = renderer_for(request.url.path)(
                request, status_for(error), error, str(error), []
            )
        elif stored.state != "done" or stored.status_code is None:
            error = Conflict("a request with this Idempotency-Key is still being processed")
            response = renderer_for(request.url.path)(request, 409, error, str(error), [])
        elif stored.content_type == WITHHELD:
            error = Conflict(
                "this Idempotency-Key was used already; its answer carried a secret that is "
                "shown only once",
                status=stored.status_code,
            )
            response = renderer_for(request.url.path)(request, 409, error, error.message, [])
        else:
            response = Response(
                content=stored.body or b"",
                status_code=stored.status_code,
                media_type=stored.content_type or None,
                headers={"Idempotent-Replayed": "true"},
            )
        await response(scope, _no_receive, send)

    async def _run(self, scope: Scope, body: bytes, send: Send, company_id: int, key: str) -> None:
        captured: dict[str, Any] = {"status": 500, "headers": [], "body": b""}
        delivered = False

        async def replay_body() -> Message:
            nonlocal delivered
            if delivered:
                return {"type": "http.disconnect"}
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def capture(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = message.get("headers", [])
            elif message["type"] == "http.response.body":
                captured["body"] += message.get("body", b"")
            await send(message)

        try:
            await self.app(scope, replay_body, capture)
        finally:
            self._store(company_id, key, captured)

    def _store(self, company_id: int, key: str, captured: dict[str, Any]) -> None:
        status = int(captured["status"])
        headers = {name.lower(): value.decode("latin-1") for name, value in captured["headers"]}
        content_type, body = headers.get(b"content-type", ""), captured["body"]
        if "no-store" in headers.get(b"cache-control", ""):
            content_type, body = WITHHELD, b""
        with self.box.uow() as uow:
            if status >= 500:
                uow.idempotency.release(company_id, key)
            else:
                uow.idempotency.complete(company_id, key, status, content_type, body)
            uow.commit()


def _digest(scope: Scope, headers: dict[bytes, bytes], body: bytes, subject: str) -> str:
    digest = hashlib.sha256()
    for part in (
        subject.encode(),
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


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}
