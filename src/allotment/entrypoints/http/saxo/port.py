"""Saxo's portfolio service on who calls: the user (`/port/v1/users/me`, `/users/{UserKey}`) and
the client (`/port/v1/clients/me`, `/clients/{ClientKey}`), in Saxo's shapes. Saxo's samples
ask for both, with the keys of the token's `uid` and `cid` claims, before anything else."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request

from allotment.bootstrap import Container
from allotment.domain.errors import Unauthorized
from allotment.entrypoints.http.deps import ContainerDep, bearer_token, context_for
from allotment.entrypoints.http.saxo import docs
from allotment.entrypoints.http.saxo.wire import SaxoJSON, utc_text
from allotment.services.context import Context
from allotment.services.saxo import identity as saxo_identity

SaxoContext = Annotated[Context, Depends(context_for("saxo"))]
SAXO: list[str | Enum] = ["Saxo"]
CULTURE = "en-GB"
LANGUAGE = "en"
"""allotment keeps no locale per user: every user reads English (documented)."""

router = APIRouter(prefix="/port/v1", tags=SAXO)


@router.get(
    "/users/me",
    response_class=SaxoJSON,
    response_model=docs.UserView,
    responses=docs.responses(200, docs.UserView, "The caller", 401, 403, write=False),
)
def user_me(request: Request, ctx: SaxoContext, box: ContainerDep) -> SaxoJSON:
    """The calling user (or API client): its UserKey, its ClientKey (the company as Saxo's
    master client), the time of the login that issued this token."""
    return _user(request, ctx, box, saxo_identity.ME)


@router.get(
    "/users/{UserKey}",
    response_class=SaxoJSON,
    response_model=docs.UserView,
    responses=docs.responses(200, docs.UserView, "The user", 401, 403, 404, write=False),
)
def user_by_key(
    request: Request,
    ctx: SaxoContext,
    box: ContainerDep,
    UserKey: Annotated[str, Path(description="The token's `uid`; another user needs admin.")],
) -> SaxoJSON:
    """A user by its UserKey: the caller itself, or with the admin scope another user of the
    company."""
    return _user(request, ctx, box, UserKey)


def _user(request: Request, ctx: Context, box: Container, user_key: str) -> SaxoJSON:
    with box.uow(write=False) as uow:
        user = saxo_identity.user_details(uow, ctx, user_key)
    view: dict[str, Any] = {
        "ClientKey": user.client_key,
        "Culture": CULTURE,
        "Language": LANGUAGE,
        "LegalAssetTypes": list(user.legal_asset_types),
        "MarketDataViaOpenApiTermsAccepted": False,
        "Name": user.name,
        "UserId": user.user_id,
        "UserKey": user.user_key,
    }
    login = _login_time(request, box) if user.user_key == saxo_identity.user_key_of(ctx) else None
    if login is not None:
        view |= {"LastLoginStatus": "Successful", "LastLoginTime": utc_text(login)}
    return SaxoJSON(dict(sorted(view.items())))


def _login_time(request: Request, box: Container) -> datetime | None:
    """When the caller's token was issued: its successful login."""
    token = bearer_token(request)
    if token is None:
        return None
    try:
        issued = box.tokens.decode(token).extra.get("issued_at")
    except Unauthorized:
        return None
    return issued if isinstance(issued, datetime) else None


@router.get(
    "/clients/me",
    response_class=SaxoJSON,
    response_model=docs.ClientView,
    responses=docs.responses(200, docs.ClientView, "The caller's client", 401, 403, write=False),
)
def client_me(ctx: SaxoContext, box: ContainerDep) -> SaxoJSON:
    """The caller's client: the company as Saxo's master client, its default account the
    company's first open block trading account."""
    return _client(ctx, box, saxo_identity.ME)


@router.get(
    "/clients/{ClientKey}",
    response_class=SaxoJSON,
    response_model=docs.ClientView,
    responses=docs.responses(200, docs.ClientView, "The client", 401, 403, 404, write=False),
)
def client_by_key(
    ctx: SaxoContext,
    box: ContainerDep,
    ClientKey: Annotated[str, Path(description="The token's `cid`, or a sub-client's key.")],
) -> SaxoJSON:
    """A client by its ClientKey: the master client (the token's `cid`) or one of its
    sub-clients the caller may act for."""
    return _client(ctx, box, ClientKey)


def _client(ctx: Context, box: Container, client_key: str) -> SaxoJSON:
    with box.uow(write=False) as uow:
        client = saxo_identity.client_details(uow, ctx, client_key)
    account = client.default_account
    view: dict[str, Any] = {
        "ClientId": client.client_id,
        "ClientKey": client.client_key,
        "CurrencyDecimals": 2,
        "DefaultAccountId": account.id if account is not None else None,
        "DefaultAccountKey": account.account_key if account is not None else None,
        "DefaultCurrency": client.currency,
        "IsMarginTradingAllowed": client.margin_trading_allowed,
        "LegalAssetTypes": list(client.legal_asset_types),
        "Name": client.name,
    }
    return SaxoJSON({name: value for name, value in view.items() if value is not None})
