"""Token endpoints: ETNA's `POST /token` (headers) and OAuth2 client credentials at
`POST /connect/token` (a form; the client authenticates by HTTP Basic or form fields). Both
issue the same signed tokens, accepted by every dialect.

Each endpoint answers its errors in its own shape, whatever goes wrong (a missing form field,
an oversized body): ETNA's `{"error": ...}` and RFC 6749 §5.2's `{"error", "error_description"}`.
Answers that carry a token are marked `Cache-Control: no-store` (RFC 6749 §5.1), which also
keeps them out of the idempotency store.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import unquote_plus

from fastapi import APIRouter, Form, Header, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from allotment.domain.errors import Forbidden, Unauthorized
from allotment.entrypoints.http import errors
from allotment.entrypoints.http.deps import ContainerDep, basic_credentials
from allotment.services import auth

router = APIRouter()
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class EtnaToken(BaseModel):
    State: str = Field(examples=["Succeeded"])
    Token: str


class EtnaError(BaseModel):
    error: str = Field(examples=["Invalid username or password"])


class OAuthError(BaseModel):
    error: str = Field(examples=["invalid_client"])
    error_description: str


def etna_token_error(
    request: Request, status: int, error: BaseException | None, detail: str, fields: list[Any]
) -> Response:
    return JSONResponse({"error": detail}, status_code=status)


OAUTH_ERRORS = {400: "invalid_request", 401: "invalid_client"}


def oauth_error(
    request: Request, status: int, error: BaseException | None, detail: str, fields: list[Any]
) -> Response:
    """RFC 6749 §5.2: a request the endpoint cannot read (missing or repeated parameter) is an
    `invalid_request` with 400, not a validation problem."""
    if status == 422:
        detail = "; ".join(f"{f['field']}: {f['message']}" for f in fields) or detail
        status = 400
    code = OAUTH_ERRORS.get(status, "server_error" if status >= 500 else "invalid_request")
    return _oauth_error(code, status, detail)


def _oauth_error(error: str, status: int, description: str) -> JSONResponse:
    headers = {**NO_STORE, "WWW-Authenticate": "Basic"} if status == 401 else NO_STORE
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status, headers=headers
    )


errors.register_renderer("/token", etna_token_error)
errors.register_renderer("/connect/token", oauth_error)


def _etna_token(
    box: ContainerDep, username: str | None, password: str | None, app_key: str | None
) -> Any:
    now = box.clock.now()
    with box.uow(write=False) as uow:
        try:
            company_id = auth.check_app_key(uow, app_key)
        except Forbidden as error:
            return JSONResponse({"error": error.message}, status_code=403)
        if not username or password is None:
            return JSONResponse(
                {"error": "Username and Password headers are required"}, status_code=401
            )
        try:
            issued = auth.login_user(
                uow, box.hasher, box.tokens, username, password, now, company_id
            )
        except Unauthorized:
            return JSONResponse({"error": "Invalid username or password"}, status_code=401)
    return JSONResponse({"State": "Succeeded", "Token": issued.token}, headers=NO_STORE)


@router.post(
    "/token",
    tags=["ETNA dialect"],
    response_model=EtnaToken,
    responses={
        401: {"model": EtnaError, "description": "Wrong or missing username or password"},
        403: {"model": EtnaError, "description": "Missing or unknown Et-App-Key"},
        409: {"model": EtnaError, "description": "Idempotency-Key still in use"},
        413: {"model": EtnaError, "description": "Body too large"},
    },
)
def etna_token(
    box: ContainerDep,
    username: Annotated[str | None, Header(alias="Username")] = None,
    password: Annotated[str | None, Header(alias="Password")] = None,
    app_key: Annotated[str | None, Header(alias="Et-App-Key")] = None,
) -> Any:
    """ETNA Trader's token request: headers Username, Password and Et-App-Key; the token lives
    24 hours."""
    return _etna_token(box, username, password, app_key)


@router.post(
    "/v1.0/token", tags=["ETNA dialect"], response_model=EtnaToken, include_in_schema=False
)
def etna_token_versioned(
    box: ContainerDep,
    username: Annotated[str | None, Header(alias="Username")] = None,
    password: Annotated[str | None, Header(alias="Password")] = None,
    app_key: Annotated[str | None, Header(alias="Et-App-Key")] = None,
) -> Any:
    return _etna_token(box, username, password, app_key)


class OAuthToken(BaseModel):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int
    scope: str


@router.post(
    "/connect/token",
    tags=["Tokens"],
    response_model=OAuthToken,
    responses={
        400: {
            "model": OAuthError,
            "description": "invalid_request, unsupported_grant_type or invalid_scope",
        },
        401: {"model": OAuthError, "description": "invalid_client"},
        409: {"model": OAuthError, "description": "Idempotency-Key still in use"},
        413: {"model": OAuthError, "description": "Body too large"},
    },
)
def connect_token(
    request: Request,
    box: ContainerDep,
    grant_type: Annotated[str, Form()],
    client_id: Annotated[str | None, Form()] = None,
    client_secret: Annotated[str | None, Form()] = None,
    scope: Annotated[str | None, Form()] = None,
) -> Any:
    """OAuth2 client credentials (RFC 6749 §4.4): tokens live 1200 seconds. The client
    authenticates with HTTP Basic (§2.3.1, as Swagger UI's Authorize button sends it) or with
    `client_id` and `client_secret` in the form, never both."""
    if grant_type != "client_credentials":
        return _oauth_error("unsupported_grant_type", 400, "only client_credentials is supported")
    try:
        credentials = _client_credentials(request, client_id, client_secret)
    except Unauthorized as error:
        return _oauth_error("invalid_client", 401, error.message)
    if isinstance(credentials, str):
        return _oauth_error("invalid_request", 400, credentials)
    with box.uow(write=False) as uow:
        try:
            issued = auth.client_credentials(
                uow, box.hasher, box.tokens, *credentials, scope, box.clock.now()
            )
        except Unauthorized:
            return _oauth_error("invalid_client", 401, "unknown client or wrong secret")
        except Forbidden:
            return _oauth_error(
                "invalid_scope", 400, "a requested scope is not granted to this client"
            )
    token = OAuthToken(
        access_token=issued.token,
        expires_in=issued.expires_in_seconds,
        scope=" ".join(sorted(scope.value for scope in issued.scopes)),
    )
    return JSONResponse(token.model_dump(), headers=NO_STORE)


def _client_credentials(
    request: Request, client_id: str | None, client_secret: str | None
) -> tuple[str, str] | str:
    """The client's id and secret, or what is wrong with the request (RFC 6749 §2.3.1: the
    Basic user and password are form-urlencoded; one method of authentication only)."""
    basic = basic_credentials(request)
    if basic is not None:
        if client_id is not None or client_secret is not None:
            return "send the client's credentials in the Authorization header or the form, not both"
        return unquote_plus(basic[0]), unquote_plus(basic[1])
    if client_id is None or client_secret is None:
        return "client_id: Field required" if client_id is None else "client_secret: Field required"
    return client_id, client_secret
