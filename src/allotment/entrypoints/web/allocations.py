"""Allocations across dialects: search with filters, paged, and the same search as CSV."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from typing import TypedDict

from fastapi import APIRouter, Request
from fastapi.responses import Response

from allotment.domain.numbers import plain
from allotment.entrypoints.web.rendering import PREFIX, SECURITY_HEADERS, page
from allotment.entrypoints.web.session import Reader
from allotment.services.desk import allocations as desk_allocations

router = APIRouter(prefix=f"{PREFIX}/allocations", include_in_schema=False)
PAGE_SIZE = 50
COLUMNS = (
    "id",
    "dialect",
    "trade_date",
    "account_id",
    "source_account_id",
    "instrument_id",
    "side",
    "quantity",
    "price",
    "trade_value",
    "commission",
    "tax",
    "other_fees",
    "net_amount",
    "block_id",
    "reference",
    "status",
    "entry_id",
    "created_at",
    "created_by",
)


class Filters(TypedDict):
    dialect: str | None
    block_id: int | None
    account_id: str | None


def _filters(dialect: str, block: int | None, account: str) -> Filters:
    return Filters(
        dialect=dialect.strip() or None, block_id=block, account_id=account.strip() or None
    )


@router.get("")
def search(
    request: Request,
    found: Reader,
    dialect: str = "",
    block: int | None = None,
    account: str = "",
    after: int = 0,
) -> Response:
    with found.box.uow(write=False) as uow:
        rows = desk_allocations.search(
            uow, found.ctx, **_filters(dialect, block, account), after_id=after, limit=PAGE_SIZE
        )
        symbols = {i.id: i.symbol for i in uow.instruments.list()}
    values = {
        "user": found,
        "rows": rows,
        "symbols": symbols,
        "filters": {"dialect": dialect, "block": block or "", "account": account},
        "next_after": rows[-1].id if len(rows) == PAGE_SIZE else None,
    }
    return page(request, "allocations.html", values)


@router.get("/export.csv")
def export(
    found: Reader, dialect: str = "", block: int | None = None, account: str = ""
) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    with found.box.uow(write=False) as uow:
        for row in desk_allocations.export(uow, found.ctx, **_filters(dialect, block, account)):
            writer.writerow(_cell(getattr(row, name)) for name in COLUMNS)
    headers = {**SECURITY_HEADERS, "Content-Disposition": 'attachment; filename="allocations.csv"'}
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return plain(value)
    if isinstance(value, date):  # and datetimes
        return value.isoformat()
    return str(value)
