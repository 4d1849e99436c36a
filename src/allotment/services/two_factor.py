"""Two-factor authentication: a user's time-based one-time codes (RFC 6238), enrolled through
the native API, asked for by the token endpoints.

ETNA's gitbook documents the token request of a user with two-factor authentication in two
steps: the first (username and password) answers the `Expecting` state with an interim token, a
ticket; the second sends the same headers with that ticket as `Authorization` and the code as
`VerificationCode`. ETNA mails or texts the code; a self-hosted service has no such gateway, so
the code comes from the user's authenticator app, which the wire does not see.

The secret is answered once, at enrolment, and never logged, echoed or audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from allotment.domain.errors import NotFound, Unauthorized
from allotment.domain.identity import PrincipalKind, Scope
from allotment.services.context import Context, record
from allotment.services.ports import TokenClaims, TokenCodec, UnitOfWork, UserRecord

ISSUER = "allotment"
"""The issuer an authenticator app shows beside the username."""
TICKET_KIND = "two-factor-ticket"
TICKET_LIFETIME = timedelta(minutes=10)
"""How long the interim token of the first step stays good for the second."""


class OneTimeCodes(Protocol):
    def new_secret(self) -> str: ...
    def provisioning_uri(self, secret: str, account: str, issuer: str) -> str: ...
    def matching_step(self, secret: str, code: str, at: datetime) -> int | None: ...


class TwoFactorRequired(Unauthorized):
    """The password is right, and the user's verification code is wanted too."""

    code = "TwoFactorRequired"


@dataclass(frozen=True, slots=True)
class Enrolment:
    secret: str
    provisioning_uri: str
    """`otpauth://totp/...`: what an authenticator app reads (as a QR code, say)."""


def enrol(uow: UnitOfWork, ctx: Context, codes: OneTimeCodes, user_id: int) -> Enrolment:
    """Give the user a new secret (replacing any former one): from now on its logins need a
    code. An admin may enrol any user of its company; a user may enrol itself."""
    user = _user_for(uow, ctx, user_id)
    secret = codes.new_secret()
    uow.identity.set_two_factor(user_id, secret)
    record(uow, ctx, "user.two_factor_enrolled", "user", user_id, after={"two_factor": True})
    return Enrolment(secret, codes.provisioning_uri(secret, user.username, ISSUER))


def disable(uow: UnitOfWork, ctx: Context, user_id: int) -> None:
    """Forget the user's secret: its logins need the password only again."""
    _user_for(uow, ctx, user_id)
    uow.identity.set_two_factor(user_id, None)
    record(uow, ctx, "user.two_factor_disabled", "user", user_id, after={"two_factor": False})


def _user_for(uow: UnitOfWork, ctx: Context, user_id: int) -> UserRecord:
    user = uow.identity.user(ctx.company_id, user_id)
    itself = (
        user is not None
        and ctx.principal.kind is PrincipalKind.USER
        and ctx.principal.subject == user.username
    )
    if not itself:
        ctx.require(Scope.ADMIN)
    if user is None:
        raise NotFound(f"user {user_id} does not exist", user_id=user_id)
    return user


def matching_step(codes: OneTimeCodes, user: UserRecord, code: str, now: datetime) -> int | None:
    """The time step of the user's code `code` (now, give or take a step), or None. The step is
    then recorded as used (`IdentityRepository.use_two_factor_step`), so that the same code is
    refused the second time (RFC 6238 §5.2)."""
    if user.two_factor_secret is None:
        return None
    return codes.matching_step(user.two_factor_secret, code.strip(), now)


def issue_ticket(codec: TokenCodec, user: UserRecord, now: datetime) -> str:
    """The interim token of the first step: it names the user and opens nothing else (no
    scope, a kind no route accepts)."""
    claims = TokenClaims(
        company_id=user.company_id,
        subject=user.username,
        kind=TICKET_KIND,
        scopes=frozenset(),
        expires_at=now + TICKET_LIFETIME,
    )
    return codec.encode(claims)


def ticket_of(codec: TokenCodec, token: str | None, user: UserRecord) -> bool:
    """Is `token` a live interim token of this user?"""
    if not token:
        return False
    try:
        claims = codec.decode(token)
    except Unauthorized:
        return False
    return (
        claims.kind == TICKET_KIND
        and claims.subject == user.username
        and claims.company_id == user.company_id
    )
