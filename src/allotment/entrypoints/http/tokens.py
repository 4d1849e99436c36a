"""Token endpoints: ETNA's `POST /token` (headers) and OAuth2 client credentials at
`POST /connect/token` (a form; the client authenticates by HTTP Basic or form fields). Both
issue the same signed tokens, accepted by every dialect.

Each endpoint answers its errors in its own shape, whatever goes wrong (a missing form field,
an oversized body): ETNA's `{"error": ...}` (and its `{"State": "Failed", ...}` for a refused
login) and RFC 6749 §5.2's `{"error", "error_description"}`.
Answers that carry a token are marked `Cache-Control: no-store` (RFC 6749 §5.1), which also
keeps them out of the idempotency store.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Header, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from allotment.adapters.one_time_codes import TotpCodes
from allotment.domain.errors import Forbidden, Unauthorized
from allotment.entrypoints.http import errors, oauth_clients
from allotment.entrypoints.http.deps import ContainerDep
from allotment.services import auth

router = APIRouter()
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class EtnaToken(BaseModel):
    State: str = Field(examples=["Succeeded"])
    Token: str


class EtnaExpecting(BaseModel):
    Step: str = Field(examples=["VerificationCode"])
    Reason: str = Field(examples=["Expecting confirmation code"])
    State: str = Field(examples=["Expecting"])
    Token: str = Field(description="The interim token: send it back as Authorization: Bearer")


class EtnaFailed(BaseModel):
    State: str = Field(examples=["Failed"])
    Step: str = Field(examples=["BaseAuthentication"])
    Reason: str = Field(examples=["Invalid credentials"])


class EtnaError(BaseModel):
    error: str = Field(examples=["Application key is not defined or does not exist"])


class OAuthError(BaseModel):
    error: str = Field(examples=["invalid_client"])
    error_description: str


def etna_token_error(
    request: Request, status: int, error: BaseException | None, detail: str, fields: list[Any]
) -> Response:
    if status == 401:
        return _etna_failed(auth.LoginFailed("BaseAuthentication", "Invalid credentials"))
    if status == 429:  # a throttled login is a refused login: the same Failed state
        return _etna_failed(auth.LoginFailed("BaseAuthentication", detail), status)
    return JSONResponse({"error": detail}, status_code=status)


def _etna_failed(error: auth.LoginFailed, status: int = 401) -> JSONResponse:
    """ETNA's `Failed` state, 401 (its gitbook: wrong or missing credentials answer
    `{"State": "Failed", "Step": "BaseAuthentication", "Reason": "Invalid credentials"}`)."""
    body = {"State": "Failed", "Step": error.step, "Reason": error.reason}
    return JSONResponse(body, status_code=status, headers=NO_STORE)


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


RENDERERS: tuple[tuple[str, errors.Renderer], ...] = (
    ("/token", etna_token_error),
    ("/v1.0/token", etna_token_error),  # the same endpoint, versioned
    ("/connect/token", oauth_error),
)
"""The error renderers of the token endpoints, by path prefix."""


ONE_TIME_CODES = TotpCodes()


def _etna_token(
    box: ContainerDep,
    credentials: tuple[str | None, str | None],
    app_key: str | None,
    authorization: str | None,
    verification_code: str | None,
) -> Any:
    username, password = credentials
    ticket = authorization.partition(" ")[2].strip() if authorization else None
    now = box.clock.now()
    try:
        with box.uow(write=False) as uow:
            try:
                company_id = auth.check_app_key(uow, app_key)
            except Forbidden as error:
                return JSONResponse({"error": error.message}, status_code=403)
            if not username or password is None:
                raise auth.LoginFailed("BaseAuthentication", "Invalid credentials")
            step = auth.login_in_steps(
                uow, box.hasher, box.tokens, ONE_TIME_CODES, (username, password), now,
                company_id, ticket, verification_code,
            )  # fmt: skip
        if isinstance(step, auth.CodeMatched):
            with box.uow() as uow:  # only now, and briefly, a writer: the code is used up
                step = auth.LoginStep(
                    "Succeeded", auth.finish_login(uow, box.tokens, step, now).token
                )
                uow.commit()
    except auth.LoginFailed as error:
        return _etna_failed(error)
    if step.state == "Expecting":
        body = {"Step": step.step, "Reason": step.reason, "State": step.state, "Token": step.token}
        return JSONResponse(body, status_code=202, headers=NO_STORE)
    return JSONResponse({"State": step.state, "Token": step.token}, headers=NO_STORE)


ETNA_TOKEN_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {
        "model": EtnaExpecting,
        "description": "Two-factor authentication: send the VerificationCode with this token",
    },
    401: {"model": EtnaFailed, "description": "Wrong or missing credentials, ticket or code"},
    403: {"model": EtnaError, "description": "Missing or unknown Et-App-Key"},
    409: {"model": EtnaError, "description": "Idempotency-Key still in use"},
    413: {"model": EtnaError, "description": "Body too large"},
}
Username = Annotated[str | None, Header(alias="Username")]
Password = Annotated[str | None, Header(alias="Password")]
AppKey = Annotated[str | None, Header(alias="Et-App-Key")]
Ticket = Annotated[
    str | None,
    Header(alias="Authorization", description="Bearer and the interim token (second step)"),
]
VerificationCode = Annotated[
    str | None,
    Header(alias="VerificationCode", description="The one-time code (second step)"),
]


@router.post(
    "/token",
    tags=["ETNA dialect"],
    response_model=EtnaToken,
    responses=ETNA_TOKEN_RESPONSES,
    # The first step needs the app key; the second step of a two-factor login also sends the
    # interim token as a bearer token.
    openapi_extra={"security": [{"etnaAppKey": []}, {"etnaAppKey": [], "bearer": []}]},
)
def etna_token(
    box: ContainerDep,
    username: Username = None,
    password: Password = None,
    app_key: AppKey = None,
    authorization: Ticket = None,
    verification_code: VerificationCode = None,
) -> Any:
    """ETNA Trader's token request: headers Username, Password and Et-App-Key; the token lives
    24 hours. A user with two-factor authentication is answered 202 `Expecting` with an interim
    token; the same request again with `Authorization: Bearer <interim token>` and
    `VerificationCode: <code>` gets the token."""
    return _etna_token(box, (username, password), app_key, authorization, verification_code)


@router.post(
    "/v1.0/token", tags=["ETNA dialect"], response_model=EtnaToken, include_in_schema=False
)
def etna_token_versioned(
    box: ContainerDep,
    username: Username = None,
    password: Password = None,
    app_key: AppKey = None,
    authorization: Ticket = None,
    verification_code: VerificationCode = None,
) -> Any:
    return _etna_token(box, (username, password), app_key, authorization, verification_code)


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
    authenticates with HTTP Basic (`client_secret_basic`, RFC 6749 §2.3.1) or with
    `client_id` and `client_secret` in the form (`client_secret_post`), one method at a time."""
    if grant_type != "client_credentials":
        return _oauth_error("unsupported_grant_type", 400, "only client_credentials is supported")
    try:
        client = oauth_clients.client_credentials(
            request.headers.get("authorization"), client_id, client_secret
        )
    except oauth_clients.ClientAuthenticationError as refusal:
        return _oauth_error(refusal.error, refusal.status, refusal.description)
    with box.uow(write=False) as uow:
        try:
            issued = auth.client_credentials(
                uow,
                box.hasher,
                box.tokens,
                client.client_id,
                client.client_secret,
                scope,
                box.clock.now(),
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
