"""The Idempotency-Key a request holds, carried to the transactions it commits.

While a request with a claimed key runs, every write transaction it commits first marks the key
"booked", in that same transaction and only while the claim is still this request's (its
token). So after a crash a key either shows a committed booking (a retry is told, never booked
again) or none (a retry runs), and a request whose claim was taken over commits nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from sqlalchemy import Connection

from allotment.adapters.database.repositories.idempotency import SqlIdempotencyRepository
from allotment.domain.errors import Conflict


@dataclass(frozen=True, slots=True)
class Claim:
    company_id: int
    key: str
    token: str


_HELD: ContextVar[Claim | None] = ContextVar("allotment_idempotency_claim", default=None)


@contextmanager
def holding(claim: Claim) -> Iterator[None]:
    """Within this block (and the threads it hands work to) commits mark `claim` booked."""
    reset = _HELD.set(claim)
    try:
        yield
    finally:
        _HELD.reset(reset)


def before_commit(connection: Connection) -> None:
    """Called by a write unit of work just before it commits."""
    claim = _HELD.get()
    if claim is None:
        return
    repository = SqlIdempotencyRepository(connection)
    if not repository.mark_booked(claim.company_id, claim.key, claim.token):
        raise Conflict(
            "this request's Idempotency-Key was taken over by a retry; nothing was booked by it"
        )
