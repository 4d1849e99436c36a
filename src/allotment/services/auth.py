"""Logging in and resolving who calls: user passwords, OAuth2 client credentials, ETNA app
keys and HTTP Basic, all ending in one `Principal`."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta

from allotment.domain.errors import Forbidden, Unauthorized
from allotment.domain.identity import Principal, PrincipalKind, Scope, parse_scopes
from allotment.services import two_factor
from allotment.services.ports import (
    PasswordHasher,
    TokenClaims,
    TokenCodec,
    UnitOfWork,
    UserRecord,
)
from allotment.services.saxo.accounts import master_client_key

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


_APP_KEY_CHECKED: ContextVar[tuple[str, int] | None] = ContextVar(
    "allotment_app_key_checked", default=None
)


@contextmanager
def app_key_checked(key: str, company_id: int) -> Iterator[None]:
    """Within this block (the rest of one request, whose app key was just read), the key is
    known to be `company_id`'s: `check_app_key` answers it without reading it again."""
    reset = _APP_KEY_CHECKED.set((key, company_id))
    try:
        yield
    finally:
        _APP_KEY_CHECKED.reset(reset)


def app_key_known(key: str | None) -> int | None:
    """The company of `key` when this request checked it already (`app_key_checked`), else
    None: what `check_app_key` answers without reading it."""
    checked = _APP_KEY_CHECKED.get()
    if key and checked is not None and checked[0] == key:
        return checked[1]
    return None


def check_app_key(uow: UnitOfWork, key: str | None) -> int:
    """The company an ETNA application key belongs to; Forbidden when missing or unknown."""
    known = app_key_known(key)
    if known is not None:
        return known
    record = uow.identity.app_key(key) if key else None
    if record is None or not record.active:
        raise Forbidden("Application key is not defined or does not exist")
    return record.company_id


def authenticate(
    uow: UnitOfWork,
    hasher: PasswordHasher,
    username: str,
    password: str,
    app_company_id: int | None = None,
) -> UserRecord:
    """The active user whose password matches (and whose company owns the app key)."""
    user = uow.identity.user_by_username(username)
    matches = verified(hasher, None if user is None else user.password_hash, password)
    if user is None or not user.active or not matches:
        log.warning("login refused: wrong password or unknown user %r", username)
        raise Unauthorized("invalid username or password")
    if app_company_id is not None and user.company_id != app_company_id:
        log.warning("login refused: user %r is not of the app key's company", username)
        raise Unauthorized("invalid username or password")
    return user


def user_token(codec: TokenCodec, user: UserRecord, now: datetime) -> IssuedToken:
    log.info("token issued to user %r of company %s", user.username, user.company_id)
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


class LoginFailed(Unauthorized):
    """ETNA's `Failed` state: the step that failed and why, in ETNA's words."""

    code = "LoginFailed"

    def __init__(self, step: str, reason: str) -> None:
        super().__init__(reason, step=step)
        self.step = step
        self.reason = reason


WRONG_CODE = ("VerificationCode", "Invalid verification code")


@dataclass(frozen=True, slots=True)
class CodeMatched:
    """Password and verification code are right; the code's time step is still to be recorded
    as used (`finish_login`, in a unit of work that writes) before a token is issued. The slow
    password check runs while only reading: on SQLite no writer waits for a hash."""

    user: UserRecord
    time_step: int


def _code_matched(
    codes: two_factor.OneTimeCodes, user: UserRecord, code: str, now: datetime
) -> CodeMatched:
    step = two_factor.matching_step(codes, user, code, now)
    if step is None:
        log.warning("login refused: wrong verification code for user %r", user.username)
        raise LoginFailed(*WRONG_CODE)
    return CodeMatched(user, step)


def finish_login(
    uow: UnitOfWork, codec: TokenCodec, matched: CodeMatched, now: datetime
) -> IssuedToken:
    """Record the code as used and issue the token; a code used before is refused (RFC 6238
    §5.2: of two requests with the same code, one passes)."""
    assert matched.user.id is not None
    if not uow.identity.use_two_factor_step(matched.user.id, matched.time_step):
        log.warning("login refused: a used verification code for user %r", matched.user.username)
        raise LoginFailed(*WRONG_CODE)
    return user_token(codec, matched.user, now)


def login_user(
    uow: UnitOfWork,
    hasher: PasswordHasher,
    codec: TokenCodec,
    username: str,
    password: str,
    now: datetime,
    codes: two_factor.OneTimeCodes | None = None,
    verification_code: str | None = None,
) -> IssuedToken | CodeMatched:
    """A token for a user whose password matches; with two-factor authentication, the code
    that matches too, to be finished by `finish_login`."""
    user = authenticate(uow, hasher, username, password)
    if user.two_factor_secret is None:
        return user_token(codec, user, now)
    if codes is None or not verification_code:
        raise two_factor.TwoFactorRequired(
            "this user has two-factor authentication: send the verification code too"
        )
    return _code_matched(codes, user, verification_code, now)


@dataclass(frozen=True, slots=True)
class LoginStep:
    """ETNA's answer to a token request: `Succeeded` with the token, or `Expecting` (the
    verification code) with the interim token to send back with it."""

    state: str
    token: str
    step: str | None = None
    reason: str | None = None


def login_in_steps(
    uow: UnitOfWork,
    hasher: PasswordHasher,
    codec: TokenCodec,
    codes: two_factor.OneTimeCodes,
    credentials: tuple[str, str],
    now: datetime,
    app_company_id: int,
    ticket: str | None = None,
    verification_code: str | None = None,
) -> LoginStep | CodeMatched:
    """ETNA's token request (its gitbook's Requesting Tokens and Two-Factor Authentication):
    the password first (`BaseAuthentication`), then, for a user with two-factor authentication,
    the `VerificationCode` step with the interim token of the first answer."""
    try:
        user = authenticate(uow, hasher, *credentials, app_company_id)
    except Unauthorized as error:
        raise LoginFailed("BaseAuthentication", "Invalid credentials") from error
    if user.two_factor_secret is None:
        return LoginStep("Succeeded", user_token(codec, user, now).token)
    if not verification_code:
        ticket = two_factor.issue_ticket(codec, user, now)
        return LoginStep("Expecting", ticket, "VerificationCode", "Expecting confirmation code")
    if not two_factor.ticket_of(codec, ticket, user):
        raise LoginFailed("VerificationCode", "Corrupted ticket")
    return _code_matched(codes, user, verification_code, now)


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
    if claims.kind not in (PrincipalKind.USER.value, PrincipalKind.API_CLIENT.value):
        raise Unauthorized("the token is not an access token")  # an interim token, say
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
    if user.two_factor_secret is not None:
        # A password alone must not open what the token endpoints guard with a second factor.
        log.warning("basic credentials refused for user %r: two-factor user", username)
        raise Unauthorized("this user has two-factor authentication: log in for a token")
    scopes = parse_scopes(" ".join(user.scopes))
    return Principal(user.company_id, user.username, PrincipalKind.USER, scopes, user.client_ids)
