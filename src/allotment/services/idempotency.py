"""How long the answers to idempotent writes are kept (SPEC §3: the same key with the same
request returns the first answer and books nothing new).

Each key keeps its request's hash and its whole answer, so the store grows with every write.
Operators forget old keys with `allotment idempotency purge`; a retry that comes after its key
was forgotten is a new request. The natural references (`AllocationReference` within a master
block, `sourceId` within a company) stay unique for ever, so those retries are still refused.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from allotment.domain.errors import InvalidInstruction, NotFound
from allotment.services.ports import IdempotencyRecord, UnitOfWork

DEFAULT_RETENTION = timedelta(days=7)
"""Far longer than any client retries a write; what `purge` keeps when not told otherwise."""


def purge_keys(uow: UnitOfWork, now: datetime, keep: timedelta) -> tuple[int, datetime]:
    """Forget the keys claimed more than `keep` before `now`; how many, and the cut-off.
    A key still in progress is as old as its request: none runs for hours."""
    if keep < timedelta(hours=1):
        raise InvalidInstruction("keep idempotency keys for at least one hour")
    before = now - keep
    return uow.idempotency.purge(before), before


def _company_id(uow: UnitOfWork, company: str | None) -> int | None:
    if company is None:
        return None
    found = uow.identity.company_by_name(company)
    if found is None:
        raise NotFound(f"company {company!r} does not exist", company=company)
    return found.id


def show_key(
    uow: UnitOfWork, key: str, company: str | None = None
) -> list[tuple[str, IdempotencyRecord]]:
    """The key as each company (or the named one) holds it, with the company's name."""
    found = []
    for record in uow.idempotency.find(key, _company_id(uow, company)):
        owner = uow.identity.company(record.company_id) if record.company_id else None
        found.append((owner.name if owner else str(record.company_id), record))
    if not found:
        raise NotFound(f"no company holds the Idempotency-Key {key!r}", key=key)
    return found


def forget_key(uow: UnitOfWork, key: str, company: str | None = None) -> int:
    """Forget the key (of the named company, or of every company that holds it): the next
    request with it runs as new. For a key whose request died after booking, once the booking
    has been looked up; how many were forgotten."""
    held = show_key(uow, key, company)
    return sum(
        1
        for _, record in held
        if record.company_id is not None and uow.idempotency.forget(record.company_id, key)
    )
