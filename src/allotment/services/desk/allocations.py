"""The desk's allocation search: booked allocations of every dialect, filtered by dialect,
block and account, oldest first, paged on the id; the caller's clients only (as
`GET /api/v1/allocations`)."""

from __future__ import annotations

from collections.abc import Iterator

from allotment.domain.identity import Scope
from allotment.services.context import Context, visible_account, visible_account_ids
from allotment.services.ports import AllocationRow, UnitOfWork

EXPORT_CHUNK = 5000


def search(
    uow: UnitOfWork,
    ctx: Context,
    *,
    dialect: str | None = None,
    block_id: int | None = None,
    account_id: str | None = None,
    after_id: int = 0,
    limit: int = 100,
) -> list[AllocationRow]:
    ctx.require(Scope.READ)
    accounts = visible_account_ids(uow, ctx)
    if account_id:
        accounts = frozenset({visible_account(uow, ctx, account_id).id})
    return uow.allocations.list(ctx.company_id, accounts, block_id, dialect, after_id, limit)


def export(
    uow: UnitOfWork,
    ctx: Context,
    *,
    dialect: str | None = None,
    block_id: int | None = None,
    account_id: str | None = None,
) -> Iterator[AllocationRow]:
    """Every matching allocation, read a chunk at a time."""
    after = 0
    while True:
        rows = search(
            uow,
            ctx,
            dialect=dialect,
            block_id=block_id,
            account_id=account_id,
            after_id=after,
            limit=EXPORT_CHUNK,
        )
        yield from rows
        if len(rows) < EXPORT_CHUNK:
            return
        after = rows[-1].id or 0
