"""Token endpoints: ETNA's `POST /token` (headers) and OAuth2 client credentials at
`POST /connect/token` (form). Both issue the same signed tokens, accepted by every dialect."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from allotment.domain.errors import Forbidden, Unauthorized
from allotment.entrypoints.http.deps import ContainerDep
from allotment.services import auth

router = APIRouter()


class EtnaToken(BaseModel):
    State: str = Field(examples=["Succeeded"])
    Token: str


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
    return EtnaToken(State="Succeeded", Token=issued.token)


@router.post(
    "/token",
    tags=["ETNA dialect"],
    response_model=EtnaToken,
    responses={
        401: {"description": "Wrong credentials"},
        403: {"description": "Unknown Et-App-Key"},
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


def _oauth_error(error: str, status: int, description: str) -> JSONResponse:
    headers = {"WWW-Authenticate": "Basic"} if status == 401 else None
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status, headers=headers
    )


@router.post(
    "/connect/token",
    tags=["Tokens"],
    response_model=OAuthToken,
    responses={400: {"description": "OAuth2 error"}, 401: {"description": "invalid_client"}},
)
def connect_token(
    box: ContainerDep,
    grant_type: Annotated[str, Form()],
    client_id: Annotated[str, Form()],
    client_secret: Annotated[str, Form()],
    scope: Annotated[str | None, Form()] = None,
) -> Any:
    """OAuth2 client credentials (RFC 6749 §4.4): tokens live 1200 seconds."""
    if grant_type != "client_credentials":
        return _oauth_error("unsupported_grant_type", 400, "only client_credentials is supported")
    with box.uow(write=False) as uow:
        try:
            issued = auth.client_credentials(
                uow, box.hasher, box.tokens, client_id, client_secret, scope, box.clock.now()
            )
        except Unauthorized:
            return _oauth_error("invalid_client", 401, "unknown client or wrong secret")
        except Forbidden:
            return _oauth_error(
                "invalid_scope", 400, "a requested scope is not granted to this client"
            )
    return OAuthToken(
        access_token=issued.token,
        expires_in=issued.expires_in_seconds,
        scope=" ".join(sorted(scope.value for scope in issued.scopes)),
    )
