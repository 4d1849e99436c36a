"""Files out (SPEC §11): the allocations of every dialect, filtered and paged by key, as rows
for the native API's JSON page, its CSV export and `allotment export allocations`."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Protocol

from allotment.domain.errors import InvalidInstruction
from allotment.domain.identity import Scope
from allotment.domain.instruments import Instrument
from allotment.domain.numbers import plain
from allotment.services.context import Context, visible_account_ids
from allotment.services.ports import AllocationRow, UnitOfWork

EXPORT_PAGE = 5_000
"""Rows read per query while an export streams: memory stays bounded whatever the range."""
MAX_PAGE = 1_000

SIDES = ("Buy", "Sell")
STATUSES = ("booked", "reversed")


@dataclass(frozen=True, slots=True)
class AllocationQuery:
    """Which allocations: every filter is optional; `after` is the last id already seen."""

    company_id: int
    account_ids: frozenset[str] | None = None
    """The accounts the caller may see (None: every account of the company)."""
    trade_date_from: date | None = None
    trade_date_to: date | None = None
    client_id: int | None = None
    account_id: str | None = None
    instrument_id: int | None = None
    side: str | None = None
    status: str | None = None
    dialect: str | None = None
    block_id: int | None = None
    after: int = 0
    limit: int = 100


class ExportRepository(Protocol):
    def allocations(self, query: AllocationQuery) -> list[AllocationRow]: ...


def _repository(uow: UnitOfWork) -> ExportRepository:
    return uow.exports


@dataclass(frozen=True, slots=True)
class AllocationFilters:
    """What a caller asks for, before it is checked and resolved."""

    trade_date_from: date | None = None
    trade_date_to: date | None = None
    client_id: int | None = None
    account_id: str | None = None
    symbol: str | None = None
    side: str | None = None
    status: str | None = None
    dialect: str | None = None
    block_id: int | None = None


def resolve(uow: UnitOfWork, ctx: Context, filters: AllocationFilters) -> AllocationQuery | None:
    """The query for these filters as the caller may see them; None when nothing can match
    (an unknown instrument)."""
    ctx.require(Scope.READ)
    _check(filters)
    instrument_id = None
    if filters.symbol is not None:
        instrument = uow.instruments.by_symbol(filters.symbol)
        if instrument is None:
            return None
        instrument_id = instrument.id
    return AllocationQuery(
        company_id=ctx.company_id,
        account_ids=visible_account_ids(uow, ctx),
        trade_date_from=filters.trade_date_from,
        trade_date_to=filters.trade_date_to,
        client_id=filters.client_id,
        account_id=filters.account_id,
        instrument_id=instrument_id,
        side=filters.side,
        status=filters.status,
        dialect=filters.dialect,
        block_id=filters.block_id,
    )


def _check(filters: AllocationFilters) -> None:
    if filters.side is not None and filters.side not in SIDES:
        raise InvalidInstruction(f"side must be one of {', '.join(SIDES)}", side=filters.side)
    if filters.status is not None and filters.status not in STATUSES:
        raise InvalidInstruction(
            f"status must be one of {', '.join(STATUSES)}", status=filters.status
        )
    start, end = filters.trade_date_from, filters.trade_date_to
    if start is not None and end is not None and start > end:
        raise InvalidInstruction(
            "trade_date_from is after trade_date_to",
            trade_date_from=start.isoformat(),
            trade_date_to=end.isoformat(),
        )


def page(
    uow: UnitOfWork, query: AllocationQuery | None, after: int, limit: int
) -> list[AllocationRow]:
    """One page of allocations in id order, after the id `after`."""
    if limit < 1 or limit > MAX_PAGE:
        raise InvalidInstruction(f"limit must be between 1 and {MAX_PAGE}", limit=limit)
    if query is None:
        return []
    return _repository(uow).allocations(replace(query, after=after, limit=limit))


def every(uow: UnitOfWork, query: AllocationQuery | None) -> Iterator[AllocationRow]:
    """Every matching allocation, read a page at a time."""
    after = 0
    while query is not None:
        rows = _repository(uow).allocations(replace(query, after=after, limit=EXPORT_PAGE))
        yield from rows
        if len(rows) < EXPORT_PAGE:
            return
        after = rows[-1].id or 0


EXPORT_COLUMNS = (
    "allocation_id",
    "trade_date",
    "settlement_date",
    "late",
    "account_id",
    "source_account_id",
    "symbol",
    "isin",
    "currency",
    "side",
    "action",
    "quantity",
    "price",
    "trade_value",
    "commission",
    "tax",
    "other_fees",
    "net_amount",
    "reference",
    "block_id",
    "entry_id",
    "dialect",
    "status",
    "created_at",
    "created_by",
)


def export_row(row: AllocationRow, instrument: Instrument | None) -> dict[str, Any]:
    """One allocation as an export row: amounts as decimal strings, dates in ISO form."""
    return {
        "allocation_id": row.id,
        "trade_date": row.trade_date.isoformat(),
        "settlement_date": row.settlement_date.isoformat() if row.settlement_date else None,
        "late": row.late,
        "account_id": row.account_id,
        "source_account_id": row.source_account_id,
        "symbol": instrument.symbol if instrument else None,
        "isin": instrument.isin if instrument else None,
        "currency": instrument.currency if instrument else None,
        "side": row.side,
        "action": row.action,
        "quantity": plain(row.quantity),
        "price": plain(row.price),
        "trade_value": plain(row.trade_value),
        "commission": plain(row.commission),
        "tax": plain(row.tax),
        "other_fees": plain(row.other_fees),
        "net_amount": plain(row.net_amount),
        "reference": row.reference,
        "block_id": row.block_id,
        "entry_id": row.entry_id,
        "dialect": row.dialect,
        "status": row.status,
        "created_at": row.created_at.isoformat(),
        "created_by": row.created_by,
    }


def csv_lines(rows: Iterator[AllocationRow], instruments: dict[int, Instrument]) -> Iterator[str]:
    """The CSV export, a header then a line per allocation (CRLF line ends, RFC 4180)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    yield _drain(buffer)
    for row in rows:
        values = export_row(row, instruments.get(row.instrument_id))
        writer.writerow({key: _cell(value) for key, value in values.items()})
        yield _drain(buffer)


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def instruments_by_id(uow: UnitOfWork) -> dict[int, Instrument]:
    return {instrument.id: instrument for instrument in uow.instruments.list()}


def rows_as_dicts(
    rows: Sequence[AllocationRow], instruments: dict[int, Instrument]
) -> list[dict[str, Any]]:
    return [export_row(row, instruments.get(row.instrument_id)) for row in rows]
