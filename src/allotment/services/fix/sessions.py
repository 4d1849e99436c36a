"""FIX sessions and their owners (SPEC §10).

A FIX session is named by the counterparty's SenderCompID and ours (its TargetCompID). It
belongs to one company and acts as one user of it: the Logon's Username (553) must be that
user and its Password (554) the user's password, checked with the same hashing as every other
login; what the session may then do is what the user may do (scopes and clients).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from allotment.domain.errors import Conflict, InvalidInstruction, NotFound, Unauthorized
from allotment.domain.identity import Principal, PrincipalKind, Scope, parse_scopes
from allotment.services.auth import verified
from allotment.services.context import Context, record
from allotment.services.ports import PasswordHasher, UnitOfWork

COMP_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
"""A CompID as we accept it: printable, no delimiter, no spaces, at most 64 characters."""

log = logging.getLogger("allotment.fix")


@dataclass(frozen=True, slots=True)
class FixSession:
    """`sender_comp_id` is the counterparty's (its 49), `target_comp_id` ours (its 56)."""

    company_id: int
    sender_comp_id: str
    target_comp_id: str
    username: str
    created_at: datetime
    created_by: str
    active: bool = True
    id: int | None = None
    subscribe_allocations: bool = False
    """Sent a 35=AS for every allocation of its company, whichever door booked it."""
    last_fill_id: int = 0
    last_allocation_id: int = 0
    """The last fill (35=8) and allocation (35=AS) the acceptor sent the session."""

    @property
    def name(self) -> str:
        return f"{self.sender_comp_id}->{self.target_comp_id}"


class FixSessionRepository(Protocol):
    def add_session(self, session: FixSession) -> FixSession: ...
    def session(self, sender_comp_id: str, target_comp_id: str) -> FixSession | None: ...
    def sessions(self, company_id: int | None) -> list[FixSession]: ...
    def remove_session(self, session_id: int) -> None: ...


def _repository(uow: UnitOfWork) -> FixSessionRepository:
    return uow.fix


def add_session(
    uow: UnitOfWork,
    ctx: Context,
    sender_comp_id: str,
    target_comp_id: str,
    username: str,
    *,
    subscribe_allocations: bool = False,
) -> FixSession:
    """A new session of the caller's company acting as `username` (a user of that company);
    `subscribe_allocations`: sent a 35=AS for every allocation of the company from now on,
    whichever door booked it."""
    ctx.require(Scope.ADMIN)
    for what, value in (("SenderCompID", sender_comp_id), ("TargetCompID", target_comp_id)):
        if not COMP_ID.fullmatch(value):
            raise InvalidInstruction(
                f"{what} must be 1 to 64 letters, digits, '.', '_' or '-'", value=value
            )
    user = uow.identity.user_by_username(username)
    if user is None or user.company_id != ctx.company_id:
        raise NotFound(f"user {username} does not exist", username=username)
    repository = _repository(uow)
    if repository.session(sender_comp_id, target_comp_id) is not None:
        raise Conflict(f"FIX session {sender_comp_id}->{target_comp_id} exists already")
    session = repository.add_session(
        FixSession(
            company_id=ctx.company_id,
            sender_comp_id=sender_comp_id,
            target_comp_id=target_comp_id,
            username=username,
            created_at=ctx.now,
            created_by=ctx.principal.subject,
            subscribe_allocations=subscribe_allocations,
        )
    )
    after = {"user": username, "subscribe_allocations": subscribe_allocations}
    record(uow, ctx, "fix.session.created", "fix_session", session.name, after=after)
    return session


def list_sessions(uow: UnitOfWork, ctx: Context) -> list[FixSession]:
    ctx.require(Scope.ADMIN)
    return _repository(uow).sessions(ctx.company_id)


def remove_session(uow: UnitOfWork, ctx: Context, sender_comp_id: str, target_comp_id: str) -> None:
    ctx.require(Scope.ADMIN)
    session = _repository(uow).session(sender_comp_id, target_comp_id)
    if session is None or session.company_id != ctx.company_id or session.id is None:
        raise NotFound(f"FIX session {sender_comp_id}->{target_comp_id} does not exist")
    _repository(uow).remove_session(session.id)
    record(uow, ctx, "fix.session.removed", "fix_session", session.name)


def every_session(uow: UnitOfWork) -> list[FixSession]:
    """Every session of every company: what the acceptor serves."""
    return _repository(uow).sessions(None)


def logon(
    uow: UnitOfWork,
    hasher: PasswordHasher,
    sender_comp_id: str,
    target_comp_id: str,
    username: str | None,
    password: str | None,
) -> Principal:
    """The principal a session acts as, when its Logon names its user and that user's password.
    Every refusal says the same, so that a Logon cannot probe for usernames."""
    session = _repository(uow).session(sender_comp_id, target_comp_id)
    user = uow.identity.user_by_username(username) if username else None
    owned = (
        session is not None
        and session.active
        and user is not None
        and user.active
        and user.username == session.username
        and user.company_id == session.company_id
    )
    matches = verified(hasher, user.password_hash if owned and user else None, password or "")
    if not owned or not matches or user is None:
        log.warning("FIX logon refused for %s->%s as %r", sender_comp_id, target_comp_id, username)
        raise Unauthorized("invalid username or password")
    log.info("FIX logon of %s->%s as %r", sender_comp_id, target_comp_id, username)
    scopes = parse_scopes(" ".join(user.scopes))
    return Principal(user.company_id, user.username, PrincipalKind.USER, scopes, user.client_ids)
