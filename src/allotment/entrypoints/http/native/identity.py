"""Native API: log in, and the company's users, API clients and app keys (admin scope)."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from allotment.adapters.one_time_codes import TotpCodes
from allotment.domain.errors import NotFound
from allotment.domain.identity import Scope
from allotment.entrypoints.http.deps import ContainerDep, NativeContext
from allotment.entrypoints.http.native.identity_schemas import (
    ApiClientCreated,
    ApiClientIn,
    ApiClientOut,
    AppKeyIn,
    AppKeyOut,
    LoginIn,
    TokenOut,
    TwoFactorOut,
    UserIn,
    UserOut,
)
from allotment.entrypoints.http.native.schemas import IdPath
from allotment.services import auth, registry, two_factor
from allotment.services.ports import ApiClientRecord, AppKeyRecord, UserRecord

router = APIRouter(prefix="/api/v1", tags=["Identity"])


ONE_TIME_CODES = TotpCodes()
NO_STORE = "no-store"
"""Answers that carry a token or a secret are never cached, nor kept for idempotent replay."""


@router.post("/auth/token", response_model=TokenOut)
def login(body: LoginIn, box: ContainerDep, response: Response) -> TokenOut:
    """A user's token from username and password (the CLI and the web page use this), and the
    verification code of a user with two-factor authentication."""
    response.headers["Cache-Control"] = NO_STORE
    now = box.clock.now()
    with box.uow(write=False) as uow:
        issued = auth.login_user(
            uow, box.hasher, box.tokens, body.username, body.password, now,
            codes=ONE_TIME_CODES, verification_code=body.verification_code,
        )  # fmt: skip
    if isinstance(issued, auth.CodeMatched):
        with box.uow() as uow:  # a writer only to record the code as used
            issued = auth.finish_login(uow, box.tokens, issued, now)
            uow.commit()
    return TokenOut(access_token=issued.token, expires_in=issued.expires_in_seconds)


def _user(user: UserRecord) -> UserOut:
    assert user.id is not None
    return UserOut(
        id=user.id,
        username=user.username,
        scopes=sorted(user.scopes),
        client_ids=sorted(user.client_ids) if user.client_ids is not None else None,
        active=user.active,
        two_factor=user.two_factor_secret is not None,
    )


@router.post("/users", response_model=UserOut, status_code=status.HTTP_201_CREATED)
def create_user(body: UserIn, ctx: NativeContext, box: ContainerDep) -> UserOut:
    """A new user of the company, with its scopes and the clients it may act for (admin)."""
    with box.uow() as uow:
        user = registry.create_user(
            uow, ctx, box.hasher, body.username, body.password, body.scopes, body.client_ids
        )
        uow.commit()
    return _user(user)


@router.get("/users", response_model=list[UserOut])
def list_users(ctx: NativeContext, box: ContainerDep) -> list[UserOut]:
    """The company's users (admin)."""
    ctx.require(Scope.ADMIN)
    with box.uow(write=False) as uow:
        return [_user(user) for user in uow.identity.users(ctx.company_id)]


@router.get("/users/{user_id}", response_model=UserOut)
def get_user(user_id: IdPath, ctx: NativeContext, box: ContainerDep) -> UserOut:
    """One user of the company (admin)."""
    ctx.require(Scope.ADMIN)
    with box.uow(write=False) as uow:
        user = uow.identity.user(ctx.company_id, user_id)
    if user is None:
        raise NotFound(f"user {user_id} does not exist")
    return _user(user)


@router.post(
    "/users/{user_id}/two-factor",
    response_model=TwoFactorOut,
    status_code=status.HTTP_201_CREATED,
)
def enrol_two_factor(
    user_id: IdPath, ctx: NativeContext, box: ContainerDep, response: Response
) -> TwoFactorOut:
    """Turn on two-factor authentication (an admin for any user, a user for itself): the
    answer carries the new secret, once (it is never shown again); from now on the user's
    logins need the code its authenticator app makes of it. Again: a new secret."""
    response.headers["Cache-Control"] = NO_STORE
    with box.uow() as uow:
        enrolment = two_factor.enrol(uow, ctx, ONE_TIME_CODES, user_id)
        uow.commit()
    return TwoFactorOut(secret=enrolment.secret, provisioning_uri=enrolment.provisioning_uri)


@router.delete("/users/{user_id}/two-factor", status_code=status.HTTP_204_NO_CONTENT)
def disable_two_factor(user_id: IdPath, ctx: NativeContext, box: ContainerDep) -> Response:
    """Turn off two-factor authentication (an admin for any user, a user for itself)."""
    with box.uow() as uow:
        two_factor.disable(uow, ctx, user_id)
        uow.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _client(record: ApiClientRecord) -> ApiClientOut:
    return ApiClientOut(
        client_id=record.client_id,
        name=record.name,
        scopes=sorted(record.scopes),
        active=record.active,
    )


@router.post("/api-clients", response_model=ApiClientCreated, status_code=status.HTTP_201_CREATED)
def create_api_client(
    body: ApiClientIn, ctx: NativeContext, box: ContainerDep, response: Response
) -> ApiClientCreated:
    """A new API client; its secret is in this answer only (stored hashed, never shown again)."""
    response.headers["Cache-Control"] = NO_STORE
    with box.uow() as uow:
        record, secret = registry.create_api_client(uow, ctx, box.hasher, body.name, body.scopes)
        uow.commit()
    return ApiClientCreated(**_client(record).model_dump(), client_secret=secret)


@router.get("/api-clients", response_model=list[ApiClientOut])
def list_api_clients(ctx: NativeContext, box: ContainerDep) -> list[ApiClientOut]:
    """The company's API clients, without their secrets (admin)."""
    ctx.require(Scope.ADMIN)
    with box.uow(write=False) as uow:
        return [_client(record) for record in uow.identity.api_clients(ctx.company_id)]


def _key(record: AppKeyRecord) -> AppKeyOut:
    assert record.id is not None
    return AppKeyOut(id=record.id, key=record.key, name=record.name, active=record.active)


@router.post("/app-keys", response_model=AppKeyOut, status_code=status.HTTP_201_CREATED)
def create_app_key(body: AppKeyIn, ctx: NativeContext, box: ContainerDep) -> AppKeyOut:
    """A new ETNA application key for the company (admin)."""
    with box.uow() as uow:
        record = registry.create_app_key(uow, ctx, body.name)
        uow.commit()
    return _key(record)


@router.get("/app-keys", response_model=list[AppKeyOut])
def list_app_keys(ctx: NativeContext, box: ContainerDep) -> list[AppKeyOut]:
    """The company's ETNA application keys (admin)."""
    ctx.require(Scope.ADMIN)
    with box.uow(write=False) as uow:
        return [_key(record) for record in uow.identity.app_keys(ctx.company_id)]
