"""Native API: the book of a deal (deals, tranches, investor accounts, indications) and the
automatic distribution of a tranche."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field

from allotment.domain.bookbuilding import (
    Deal,
    Excluded,
    Indication,
    InvestorAccount,
    Share,
    Tranche,
    ValueType,
)
from allotment.entrypoints.http.deps import ContainerDep, NativeContext
from allotment.entrypoints.http.native.schemas import DecimalOut, DecimalStr, Model
from allotment.services.bookbuilding import book
from allotment.services.bookbuilding.distribution import DistributionOutcome, distribute_tranche

router = APIRouter(prefix="/api/v1", tags=["Book-building"])
Uuid = Field(default=None, description="A UUID; one is made when absent.")


class DealIn(Model):
    name: str = Field(min_length=1, max_length=200)
    issuer: str = Field(min_length=1, max_length=200)
    id: str | None = Uuid


class DealOut(BaseModel):
    id: str
    name: str
    issuer: str
    created_at: datetime
    created_by: str


class TrancheIn(Model):
    name: str = Field(min_length=1, max_length=200)
    offered_size: DecimalStr = Field(description="Shares offered (whole).")
    offer_price: DecimalStr
    currency: str = Field(default="USD", pattern="^[A-Z]{3}$")
    minimum_allocation: DecimalStr = Field(default=Decimal(0), description="Shares; 0: none.")
    id: str | None = Uuid


class TrancheOut(BaseModel):
    id: str
    deal_id: str
    name: str
    offered_size: DecimalOut
    offer_price: DecimalOut
    currency: str
    minimum_allocation: DecimalOut
    created_at: datetime
    created_by: str


class InvestorIn(Model):
    name: str = Field(min_length=1, max_length=200)
    finra_5130: bool = Field(default=False, description="Restricted person (FINRA Rule 5130).")
    finra_5131: bool = Field(default=False, description="Covered by FINRA Rule 5131.")
    id: str | None = Uuid


class InvestorOut(BaseModel):
    id: str
    name: str
    finra_5130: bool
    finra_5131: bool
    restriction: str | None
    created_at: datetime
    created_by: str


class IndicationIn(Model):
    investor_account_id: str = Field(min_length=1, max_length=36)
    demand_type: ValueType = ValueType.QUANTITY
    demand_amount: DecimalStr = Field(description="Shares, or cash in the tranche's currency.")
    limit_price: DecimalStr | None = None
    priority_tier: int = Field(default=1, ge=1, le=1000, description="1 is served first.")
    id: str | None = Uuid


class IndicationOut(BaseModel):
    id: str
    deal_id: str
    tranche_id: str
    investor_account_id: str
    demand_type: ValueType
    demand_amount: DecimalOut
    limit_price: DecimalOut | None
    priority_tier: int
    created_at: datetime
    created_by: str


class ShareOut(BaseModel):
    indication_id: str
    investor_account_id: str
    priority_tier: int
    demand_quantity: DecimalOut
    quantity: DecimalOut
    basis: str = Field(description="auto: pro rata by the engine; fixed: kept as set.")
    allocation_id: str | None


class ExcludedOut(BaseModel):
    indication_id: str
    investor_account_id: str
    reason: str
    message: str


class DistributionOut(BaseModel):
    tranche_id: str
    preview: bool
    offered_size: DecimalOut
    offer_price: DecimalOut
    allocated: DecimalOut
    unallocated: DecimalOut
    allocations: list[ShareOut]
    excluded: list[ExcludedOut]
    replaced_allocation_ids: list[str]


def _deal(deal: Deal) -> DealOut:
    return DealOut.model_validate(deal, from_attributes=True)


def _tranche(tranche: Tranche) -> TrancheOut:
    return TrancheOut.model_validate(tranche, from_attributes=True)


def _investor(investor: InvestorAccount) -> InvestorOut:
    # `restriction` is a property of the account, read like its fields.
    return InvestorOut.model_validate(investor, from_attributes=True)


def _indication(indication: Indication) -> IndicationOut:
    return IndicationOut.model_validate(indication, from_attributes=True)


def _share(share: Share, ids: dict[str, str]) -> ShareOut:
    indication = share.indication
    return ShareOut(
        indication_id=indication.id,
        investor_account_id=indication.investor_account_id,
        priority_tier=indication.priority_tier,
        demand_quantity=share.demand_quantity,
        quantity=share.quantity,
        basis=share.basis.value,
        allocation_id=ids.get(indication.id) or None,
    )


def _excluded(item: Excluded) -> ExcludedOut:
    return ExcludedOut(
        indication_id=item.indication.id,
        investor_account_id=item.indication.investor_account_id,
        reason=item.reason.value,
        message=item.message,
    )


def distribution_out(outcome: DistributionOutcome) -> DistributionOut:
    result = outcome.distribution
    return DistributionOut(
        tranche_id=result.tranche.id,
        preview=outcome.preview,
        offered_size=result.tranche.offered_size,
        offer_price=result.tranche.offer_price,
        allocated=result.allocated,
        unallocated=result.unallocated,
        allocations=[_share(share, outcome.allocation_ids) for share in result.shares],
        excluded=[_excluded(item) for item in result.excluded],
        replaced_allocation_ids=list(result.replaced_allocation_ids),
    )


@router.post("/deals", response_model=DealOut, status_code=status.HTTP_201_CREATED)
def create_deal(body: DealIn, ctx: NativeContext, box: ContainerDep) -> DealOut:
    """A new deal (an offering) of the company."""
    with box.uow() as uow:
        deal = book.create_deal(uow, ctx, name=body.name, issuer=body.issuer, deal_id=body.id)
        uow.commit()
    return _deal(deal)


@router.get("/deals", response_model=list[DealOut])
def list_deals(ctx: NativeContext, box: ContainerDep) -> list[DealOut]:
    """The company's deals."""
    with box.uow(write=False) as uow:
        return [_deal(deal) for deal in book.list_deals(uow, ctx)]


