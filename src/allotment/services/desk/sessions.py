"""The operations desk's sessions (decision 0027): a user logs in with the same username,
password and hashing as the API; the browser keeps a random token in a cookie, the database its
SHA-256, the user's name and a per-session CSRF token. Every request re-reads the user, so that
a deactivated user or a changed scope takes effect at once, as with bearer tokens. A session
ends at logout, after `idle` without a request, or `absolute` after the login."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from allotment.domain.errors import Forbidden, Unauthorized
from allotment.domain.identity import Principal, PrincipalKind, parse_scopes
from allotment.services import auth, two_factor
from allotment.services.ports import PasswordHasher, TokenCodec, UnitOfWork, UserRecord

log = logging.getLogger(__name__)

TOUCH_EVERY = timedelta(seconds=30)
"""A request records the session's use at most this often (pages read without writing)."""


@dataclass(frozen=True, slots=True)
class DeskSession:
    id: str
    """The SHA-256 (hex) of the cookie's token: the token itself is never stored."""
    company_id: int
    username: str
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True, slots=True)
class Lifetime:
    idle: timedelta
    absolute: timedelta

    def expired(self, session: DeskSession, now: datetime) -> bool:
        return now - session.last_seen_at >= self.idle or now - session.created_at >= self.absolute


class SessionRepository(Protocol):
    """What the desk stores; reached as `uow.desk`."""

    def add_session(self, session: DeskSession) -> None: ...
    def session(self, session_id: str) -> DeskSession | None: ...
    def touch_session(self, session_id: str, at: datetime) -> None: ...
    def remove_session(self, session_id: str) -> None: ...


class SessionExpired(Unauthorized):
    code = "SessionExpired"


class CsrfRefused(Forbidden):
    code = "CsrfRefused"


def _repository(uow: UnitOfWork) -> SessionRepository:
    return uow.desk


def session_id(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class SecondStep:
    """The password is right and the user has two-factor authentication: the login goes on
    with its verification code and this interim token (the API's ticket, which opens nothing
    else), as ETNA's token request does."""

    ticket: str


def log_in(
    uow: UnitOfWork,
    hasher: PasswordHasher,
    codec: TokenCodec,
    credentials: tuple[str, str],
    now: datetime,
) -> tuple[str, DeskSession] | SecondStep:
    """A new session (and the cookie's token) for a user whose password matches; for a user
    with two-factor authentication, the second step instead: a password alone must not open
    what the token endpoints guard with a second factor."""
    user = auth.authenticate(uow, hasher, *credentials)
    if user.two_factor_secret is not None:
        return SecondStep(two_factor.issue_ticket(codec, user, now))
    return _open(uow, user, now)


def log_in_with_code(
    uow: UnitOfWork,
    codec: TokenCodec,
    codes: two_factor.OneTimeCodes,
    ticket: str,
    code: str,
    now: datetime,
) -> tuple[str, DeskSession]:
    """The second step: the ticket of the first and the user's verification code, checked and
    used up as the API's token endpoints do (a code is good once, RFC 6238 §5.2)."""
    try:
        subject = codec.decode(ticket).subject
    except Unauthorized as error:
        raise Unauthorized("the login has expired: log in again") from error
    user = uow.identity.user_by_username(subject)
    if user is None or not user.active or not two_factor.ticket_of(codec, ticket, user):
        raise Unauthorized("the login has expired: log in again")
    assert user.id is not None
    step = two_factor.matching_step(codes, user, code, now)
    if step is None or not uow.identity.use_two_factor_step(user.id, step):
        log.warning("desk login refused for user %r: wrong verification code", subject)
        raise WrongCode("wrong verification code")
    return _open(uow, user, now)


class WrongCode(Unauthorized):
    code = "WrongVerificationCode"


def _open(uow: UnitOfWork, user: UserRecord, now: datetime) -> tuple[str, DeskSession]:
    token = secrets.token_urlsafe(32)
    session = DeskSession(
        id=session_id(token),
        company_id=user.company_id,
        username=user.username,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
    )
    _repository(uow).add_session(session)
    log.info("desk session opened for user %r of company %s", user.username, user.company_id)
    return token, session


def current(
    uow: UnitOfWork, token: str | None, now: datetime, lifetime: Lifetime
) -> tuple[Principal, DeskSession]:
    """The principal of a live session: its user re-read, as a bearer token's is."""
    if not token:
        raise Unauthorized("log in to use the desk")
    repository = _repository(uow)
    session = repository.session(session_id(token))
    if session is None:
        raise Unauthorized("log in to use the desk")
    if lifetime.expired(session, now):
        repository.remove_session(session.id)
        raise SessionExpired("the session has expired: log in again")
    user = uow.identity.user_by_username(session.username)
    if user is None or not user.active or user.company_id != session.company_id:
        repository.remove_session(session.id)
        raise Unauthorized("the session's user no longer exists")
    scopes = parse_scopes(" ".join(user.scopes))
    principal = Principal(
        user.company_id, user.username, PrincipalKind.USER, scopes, user.client_ids
    )
    if now - session.last_seen_at >= TOUCH_EVERY:
        repository.touch_session(session.id, now)
        session = replace(session, last_seen_at=now)
    return principal, session


def check_csrf(session: DeskSession, sent: str | None) -> None:
    """Every form of the desk carries the session's CSRF token; a post without it is refused."""
    if not sent or not hmac.compare_digest(sent.encode(), session.csrf_token.encode()):
        log.warning("desk form refused for user %r: CSRF token missing or wrong", session.username)
        raise CsrfRefused("the form's CSRF token is missing or wrong: reload the page")


def log_out(uow: UnitOfWork, token: str | None) -> None:
    if token:
        _repository(uow).remove_session(session_id(token))
