"""FastAPI dependencies: the container, authentication and the per-request service context."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import (
    HTTPAuthorizationCredentials,
    HTTPBasic,
    HTTPBasicCredentials,
    HTTPBearer,
)
from starlette.concurrency import run_in_threadpool

from allotment.bootstrap import Container
from allotment.domain.errors import Forbidden, Unauthorized
from allotment.domain.identity import Principal, Scope
from allotment.services import auth
from allotment.services.context import Context


async def container(request: Request) -> Container:
    """Async: nothing to wait for, so not a trip to the thread pool (decision 0052)."""
    found: Container = request.app.state.container
    return found


ContainerDep = Annotated[Container, Depends(container)]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as error:
        raise Unauthorized("malformed basic credentials") from error
    username, sep, password = decoded.partition(":")
    if not sep:
        raise Unauthorized("malformed basic credentials")
    return username, password


def resolve_principal(request: Request, box: Container, *, allow_basic: bool = False) -> Principal:
    """The verified caller, once per request: the answer (or the refusal) is kept on the
    request, so that the idempotency middleware, which authenticates before it claims a key,
    and the route verify a password once between them."""
    known = known_principal(request, allow_basic=allow_basic)
    if known is not None:
        return known
    basic = bearer_token(request) is None
    try:
        principal = _verified_principal(request, box, allow_basic=allow_basic)
    except Unauthorized as error:
        if allow_basic or not basic:
            request.state.auth_refused = error
        raise
    request.state.principal = principal
    return principal


def known_principal(request: Request, *, allow_basic: bool = False) -> Principal | None:
    """The caller this request verified already (the refusal raised again), or None when it
    is still to be verified: what `resolve_principal` answers without the database."""
    basic = bearer_token(request) is None
    refused = getattr(request.state, "auth_refused", None)
    if isinstance(refused, Unauthorized) and (allow_basic or not basic):
        raise refused
    cached = getattr(request.state, "principal", None)
    if isinstance(cached, Principal) and (allow_basic or not basic):
        return cached
    return None


def _verified_principal(request: Request, box: Container, *, allow_basic: bool) -> Principal:
    token = bearer_token(request)
    # One look-up (of the user or API client), no transaction around it.
    with box.uow(write=False, single=True) as uow:
        if token is not None:
            return auth.principal_from_token(uow, box.tokens, token)
        credentials = basic_credentials(request) if allow_basic else None
        if credentials is None:
            raise Unauthorized("authentication is required")
        return auth.principal_from_basic(uow, box.hasher, *credentials)


def principal(request: Request, box: ContainerDep) -> Principal:
    return resolve_principal(request, box)


PrincipalDep = Annotated[Principal, Depends(principal)]


BEARER = HTTPBearer(
    auto_error=False,
    description="A token from `POST /api/v1/auth/token`, `POST /token` or `POST /connect/token`.",
)
BASIC = HTTPBasic(auto_error=False, description="A user's username and password.")
"""Declared for the OpenAPI document (Swagger UI's Authorize button); the checks are ours."""
BearerDeclared = Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]
BasicDeclared = Annotated[HTTPBasicCredentials | None, Depends(BASIC)]


def context_for(dialect: str, *, allow_basic: bool = False) -> Callable[..., Awaitable[Context]]:
    """A dependency that authenticates the caller and builds the service context."""

    async def dependency(request: Request, box: ContainerDep, _bearer: BearerDeclared) -> Context:
        # A caller verified already (a keyed write's) needs no trip to the thread pool.
        found = known_principal(request, allow_basic=allow_basic)
        if found is None:
            found = await run_in_threadpool(
                resolve_principal, request, box, allow_basic=allow_basic
            )
        return Context(principal=found, dialect=dialect, now=box.clock.now())

    async def with_basic(
        request: Request, box: ContainerDep, _bearer: BearerDeclared, _basic: BasicDeclared
    ) -> Context:
        return await dependency(request, box, _bearer)

    return with_basic if allow_basic else dependency


def require_scope(ctx: Context, scope: Scope) -> None:
    if not ctx.principal.has(scope):
        raise Forbidden(f"this needs the {scope.value} scope")


NativeContext = Annotated[Context, Depends(context_for("native"))]
