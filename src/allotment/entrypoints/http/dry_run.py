"""`?dryRun=true` on any POST, PUT, PATCH or DELETE, in every dialect (decision 0032).

The request runs for real, on one database transaction that is rolled back at its end
(`adapters/database/dryrun.py`): it answers what the real request would answer (status, body,
per-item codes, fees, the split) with a `Dry-Run: true` header, and keeps nothing. It claims no
Idempotency-Key (the idempotency middleware lets it through). Once its transaction is gone, one
audit event marked as a dry run says who asked, the status and what the request would have
recorded. `dryRun=false` is the real request; any other value is refused in the dialect's error
shape, and so is a dry run of a login (a token issued is not a booking that can be undone).
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from allotment.adapters.database import dryrun
from allotment.bootstrap import Container
from allotment.domain.errors import InvalidInstruction
from allotment.domain.identity import Principal
from allotment.entrypoints.http.errors import renderer_for, status_for
from allotment.entrypoints.http.throttle import TOKEN_PATHS
from allotment.services.ports import AuditEvent

log = logging.getLogger("allotment.dry_run")

PARAMETER = "dryRun"
HEADER = "Dry-Run"
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
ACTION = "dry_run"
DIALECTS = (
    ("/api/orders/blockTrade/", "blocktrade"),
    ("/book-building/", "bookbuilding"),
    ("/connect/", "bookbuilding"),
    ("/api/", "native"),
    ("/trade/", "saxo"),
    ("/port/", "saxo"),
    ("/openapi/", "saxo"),
    ("/v", "etna"),
)
"""The dialect a dry run that recorded nothing else is audited under (the first prefix)."""
DESCRIPTION = (
    "`true` runs the request without keeping anything: the same answer as the real request, "
    "with a `Dry-Run: true` header; nothing is booked and no Idempotency-Key is claimed."
)


class DryRunMiddleware:
    def __init__(self, app: ASGIApp, container: Container) -> None:
        self.app = app
        self.box = container

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITE_METHODS:
            await self.app(scope, receive, send)
            return
        pairs = parse_qsl(scope.get("query_string", b"").decode("latin-1"), True)
        values = [value for name, value in pairs if name == PARAMETER]
        if not values:
            await self.app(scope, receive, send)
            return
        wanted = _flag(values)
        refusal = _refusal(scope, wanted)
        if refusal is not None:
            await _refuse(scope, send, refusal)
            return
        scope = {**scope, "query_string": _without_parameter(scope.get("query_string", b""))}
        if not wanted:
            await self.app(scope, receive, send)
            return
        answered: dict[str, int] = {}

        async def marked(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                answered["status"] = message["status"]
                headers = [*message.get("headers", []), (HEADER.lower().encode(), b"true")]
                message = {**message, "headers": headers}
            await send(message)

        if dryrun.current() is not None:  # an embedded request of a batch run dry already
            await self.app(scope, receive, marked)
            return
        with dryrun.running() as dry:
            try:
                await self.app(scope, receive, marked)
            finally:
                await run_in_threadpool(dry.end)
        await run_in_threadpool(self._record, scope, dry, answered.get("status", 500))

    def _record(self, scope: Scope, dry: dryrun.DryRun, status: int) -> None:
        """One audit event for the dry run, in its own transaction (none for an unknown
        caller, whom the real request would not have audited either)."""
        event = _event(scope, dry.noted, self.box.clock.now(), status)
        if event is None:
            return
        try:
            with self.box.uow() as uow:
                uow.audit.add(event)
                uow.commit()
        except Exception as error:  # the answer is sent already: say so, do not fail it
            log.warning("could not record the audit event of a dry run: %s", error)


def _without_parameter(query: bytes) -> bytes:
    """The query string as sent, but for `dryRun`: the route sees the real request's query."""
    kept = [part for part in query.split(b"&") if _name(part) != PARAMETER]
    return b"&".join(kept)


def _name(part: bytes) -> str:
    return unquote_plus(part.split(b"=", 1)[0].decode("latin-1"))


def _flag(values: list[str]) -> bool | None:
    """True or False for one value spelled `true` or `false` (in any case); None otherwise."""
    if len(values) != 1 or values[0].lower() not in ("true", "false"):
        return None
    return values[0].lower() == "true"


def _refusal(scope: Scope, wanted: bool | None) -> InvalidInstruction | None:
    if wanted is None:
        return InvalidInstruction(
            f"{PARAMETER} must be given once, as true or false", field=PARAMETER
        )
    if wanted and scope["path"].rstrip("/") in TOKEN_PATHS:
        return InvalidInstruction(
            "a login cannot be dry run: a token issued cannot be taken back", field=PARAMETER
        )
    return None


async def _refuse(scope: Scope, send: Send, error: InvalidInstruction) -> None:
    request = Request(scope)
    response = renderer_for(request)(
        request,
        status_for(error),
        error,
        error.message,
        [{"field": PARAMETER, "message": error.message}],
    )
    await response(scope, _no_receive, send)


def _event(scope: Scope, noted: list[AuditEvent], now: Any, status: int) -> AuditEvent | None:
    principal = scope.get("state", {}).get("principal")
    first = noted[0] if noted else None
    if first is None and not isinstance(principal, Principal):
        return None
    path: str = scope["path"]
    would = [
        {"action": e.action, "object_type": e.object_type, "object_id": e.object_id}
        for e in noted[:100]
    ]
    return AuditEvent(
        company_id=first.company_id if first else principal.company_id,
        at=now,
        actor=first.actor if first else principal.subject,
        actor_kind=first.actor_kind if first else principal.kind.value,
        action=ACTION,
        object_type="request",
        object_id=f"{scope['method']} {path}"[:100],
        dialect=first.dialect if first else _dialect(path),
        after={"dry_run": True, "status": status, "would_record": would, "events": len(noted)},
    )


def _dialect(path: str) -> str:
    return next((dialect for prefix, dialect in DIALECTS if path.startswith(prefix)), "native")


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}
