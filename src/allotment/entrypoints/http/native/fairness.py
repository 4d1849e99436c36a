"""Native API: the fairness ledger (SPEC §12). Per account, instrument and allocation key, the
cumulative deviation of what was given from the engine's exact targets, over any period."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel
from starlette.responses import Response

from allotment.entrypoints.http.deps import ContainerDep, NativeContext
from allotment.services import fairness
from allotment.services.fairness import FairnessLine, FairnessQuery

router = APIRouter(prefix="/api/v1", tags=["Fairness"])


class FairnessLineOut(BaseModel):
    account_id: str
    instrument_id: int | None
    """None for a book-building tranche's distribution, whose key is "tranche:" and its id."""
    key: str
    """The allocation key's id ("" for allocations split without a stored key, and for
    instructed quantities: ETNA, block-trade children, allocation files, native bookings)."""
    allocation_count: int
    given_quantity: str
    target_quantity: str
    """The sum of the exact targets, as an exact fraction ("301/3")."""
    deviation_increments: str
    """Given minus target, in increments, as an exact fraction."""
    deviation_increments_decimal: str
    """The same to 6 decimals, half-even."""
    deviation_money: str
    """Given minus target valued at each allocation's price, to the cent, half-even."""


AccountQuery = Annotated[str | None, Query(max_length=50, description="One account")]
SymbolQuery = Annotated[str | None, Query(max_length=20, description="An instrument's symbol")]
KeyQuery = Annotated[str | None, Query(max_length=50, description="An allocation key's id")]
FromQuery = Annotated[date | None, Query(alias="from", description="First trade date")]
ToQuery = Annotated[date | None, Query(alias="to", description="Last trade date")]


def _query(
    account_id: str | None,
    instrument: str | None,
    key: str | None,
    start: date | None,
    end: date | None,
) -> FairnessQuery:
    return FairnessQuery(account_id, instrument, key, start, end)


def _lines(box: ContainerDep, ctx: NativeContext, query: FairnessQuery) -> list[FairnessLine]:
    with box.uow(write=False) as uow:
        return fairness.report(uow, ctx, query)


@router.get("/fairness", response_model=list[FairnessLineOut])
def fairness_report(
    ctx: NativeContext,
    box: ContainerDep,
    account_id: AccountQuery = None,
    instrument: SymbolQuery = None,
    key: KeyQuery = None,
    start: FromQuery = None,
    end: ToQuery = None,
) -> list[FairnessLineOut]:
    """The cumulative deviation per account, instrument and allocation key over the trade
    dates from `from` to `to` (both included): how far each account's allocations were from
    the exact targets, in increments and in money. Without `account_id` the caller needs
    access to every client."""
    lines = _lines(box, ctx, _query(account_id, instrument, key, start, end))
    return [FairnessLineOut.model_validate(line.as_dict()) for line in lines]


@router.get(
    "/fairness.csv",
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
    response_class=Response,
)
def fairness_report_csv(
    ctx: NativeContext,
    box: ContainerDep,
    account_id: AccountQuery = None,
    instrument: SymbolQuery = None,
    key: KeyQuery = None,
    start: FromQuery = None,
    end: ToQuery = None,
) -> Response:
    """The fairness report as CSV, one record per account, instrument and key."""
    lines = _lines(box, ctx, _query(account_id, instrument, key, start, end))
    return Response(
        fairness.as_csv(lines),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="fairness.csv"'},
    )
