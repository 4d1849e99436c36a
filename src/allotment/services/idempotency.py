"""How long the answers to idempotent writes are kept (SPEC §3: the same key with the same
request returns the first answer and books nothing new).

Each key keeps its request's hash and its whole answer, so the store grows with every write.
Operators forget old keys with `allotment idempotency purge`; a retry that comes after its key
was forgotten is a new request. The natural references (`AllocationReference` within a master
block, `sourceId` within a company) stay unique for ever, so those retries are still refused.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from allotment.domain.errors import InvalidInstruction
from allotment.services.ports import UnitOfWork

DEFAULT_RETENTION = timedelta(days=7)
"""Far longer than any client retries a write; what `purge` keeps when not told otherwise."""


def purge_keys(uow: UnitOfWork, now: datetime, keep: timedelta) -> tuple[int, datetime]:
    """Forget the keys claimed more than `keep` before `now`; how many, and the cut-off.
    A key still in progress is as old as its request: none runs for hours."""
    if keep < timedelta(hours=1):
        raise InvalidInstruction("keep idempotency keys for at least one hour")
    before = now - keep
    return uow.idempotency.purge(before), before
