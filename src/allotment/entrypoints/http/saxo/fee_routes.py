"""Native fee schedules (tag "Fees"): the company's default and each client's own, from which
the fees of Saxo block orders' allocations are computed. Included by the Saxo router."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from fastapi import APIRouter
from pydantic import BaseModel

from allotment.entrypoints.http.deps import ContainerDep, NativeContext
from allotment.entrypoints.http.native.schemas import DecimalOut, DecimalStr, IdPath, Model
from allotment.services.saxo import fees as saxo_fees

router = APIRouter(prefix="/api/v1", tags=["Fees"])


class FeeScheduleIn(Model):
    commission_per_share: DecimalStr = Decimal(0)
    commission_rate: DecimalStr = Decimal(0)
    commission_minimum: DecimalStr = Decimal(0)
    other_fees: DecimalStr = Decimal(0)


class FeeScheduleOut(BaseModel):
    client_id: int | None
    source: str
    commission_per_share: DecimalOut
    commission_rate: DecimalOut
    commission_minimum: DecimalOut
    other_fees: DecimalOut
    tax_rate: DecimalOut
    updated_at: datetime | None
    updated_by: str | None


def _schedule_out(client_id: int | None, found: saxo_fees.EffectiveSchedule) -> FeeScheduleOut:
    terms, stored = found.terms, found.record
    return FeeScheduleOut(
        client_id=client_id,
        source=found.source,
        commission_per_share=terms.commission_per_share,
        commission_rate=terms.commission_rate,
        commission_minimum=terms.commission_minimum,
        other_fees=terms.other_fees,
        tax_rate=found.tax_rate,
        updated_at=stored.updated_at if stored else None,
        updated_by=stored.updated_by if stored else None,
    )


def _terms(body: FeeScheduleIn) -> saxo_fees.FeeTerms:
    return saxo_fees.FeeTerms(
        body.commission_per_share, body.commission_rate, body.commission_minimum, body.other_fees
    )


@router.put("/fee-schedules", response_model=FeeScheduleOut)
def put_company_schedule(
    body: FeeScheduleIn, ctx: NativeContext, box: ContainerDep
) -> FeeScheduleOut:
    """The company's default fees (admin): commission per share or rate of value with a
    minimum, other fees per allocation; tax on commission is the company's tax rate."""
    with box.uow() as uow:
        found = saxo_fees.put_schedule(uow, ctx, None, _terms(body))
        uow.commit()
    return _schedule_out(None, found)


@router.get("/fee-schedules", response_model=FeeScheduleOut)
def get_company_schedule(ctx: NativeContext, box: ContainerDep) -> FeeScheduleOut:
    """The company's default fees."""
    with box.uow(write=False) as uow:
        return _schedule_out(None, saxo_fees.get_schedule(uow, ctx, None))


@router.put("/clients/{client_id}/fee-schedule", response_model=FeeScheduleOut)
def put_client_schedule(
    client_id: IdPath, body: FeeScheduleIn, ctx: NativeContext, box: ContainerDep
) -> FeeScheduleOut:
    """A client's own fees, used instead of the company's (admin)."""
    with box.uow() as uow:
        found = saxo_fees.put_schedule(uow, ctx, client_id, _terms(body))
        uow.commit()
    return _schedule_out(client_id, found)


@router.get("/clients/{client_id}/fee-schedule", response_model=FeeScheduleOut)
def get_client_schedule(client_id: IdPath, ctx: NativeContext, box: ContainerDep) -> FeeScheduleOut:
    """The fees that apply to the client: its own, else the company's (`source` says which)."""
    with box.uow(write=False) as uow:
        return _schedule_out(client_id, saxo_fees.get_schedule(uow, ctx, client_id))
