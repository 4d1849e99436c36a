"""Automatic distribution of a tranche across its indications (SPEC §4.4): the pure policy is
`domain.bookbuilding.distribute` (on the allocation engine); this use case reads the book,
and, unless it is a preview, replaces the tranche's earlier auto allocations with the new
ones in one transaction."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from allotment.domain.bookbuilding import (
    AllocationValue,
    Basis,
    BookAllocation,
    Distribution,
    DistributionType,
    InvestorAccount,
    OrderStatus,
    ValueType,
    distribute,
)
from allotment.domain.identity import Scope
from allotment.services.bookbuilding.allocations import stamp_time
from allotment.services.bookbuilding.book import get_tranche
from allotment.services.bookbuilding.ports import repository
from allotment.services.context import Context, record
from allotment.services.fairness.tranches import record_distribution
from allotment.services.ports import UnitOfWork


@dataclass(frozen=True, slots=True)
class DistributionOutcome:
    distribution: Distribution
    preview: bool
    allocation_ids: dict[str, str]  # indication id -> the stored (or kept) allocation's id
    investors: Mapping[str, InvestorAccount]  # the tranche's investors, by id


def distribute_tranche(
    uow: UnitOfWork, ctx: Context, tranche_id: str, *, preview: bool
) -> DistributionOutcome:
    """Distribute the tranche; a preview computes the same answer and stores nothing."""
    ctx.require(Scope.READ if preview else Scope.WRITE)
    repo = repository(uow)
    tranche = get_tranche(uow, ctx, tranche_id, lock=not preview)
    indications = repo.indications(ctx.company_id, tranche.id)
    investors = repo.investors(ctx.company_id, [i.investor_account_id for i in indications])
    existing = repo.tranche_allocations(ctx.company_id, tranche.id)
    result = distribute(tranche, indications, investors, existing)
    ids = {s.indication.id: s.kept_allocation_id or "" for s in result.shares}
    if preview:
        return DistributionOutcome(result, True, ids, investors)
    rows = _auto_allocations(ctx, result)
    repo.delete_allocations(ctx.company_id, list(result.replaced_allocation_ids))
    repo.add_allocations(rows)
    record_distribution(uow, ctx, result)
    ids.update({row.indication_id or "": row.id for row in rows})
    record(
        uow,
        ctx,
        "distribute",
        "bookbuilding_tranche",
        tranche.id,
        before={"replaced_allocation_ids": list(result.replaced_allocation_ids)},
        after={
            "allocated": result.allocated,
            "unallocated": result.unallocated,
            "allocations": {row.indication_id: row.value.amount for row in rows},
            "excluded": {e.indication.id: e.reason.value for e in result.excluded},
        },
    )
    return DistributionOutcome(result, False, ids, investors)


def _auto_allocations(ctx: Context, result: Distribution) -> list[BookAllocation]:
    now = stamp_time(ctx)
    who = ctx.principal.subject
    return [
        BookAllocation(
            id=str(uuid.uuid4()),
            company_id=ctx.company_id,
            deal_id=share.indication.deal_id,
            tranche_id=share.indication.tranche_id,
            investor_account_id=share.indication.investor_account_id,
            indication_id=share.indication.id,
            indication_group_id=None,
            source_id=None,
            source_row_version=None,
            order_status=OrderStatus.PENDING,
            distribution_type=DistributionType.AUTO,
            value=AllocationValue(ValueType.QUANTITY, share.quantity),
            override=None,
            status_messages=(),
            comment=None,
            detail=None,
            created_by=who,
            created_at=now,
            last_modified_by=who,
            last_modified_at=now,
        )
        for share in result.shares
        if share.basis is Basis.AUTO
    ]