@router.get("/deals/{deal_id}", response_model=DealOut)
def get_deal(deal_id: str, ctx: NativeContext, box: ContainerDep) -> DealOut:
    """One deal."""
    with box.uow(write=False) as uow:
        return _deal(book.get_deal(uow, ctx, deal_id))


@router.post(
    "/deals/{deal_id}/tranches", response_model=TrancheOut, status_code=status.HTTP_201_CREATED
)
def create_tranche(
    deal_id: str, body: TrancheIn, ctx: NativeContext, box: ContainerDep
) -> TrancheOut:
    """A new tranche of a deal: offered size, offer price, currency and minimum allocation."""
    with box.uow() as uow:
        tranche = book.create_tranche(
            uow,
            ctx,
            deal_id=deal_id,
            name=body.name,
            offered_size=body.offered_size,
            offer_price=body.offer_price,
            currency=body.currency,
            minimum_allocation=body.minimum_allocation,
            tranche_id=body.id,
        )
        uow.commit()
    return _tranche(tranche)


@router.get("/deals/{deal_id}/tranches", response_model=list[TrancheOut])
def list_tranches(deal_id: str, ctx: NativeContext, box: ContainerDep) -> list[TrancheOut]:
    """The deal's tranches."""
    with box.uow(write=False) as uow:
        return [_tranche(t) for t in book.list_tranches(uow, ctx, deal_id)]


@router.get("/tranches/{tranche_id}", response_model=TrancheOut)
def get_tranche(tranche_id: str, ctx: NativeContext, box: ContainerDep) -> TrancheOut:
    """One tranche."""
    with box.uow(write=False) as uow:
        return _tranche(book.get_tranche(uow, ctx, tranche_id))


@router.post("/investor-accounts", response_model=InvestorOut, status_code=status.HTTP_201_CREATED)
def create_investor(body: InvestorIn, ctx: NativeContext, box: ContainerDep) -> InvestorOut:
    """A new investor account, with its FINRA 5130 and 5131 restrictions."""
    with box.uow() as uow:
        investor = book.create_investor(
            uow,
            ctx,
            name=body.name,
            finra_5130=body.finra_5130,
            finra_5131=body.finra_5131,
            investor_id=body.id,
        )
        uow.commit()
    return _investor(investor)


@router.get("/investor-accounts", response_model=list[InvestorOut])
def list_investors(ctx: NativeContext, box: ContainerDep) -> list[InvestorOut]:
    """The company's investor accounts."""
    with box.uow(write=False) as uow:
        return [_investor(i) for i in book.list_investors(uow, ctx)]


@router.get("/investor-accounts/{investor_id}", response_model=InvestorOut)
def get_investor(investor_id: str, ctx: NativeContext, box: ContainerDep) -> InvestorOut:
    """One investor account."""
    with box.uow(write=False) as uow:
        return _investor(book.get_investor(uow, ctx, investor_id))


@router.post(
    "/tranches/{tranche_id}/indications",
    response_model=IndicationOut,
    status_code=status.HTTP_201_CREATED,
)
def create_indication(
    tranche_id: str, body: IndicationIn, ctx: NativeContext, box: ContainerDep
) -> IndicationOut:
    """An investor's indication of interest in a tranche: demand, limit price and priority tier."""
    with box.uow() as uow:
        indication = book.create_indication(
            uow,
            ctx,
            tranche_id=tranche_id,
            investor_account_id=body.investor_account_id,
            demand_type=body.demand_type,
            demand_amount=body.demand_amount,
            limit_price=body.limit_price,
            priority_tier=body.priority_tier,
            indication_id=body.id,
        )
        uow.commit()
    return _indication(indication)


@router.get("/tranches/{tranche_id}/indications", response_model=list[IndicationOut])
def list_indications(tranche_id: str, ctx: NativeContext, box: ContainerDep) -> list[IndicationOut]:
    """The tranche's indications."""
    with box.uow(write=False) as uow:
        return [_indication(i) for i in book.list_indications(uow, ctx, tranche_id)]


@router.get("/indications/{indication_id}", response_model=IndicationOut)
def get_indication(indication_id: str, ctx: NativeContext, box: ContainerDep) -> IndicationOut:
    """One indication."""
    with box.uow(write=False) as uow:
        return _indication(book.get_indication(uow, ctx, indication_id))


def _distribute(
    box: ContainerDep, ctx: NativeContext, tranche_id: str, preview: bool
) -> DistributionOut:
    with box.uow(write=not preview) as uow:
        outcome = distribute_tranche(uow, ctx, tranche_id, preview=preview)
        if not preview:
            uow.commit()
    return distribution_out(outcome)


@router.post("/tranches/{tranche_id}/distribute", response_model=DistributionOut)
def distribute(
    tranche_id: str,
    ctx: NativeContext,
    box: ContainerDep,
    preview: Annotated[bool, Query(description="Compute without storing.")] = False,
) -> DistributionOut:
    """Distribute the tranche pro rata to demand (tiers, limits, minimums, overrides and
    FINRA restrictions applied) and store the result as `distributionType: auto`
    allocations, replacing the tranche's earlier auto allocations."""
    return _distribute(box, ctx, tranche_id, preview)


@router.post("/tranches/{tranche_id}/distribute/preview", response_model=DistributionOut)
def distribute_preview(tranche_id: str, ctx: NativeContext, box: ContainerDep) -> DistributionOut:
    """What `distribute` would store, without storing it."""
    return _distribute(box, ctx, tranche_id, True)
