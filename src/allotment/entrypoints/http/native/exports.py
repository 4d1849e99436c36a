"""Native API: allocations of every dialect, filtered and paged by key, as JSON pages and as a
streamed CSV file (SPEC §11, decision 0025)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from allotment.entrypoints.http.deps import ContainerDep, NativeContext
from allotment.entrypoints.http.native.ledger import allocation_out
from allotment.entrypoints.http.native.schemas import AfterId, AllocationOut, IdQuery, Page
from allotment.services import exports

router = APIRouter(prefix="/api/v1", tags=["Allocations"])


def filters(
    trade_date_from: date | None = Query(default=None, description="First trade date."),
    trade_date_to: date | None = Query(default=None, description="Last trade date."),
    client_id: IdQuery = None,
    account_id: str | None = Query(default=None, max_length=50),
    symbol: str | None = Query(default=None, max_length=50, description="The instrument."),
    side: str | None = Query(default=None, description="Buy or Sell."),
    status: str | None = Query(default=None, description="booked or reversed."),
    dialect: str | None = Query(default=None, max_length=30),
    block_id: IdQuery = None,
) -> exports.AllocationFilters:
    return exports.AllocationFilters(
        trade_date_from=trade_date_from,
        trade_date_to=trade_date_to,
        client_id=client_id,
        account_id=account_id,
        symbol=symbol,
        side=side,
        status=status,
        dialect=dialect,
        block_id=block_id,
    )


Filters = Annotated[exports.AllocationFilters, Depends(filters)]


@router.get("/allocations", response_model=Page[AllocationOut])
def list_allocations(
    ctx: NativeContext,
    box: ContainerDep,
    chosen: Filters,
    after: AfterId = 0,
    after_id: AfterId = 0,
    limit: int = Query(default=100, ge=1, le=exports.MAX_PAGE),
) -> Page[AllocationOut]:
    """Booked allocations across every dialect, oldest first, filtered by trade date range,
    client, account, instrument, side, status, dialect and block. Pages by key: pass the
    previous page's `next_after_id` as `after` (`after_id` is its older name)."""
    with box.uow(write=False) as uow:
        query = exports.resolve(uow, ctx, chosen)
        rows = exports.page(uow, query, max(after, after_id), limit)
        instruments = exports.instruments_by_id(uow) if rows else {}
    items = [allocation_out(row, instruments.get(row.instrument_id)) for row in rows]
    return Page[AllocationOut](
        items=items, next_after_id=items[-1].id if len(items) == limit else None
    )


@router.get(
    "/allocations.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "The allocations as CSV."}},
)
def export_allocations(ctx: NativeContext, box: ContainerDep, chosen: Filters) -> StreamingResponse:
    """The allocations the same filters select, every page of them, as one CSV file streamed
    as it is read (a header, then one line per allocation with its trade and settlement
    dates, ISIN, accounts, side, quantity, price, fees, net amount and references)."""
    with box.uow(write=False) as uow:
        query = exports.resolve(uow, ctx, chosen)

    def lines() -> Iterator[str]:
        with box.uow(write=False) as reading:
            instruments = exports.instruments_by_id(reading)
            yield from exports.csv_lines(exports.every(reading, query), instruments)

    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="allocations.csv"'},
    )
