"""Native API models of identity: logins, users, API clients and app keys."""

from __future__ import annotations

from pydantic import BaseModel, Field

from allotment.entrypoints.http.native.schemas import ClientId, Model


class LoginIn(Model):
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=200)
    verification_code: str | None = Field(
        default=None, max_length=16, description="Users with two-factor authentication"
    )


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int


class UserIn(Model):
    username: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=8, max_length=200)
    scopes: list[str] = Field(max_length=10)
    client_ids: list[ClientId] | None = Field(default=None, max_length=10_000)


class UserOut(BaseModel):
    id: int
    username: str
    scopes: list[str]
    client_ids: list[int] | None
    active: bool
    two_factor: bool = False


class TwoFactorOut(BaseModel):
    """Shown once: the shared secret of the user's one-time codes (RFC 6238)."""

    secret: str
    provisioning_uri: str


class ApiClientIn(Model):
    name: str = Field(min_length=1, max_length=200)
    scopes: list[str]


class ApiClientOut(BaseModel):
    client_id: str
    name: str
    scopes: list[str]
    active: bool


class ApiClientCreated(ApiClientOut):
    client_secret: str = Field(description="Shown once; stored only hashed.")


class AppKeyIn(Model):
    name: str = Field(min_length=1, max_length=200)


class AppKeyOut(BaseModel):
    id: int
    key: str
    name: str
    active: bool
