"""The desk's book-building page: deals and their tranches, a tranche's indications with each
investor's FINRA restrictions and the allocations it holds. The distribution itself, previewed
and committed, is `bookbuilding_distribution.distribute_tranche`'s, as the API's."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from allotment.domain.bookbuilding import (
    BookAllocation,
    Deal,
    Indication,
    InvestorAccount,
    Tranche,
    demand_quantity,
)
from allotment.services.bookbuilding import book
from allotment.services.bookbuilding.ports import repository
from allotment.services.context import Context
from allotment.services.ports import UnitOfWork


@dataclass(frozen=True, slots=True)
class DealBook:
    deal: Deal
    tranches: list[Tranche]


def deals(uow: UnitOfWork, ctx: Context) -> list[DealBook]:
    return [
        DealBook(deal, book.list_tranches(uow, ctx, deal.id)) for deal in book.list_deals(uow, ctx)
    ]


@dataclass(frozen=True, slots=True)
class IndicationRow:
    indication: Indication
    investor: InvestorAccount | None
    demand_shares: Decimal
    """The demand in shares at the offer price (a cash demand floored to whole shares)."""


@dataclass(frozen=True, slots=True)
class TrancheBook:
    deal: Deal
    tranche: Tranche
    indications: list[IndicationRow]
    allocations: list[BookAllocation]


def tranche_book(uow: UnitOfWork, ctx: Context, tranche_id: str) -> TrancheBook:
    tranche = book.get_tranche(uow, ctx, tranche_id)
    indications = book.list_indications(uow, ctx, tranche.id)
    repo = repository(uow)
    investors = repo.investors(ctx.company_id, [i.investor_account_id for i in indications])
    rows = [
        IndicationRow(
            i, investors.get(i.investor_account_id), demand_quantity(i, tranche.offer_price)
        )
        for i in indications
    ]
    return TrancheBook(
        book.get_deal(uow, ctx, tranche.deal_id),
        tranche,
        rows,
        repo.tranche_allocations(ctx.company_id, tranche.id),
    )
