"""Logging in and resolving who calls: user passwords, OAuth2 client credentials, ETNA app
keys and HTTP Basic, all ending in one `Principal`."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from allotment.domain.errors import Forbidden, Unauthorized
from allotment.domain.identity import Principal, PrincipalKind, Scope, parse_scopes
from allotment.services.ports import PasswordHasher, TokenClaims, TokenCodec, UnitOfWork
from allotment.services.saxo_accounts import master_client_key

log = logging.getLogger("allotment.auth")
"""Who logged in or was refused, by name; never a password, secret or token."""

USER_TOKEN_LIFETIME = timedelta(hours=24)
"""ETNA tokens live 24 hours (SPEC §4.1)."""
CLIENT_TOKEN_LIFETIME = timedelta(seconds=1200)
"""The book-building token endpoint answers expires_in 1200 (SPEC §4.4)."""


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    expires_in_seconds: int
    scopes: frozenset[Scope]


def verified(hasher: PasswordHasher, hashed: str | None, secret: str) -> bool:
    """Does `secret` match `hashed`? With no hash (an unknown user or client), the secret is
    checked against a decoy hash all the same, and refused: a refusal that skipped the
    deliberately slow verification would answer in microseconds instead of tens of
    milliseconds, and tell a caller which usernames and client ids exist."""
    if hashed is None:
        hasher.verify(_decoy(hasher), secret)
        return False
    return hasher.verify(hashed, secret)


def _decoy(hasher: PasswordHasher) -> str:
    """A hash made by this hasher, with its parameters (its cost), of no one's secret; made
    once per hasher."""
    found = _DECOYS.get(id(hasher))
    if found is None or found[0] is not hasher:
        found = _DECOYS[id(hasher)] = (hasher, hasher.hash(secrets.token_urlsafe(16)))
    return found[1]


_DECOYS: dict[int, tuple[PasswordHasher, str]] = {}


def check_app_key(uow: UnitOfWork, key: str | None) -> int:
    """The company an ETNA application key belongs to; Forbidden when missing or unknown."""
    record = uow.identity.app_key(key) if key else None
    if record is None or not record.active:
        raise Forbidden("Application key is not defined or does not exist")
    return record.company_id


def login_user(
    uow: UnitOfWork,
    hasher: PasswordHasher,
    codec: TokenCodec,
    username: str,
    password: str,
    now: datetime,
    app_company_id: int | None = None,
) -> IssuedToken:
    """A token for a user whose password matches (and whose company owns the app key)."""
    user = uow.identity.user_by_username(username)
    matches = verified(hasher, None if user is None else user.password_hash, password)
    if user is None or not user.active or not matches:
        log.warning("login refused: wrong password or unknown user %r", username)
        raise Unauthorized("invalid username or password")
    if app_company_id is not None and user.company_id != app_company_id:
        log.warning("login refused: user %r is not of the app key's company", username)
        raise Unauthorized("invalid username or password")
    log.info("token issued to user %r of company %s", username, user.company_id)
    scopes = parse_scopes(" ".join(user.scopes))
    claims = TokenClaims(
        company_id=user.company_id,
        subject=user.username,
        kind=PrincipalKind.USER.value,
        scopes=frozenset(scope.value for scope in scopes),
        expires_at=now + USER_TOKEN_LIFETIME,
        extra=saxo_claims(user.company_id, user.username),
    )
    return IssuedToken(codec.encode(claims), int(USER_TOKEN_LIFETIME.total_seconds()), scopes)


def client_credentials(
    uow: UnitOfWork,
    hasher: PasswordHasher,
    codec: TokenCodec,
    client_id: str,
    client_secret: str,
    requested_scope: str | None,
    now: datetime,
) -> IssuedToken:
    """OAuth2 client credentials: the granted scopes are the requested ones the client has."""
    record = uow.identity.api_client(client_id)
    matches = verified(hasher, None if record is None else record.secret_hash, client_secret)
    if record is None or not record.active or not matches:
        log.warning("client credentials refused for client %r", client_id)
        raise Unauthorized("invalid_client")
    allowed = parse_scopes(" ".join(record.scopes))
    if requested_scope:
        requested = parse_scopes(requested_scope)
        unknown = set(requested_scope.split()) - {scope.value for scope in requested}
        if unknown or not requested <= allowed:
            log.warning("client %r asked for scopes it lacks: %r", client_id, requested_scope)
            raise Forbidden("invalid_scope", requested=requested_scope)
        allowed = requested
    log.info("token issued to API client %r of company %s", client_id, record.company_id)
    claims = TokenClaims(
        company_id=record.company_id,
        subject=record.client_id,
        kind=PrincipalKind.API_CLIENT.value,
        scopes=frozenset(scope.value for scope in allowed),
        expires_at=now + CLIENT_TOKEN_LIFETIME,
        extra=saxo_claims(record.company_id, record.client_id),
    )
    return IssuedToken(codec.encode(claims), int(CLIENT_TOKEN_LIFETIME.total_seconds()), allowed)


def saxo_claims(company_id: int, subject: str) -> dict[str, str]:
    """What Saxo's tokens tell their clients: `cid`, the caller's ClientKey (the company, as
    Saxo's master client), and `uid`, its UserKey (the user's name or the API client's id)."""
    return {"cid": master_client_key(company_id), "uid": subject}


def principal_from_token(uow: UnitOfWork, codec: TokenCodec, token: str) -> Principal:
    """Verify a bearer token and check that its user or client still exists and is active."""
    claims = codec.decode(token)
    scopes = parse_scopes(" ".join(claims.scopes))
    if claims.kind == PrincipalKind.USER.value:
        user = uow.identity.user_by_username(claims.subject)
        if user is None or not user.active or user.company_id != claims.company_id:
            raise Unauthorized("the token's user no longer exists")
        scopes &= parse_scopes(" ".join(user.scopes))
        return Principal(
            claims.company_id, user.username, PrincipalKind.USER, scopes, user.client_ids
        )
    record = uow.identity.api_client(claims.subject)
    if record is None or not record.active or record.company_id != claims.company_id:
        raise Unauthorized("the token's client no longer exists")
    scopes &= parse_scopes(" ".join(record.scopes))
    return Principal(claims.company_id, record.client_id, PrincipalKind.API_CLIENT, scopes, None)


def principal_from_basic(
    uow: UnitOfWork, hasher: PasswordHasher, username: str, password: str
) -> Principal:
    """HTTP Basic with a user's credentials (the block-trade vendor accepts it)."""
    user = uow.identity.user_by_username(username)
    matches = verified(hasher, None if user is None else user.password_hash, password)
    if user is None or not user.active or not matches:
        log.warning("basic credentials refused for user %r", username)
        raise Unauthorized("invalid username or password")
    scopes = parse_scopes(" ".join(user.scopes))
    return Principal(user.company_id, user.username, PrincipalKind.USER, scopes, user.client_ids)
