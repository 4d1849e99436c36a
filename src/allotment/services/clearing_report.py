"""The clearing report of a trade date (SPEC §5): one row per allocation booked that day (with
its settlement date, ISIN and whether it was booked late), the day's reversals, and totals per
currency and per instrument; as a JSON document and as CSV. Amounts are decimal strings."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from allotment.domain.instruments import Instrument
from allotment.domain.numbers import ZERO, plain
from allotment.services.ports import AllocationRow, EntryFilter, UnitOfWork

ENTRY_PAGE = 10_000

REPORT_COLUMNS = (
    "allocation_id",
    "entry_id",
    "trade_date",
    "settlement_date",
    "late",
    "account_id",
    "source_account_id",
    "symbol",
    "isin",
    "cusip",
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
    "dialect",
    "status",
    "created_at",
    "created_by",
)
"""The keys of each allocation row of the clearing report, in CSV order."""
CSV_COLUMNS = ("record", *REPORT_COLUMNS)


@dataclass(frozen=True, slots=True)
class ClearingReport:
    """A session's report: the JSON document and the CSV text, as stored (or provisional)."""

    company_id: int
    trade_date: date
    status: str
    closed_at: datetime | None
    closed_by: str | None
    allocation_count: int
    totals: dict[str, Any]
    json_text: str
    csv_text: str


def build_report(
    uow: UnitOfWork,
    company_id: int,
    trade_date: date,
    status: str,
    closed_at: datetime | None,
    closed_by: str | None,
) -> ClearingReport:
    allocations = uow.allocations.by_trade_date(company_id, trade_date)
    instruments = {i.id: i for i in uow.instruments.list()}
    rows = [_row(a, instruments[a.instrument_id]) for a in allocations]
    totals = _totals(allocations, rows)
    document = {
        "company_id": company_id,
        "trade_date": trade_date.isoformat(),
        "status": status,
        "closed_at": closed_at.isoformat() if closed_at else None,
        "closed_by": closed_by,
        "allocation_count": len(rows),
        "totals": totals,
        "allocations": rows,
        "reversals": _reversals(uow, company_id, trade_date),
    }
    return ClearingReport(
        company_id=company_id,
        trade_date=trade_date,
        status=status,
        closed_at=closed_at,
        closed_by=closed_by,
        allocation_count=len(rows),
        totals=totals,
        json_text=json.dumps(document, separators=(",", ":")),
        csv_text=_csv(rows, totals),
    )


def _row(allocation: AllocationRow, instrument: Instrument) -> dict[str, Any]:
    settles = allocation.settlement_date
    return {
        "allocation_id": allocation.id,
        "entry_id": allocation.entry_id,
        "trade_date": allocation.trade_date.isoformat(),
        "settlement_date": settles.isoformat() if settles is not None else None,
        "late": allocation.late,
        "account_id": allocation.account_id,
        "source_account_id": allocation.source_account_id,
        "symbol": instrument.symbol,
        "isin": instrument.isin,
        "cusip": instrument.cusip,
        "currency": instrument.currency,
        "side": allocation.side,
        "action": allocation.action,
        "quantity": plain(allocation.quantity),
        "price": plain(allocation.price),
        "trade_value": plain(allocation.trade_value),
        "commission": plain(allocation.commission),
        "tax": plain(allocation.tax),
        "other_fees": plain(allocation.other_fees),
        "net_amount": plain(allocation.net_amount),
        "reference": allocation.reference,
        "block_id": allocation.block_id,
        "dialect": allocation.dialect,
        "status": allocation.status,
        "created_at": allocation.created_at.isoformat(),
        "created_by": allocation.created_by,
    }


MONEY_TOTALS = (
    "bought_value",
    "sold_value",
    "commission",
    "tax",
    "other_fees",
    "net_amount_paid",
    "net_amount_received",
)


def _totals(allocations: Sequence[AllocationRow], rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per currency: counts, trade values by side, fees, and the net amounts clients paid for
    buys and received for sales; per instrument: quantities bought and sold."""
    money: dict[str, dict[str, Decimal]] = defaultdict(lambda: dict.fromkeys(MONEY_TOTALS, ZERO))
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"buy_count": 0, "sell_count": 0})
    quantities: dict[str, dict[str, Decimal]] = defaultdict(
        lambda: {"bought_quantity": ZERO, "sold_quantity": ZERO}
    )
    for allocation, row in zip(allocations, rows, strict=True):
        sums, currency, buying = money[row["currency"]], row["currency"], allocation.side == "Buy"
        sums["bought_value" if buying else "sold_value"] += allocation.trade_value
        sums["net_amount_paid" if buying else "net_amount_received"] += allocation.net_amount
        sums["commission"] += allocation.commission
        sums["tax"] += allocation.tax
        sums["other_fees"] += allocation.other_fees
        counts[currency]["buy_count" if buying else "sell_count"] += 1
        held = quantities[row["symbol"]]
        held["bought_quantity" if buying else "sold_quantity"] += allocation.quantity
    return {
        "allocation_count": len(rows),
        "by_currency": [
            {"currency": currency, **counts[currency], **_plain_all(money[currency])}
            for currency in sorted(money)
        ],
        "by_instrument": [
            {"symbol": symbol, **_plain_all(quantities[symbol])} for symbol in sorted(quantities)
        ],
    }


def _plain_all(values: dict[str, Decimal]) -> dict[str, str]:
    return {name: plain(value) for name, value in values.items()}


def _reversals(uow: UnitOfWork, company_id: int, trade_date: date) -> list[dict[str, Any]]:
    """Reversal entries dated this trade date (of allocations of this or earlier sessions)."""
    found: list[dict[str, Any]] = []
    for stored in _entries(uow, company_id, trade_date, "reversal"):
        original_id = stored.entry.reverses_entry_id
        allocation = uow.allocations.by_entry(original_id) if original_id is not None else None
        if allocation is None:
            continue
        found.append(
            {
                "entry_id": stored.id,
                "reverses_entry_id": original_id,
                "allocation_id": allocation.id,
                "original_trade_date": allocation.trade_date.isoformat(),
            }
        )
    return found


def _entries(uow: UnitOfWork, company_id: int, trade_date: date, entry_type: str) -> Iterable[Any]:
    after_id = 0
    while True:
        page = uow.ledger.entries(
            EntryFilter(
                company_id=company_id,
                trade_date_from=trade_date,
                trade_date_to=trade_date,
                entry_type=entry_type,
                after_id=after_id,
                limit=ENTRY_PAGE,
            )
        )
        yield from page
        if len(page) < ENTRY_PAGE:
            return
        after_id = page[-1].id


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _csv(rows: Sequence[dict[str, Any]], totals: dict[str, Any]) -> str:
    """One `allocation` record per row, then one `total` record per currency (gross trade
    value, fees, and net amount = what clients paid net of what they received)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        values = {key: _cell(value) for key, value in row.items()}
        writer.writerow({"record": "allocation", **values})
    for line in totals["by_currency"]:
        gross = Decimal(line["bought_value"]) + Decimal(line["sold_value"])
        net = Decimal(line["net_amount_paid"]) - Decimal(line["net_amount_received"])
        writer.writerow(
            {
                "record": "total",
                "currency": line["currency"],
                "trade_value": plain(gross),
                "commission": line["commission"],
                "tax": line["tax"],
                "other_fees": line["other_fees"],
                "net_amount": plain(net),
            }
        )
    return buffer.getvalue()
