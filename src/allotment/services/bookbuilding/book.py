"""The book of a deal: deals, tranches, investor accounts (with their FINRA 5130/5131 flags)
and indications, created and read through the native API."""

from __future__ import annotations

import uuid
from decimal import Decimal

from allotment.domain.bookbuilding import (
    ZERO,
    Deal,
    Indication,
    InvestorAccount,
    Tranche,
    ValueType,
)
from allotment.domain.errors import InvalidInstruction, NotFound
from allotment.domain.identity import Scope
from allotment.domain.numbers import to_uuid
from allotment.services.bookbuilding.allocations import stamp_time
from allotment.services.bookbuilding.ports import repository
from allotment.services.context import Context, record
from allotment.services.ports import UnitOfWork


def _new_id(given: str | None) -> str:
    if given is None:
        return str(uuid.uuid4())
    try:
        return to_uuid(given)
    except ValueError as error:
        raise InvalidInstruction("id must be a UUID", field="id") from error


def _whole(value: Decimal, field: str, *, positive: bool) -> Decimal:
    if value != value.to_integral_value() or value < 0 or (positive and value == 0):
        kind = "a positive" if positive else "a non-negative"
        raise InvalidInstruction(f"{field} must be {kind} whole number of shares", field=field)
    return value


def _positive(value: Decimal, field: str) -> Decimal:
    if value <= 0:
        raise InvalidInstruction(f"{field} must be positive", field=field)
    return value


def create_deal(
    uow: UnitOfWork, ctx: Context, *, name: str, issuer: str, deal_id: str | None = None
) -> Deal:
    ctx.require(Scope.WRITE)
    deal = Deal(
        _new_id(deal_id), ctx.company_id, name, issuer, stamp_time(ctx), ctx.principal.subject
    )
    repository(uow).add_deal(deal)
    record(uow, ctx, "create", "bookbuilding_deal", deal.id, after={"name": name})
    return deal


def get_deal(uow: UnitOfWork, ctx: Context, deal_id: str) -> Deal:
    ctx.require(Scope.READ)
    deal = repository(uow).deal(ctx.company_id, deal_id)
    if deal is None:
        raise NotFound(f"deal {deal_id} does not exist", deal_id=deal_id)
    return deal


def list_deals(uow: UnitOfWork, ctx: Context) -> list[Deal]:
    ctx.require(Scope.READ)
    return repository(uow).deals(ctx.company_id)


def create_tranche(
    uow: UnitOfWork,
    ctx: Context,
    *,
    deal_id: str,
    name: str,
    offered_size: Decimal,
    offer_price: Decimal,
    currency: str,
    minimum_allocation: Decimal = ZERO,
    tranche_id: str | None = None,
) -> Tranche:
    ctx.require(Scope.WRITE)
    deal = get_deal(uow, ctx, deal_id)
    tranche = Tranche(
        id=_new_id(tranche_id),
        company_id=ctx.company_id,
        deal_id=deal.id,
        name=name,
        offered_size=_whole(offered_size, "offered_size", positive=True),
        offer_price=_positive(offer_price, "offer_price"),
        currency=currency,
        minimum_allocation=_whole(minimum_allocation, "minimum_allocation", positive=False),
        created_at=stamp_time(ctx),
        created_by=ctx.principal.subject,
    )
    repository(uow).add_tranche(tranche)
    after = {"deal_id": deal.id, "offered_size": offered_size, "offer_price": offer_price}
    record(uow, ctx, "create", "bookbuilding_tranche", tranche.id, after=after)
    return tranche


def get_tranche(uow: UnitOfWork, ctx: Context, tranche_id: str, lock: bool = False) -> Tranche:
    ctx.require(Scope.READ)
    tranche = repository(uow).tranche(ctx.company_id, tranche_id, lock)
    if tranche is None:
        raise NotFound(f"tranche {tranche_id} does not exist", tranche_id=tranche_id)
    return tranche


def list_tranches(uow: UnitOfWork, ctx: Context, deal_id: str) -> list[Tranche]:
    return repository(uow).tranches(ctx.company_id, get_deal(uow, ctx, deal_id).id)


def create_investor(
    uow: UnitOfWork,
    ctx: Context,
    *,
    name: str,
    finra_5130: bool = False,
    finra_5131: bool = False,
    investor_id: str | None = None,
) -> InvestorAccount:
    ctx.require(Scope.WRITE)
    investor = InvestorAccount(
        _new_id(investor_id),
        ctx.company_id,
        name,
        finra_5130,
        finra_5131,
        stamp_time(ctx),
        ctx.principal.subject,
    )
    repository(uow).add_investor(investor)
    after = {"name": name, "finra_5130": finra_5130, "finra_5131": finra_5131}
    record(uow, ctx, "create", "bookbuilding_investor_account", investor.id, after=after)
    return investor


def get_investor(uow: UnitOfWork, ctx: Context, investor_id: str) -> InvestorAccount:
    ctx.require(Scope.READ)
    investor = repository(uow).investor(ctx.company_id, investor_id)
    if investor is None:
        raise NotFound(f"investor account {investor_id} does not exist", id=investor_id)
    return investor


def list_investors(uow: UnitOfWork, ctx: Context) -> list[InvestorAccount]:
    ctx.require(Scope.READ)
    return list(repository(uow).investors(ctx.company_id).values())


def create_indication(
    uow: UnitOfWork,
    ctx: Context,
    *,
    tranche_id: str,
    investor_account_id: str,
    demand_type: ValueType,
    demand_amount: Decimal,
    limit_price: Decimal | None = None,
    priority_tier: int = 1,
    indication_id: str | None = None,
) -> Indication:
    ctx.require(Scope.WRITE)
    tranche = get_tranche(uow, ctx, tranche_id)
    investor = get_investor(uow, ctx, investor_account_id)
    if demand_type is ValueType.QUANTITY:
        _whole(demand_amount, "demand_amount", positive=True)
    _positive(demand_amount, "demand_amount")
    if limit_price is not None:
        _positive(limit_price, "limit_price")
    if priority_tier < 1:
        raise InvalidInstruction("priority_tier must be 1 or more", field="priority_tier")
    indication = Indication(
        id=_new_id(indication_id),
        company_id=ctx.company_id,
        deal_id=tranche.deal_id,
        tranche_id=tranche.id,
        investor_account_id=investor.id,
        demand_type=demand_type,
        demand_amount=demand_amount,
        limit_price=limit_price,
        priority_tier=priority_tier,
        created_at=stamp_time(ctx),
        created_by=ctx.principal.subject,
    )
    repository(uow).add_indication(indication)
    after = {
        "tranche_id": tranche.id,
        "investor_account_id": investor.id,
        "demand_type": demand_type.value,
        "demand_amount": demand_amount,
    }
    record(uow, ctx, "create", "bookbuilding_indication", indication.id, after=after)
    return indication


def get_indication(uow: UnitOfWork, ctx: Context, indication_id: str) -> Indication:
    ctx.require(Scope.READ)
    indication = repository(uow).indication(ctx.company_id, indication_id)
    if indication is None:
        raise NotFound(f"indication {indication_id} does not exist", id=indication_id)
    return indication


def list_indications(uow: UnitOfWork, ctx: Context, tranche_id: str) -> list[Indication]:
    tranche = get_tranche(uow, ctx, tranche_id)
    return repository(uow).indications(ctx.company_id, tranche.id)
