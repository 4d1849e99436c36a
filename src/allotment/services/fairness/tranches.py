"""The fairness ledger's rows of a book-building distribution (decision 0046).

A tranche is distributed by the allocation engine (pro rata to demand, tier by tier), so each
indication it split has an exact target. The tranche has no instrument, so its rows carry none
and are keyed by the tranche (``tranche_key``); the account is the investor's. A distribution
replaces the tranche's earlier automatic allocations, so it replaces their rows too: the
ledger holds the distribution that stands, and a preview writes nothing.
"""

from __future__ import annotations

from decimal import Decimal

from allotment.domain.allocation.model import RemainderPolicy
from allotment.domain.bookbuilding import Basis, Distribution
from allotment.services.context import Context
from allotment.services.fairness import FairnessRow
from allotment.services.ports import UnitOfWork

TRANCHE_PREFIX = "tranche:"
SHARE = Decimal(1)


def tranche_key(tranche_id: str) -> str:
    """The fairness ledger's key of a tranche's distribution (``"tranche:"`` and its id)."""
    return TRANCHE_PREFIX + tranche_id


def record_distribution(uow: UnitOfWork, ctx: Context, distribution: Distribution) -> None:
    """Replace the tranche's rows with one per indication the engine split: its investor,
    the exact target and what the distribution gave (nothing, when below the minimum)."""
    tranche = distribution.tranche
    key = tranche_key(tranche.id)
    given = {
        share.indication.id: share.quantity
        for share in distribution.shares
        if share.basis is Basis.AUTO
    }
    investors = {s.indication.id: s.indication.investor_account_id for s in distribution.shares}
    investors.update(
        {e.indication.id: e.indication.investor_account_id for e in distribution.excluded}
    )
    rows = [
        FairnessRow(
            ctx.company_id,
            None,
            investors[indication_id],
            None,
            key,
            RemainderPolicy.LARGEST_REMAINDER.value,
            None,
            target,
            given.get(indication_id, Decimal(0)),
            SHARE,
            tranche.offer_price,
            ctx.today,
            ctx.now,
        )
        for indication_id, target in sorted(distribution.targets.items())
    ]
    try:
        repository = uow.fairness
    except KeyError:  # a unit of work without the fairness ledger (a test fake)
        return
    repository.remove_key(ctx.company_id, key)
    if rows:
        repository.add_many(rows)
