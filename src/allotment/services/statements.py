"""Per-account daily statements (SPEC §11): an account's positions and cash at the end of a
trade date, recomputed from the journal (entries dated that day or earlier), and the day's
allocations with their fees. Rendered as CSV here; the PDF is an adapter's (`ports`-free: the
entrypoint hands the statement to it)."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from allotment.domain.accounts import Account
from allotment.domain.identity import Scope
from allotment.domain.instruments import Instrument
from allotment.domain.ledger import AssetKind
from allotment.domain.numbers import plain
from allotment.services import exports
from allotment.services.context import Context, visible_account
from allotment.services.ports import AllocationRow, EntryFilter, UnitOfWork

ENTRY_PAGE = 5_000


@dataclass(frozen=True, slots=True)
class PositionLine:
    symbol: str
    isin: str | None
    quantity: Decimal


@dataclass(frozen=True, slots=True)
class Statement:
    account: Account
    client_name: str | None
    trade_date: date
    made_at: datetime
    positions: list[PositionLine]
    cash: dict[str, Decimal]
    allocations: list[dict[str, Any]]
    """The day's allocations as export rows (`exports.export_row`)."""


def daily_statement(uow: UnitOfWork, ctx: Context, account_id: str, day: date) -> Statement:
    """The account's statement of `day`, as the caller may see it (404 / 403 otherwise)."""
    ctx.require(Scope.READ)
    account = visible_account(uow, ctx, account_id)
    instruments = exports.instruments_by_id(uow)
    securities, cash = _balances_at(uow, ctx.company_id, account_id, day)
    positions = [
        PositionLine(_symbol(instruments, asset), _isin(instruments, asset), quantity)
        for asset, quantity in sorted(securities.items(), key=lambda item: item[0])
        if quantity != 0
    ]
    client = (
        uow.accounts.client(ctx.company_id, account.client_id)
        if account.client_id is not None
        else None
    )
    return Statement(
        account=account,
        client_name=client.name if client is not None else None,
        trade_date=day,
        made_at=ctx.now,
        positions=positions,
        cash={currency: amount for currency, amount in sorted(cash.items())},
        allocations=[
            exports.export_row(row, instruments.get(row.instrument_id))
            for row in _allocations_of(uow, ctx.company_id, account_id, day)
        ],
    )


def _balances_at(
    uow: UnitOfWork, company_id: int, account_id: str, day: date
) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """The account's securities (by instrument id) and cash (by currency) summed over every
    entry dated `day` or earlier."""
    securities: dict[str, Decimal] = defaultdict(Decimal)
    cash: dict[str, Decimal] = defaultdict(Decimal)
    after_id = 0
    while True:
        page = uow.ledger.entries(
            EntryFilter(
                company_id=company_id,
                account_id=account_id,
                trade_date_to=day,
                after_id=after_id,
                limit=ENTRY_PAGE,
            )
        )
        for stored in page:
            for posting in stored.entry.postings:
                if posting.account_id == account_id:
                    held = securities if posting.kind is AssetKind.SECURITY else cash
                    held[posting.asset] += posting.amount
        if len(page) < ENTRY_PAGE:
            return securities, cash
        after_id = page[-1].id


def _allocations_of(
    uow: UnitOfWork, company_id: int, account_id: str, day: date
) -> Iterator[AllocationRow]:
    query = exports.AllocationQuery(
        company_id=company_id, account_id=account_id, trade_date_from=day, trade_date_to=day
    )
    return exports.every(uow, query)


def _symbol(instruments: dict[int, Instrument], asset: str) -> str:
    found = instruments.get(int(asset))
    return found.symbol if found is not None else asset


def _isin(instruments: dict[int, Instrument], asset: str) -> str | None:
    found = instruments.get(int(asset))
    return found.isin if found is not None else None


STATEMENT_COLUMNS = (
    "record",
    "account_id",
    "trade_date",
    "symbol",
    "isin",
    "currency",
    "quantity",
    "amount",
    "allocation_id",
    "settlement_date",
    "side",
    "price",
    "trade_value",
    "commission",
    "tax",
    "other_fees",
    "net_amount",
    "reference",
    "dialect",
)


def statement_csv(statement: Statement) -> str:
    """One `position` record per holding, one `cash` record per currency, one `allocation`
    record per allocation of the day."""
    buffer = io.StringIO()
    writer = csv.DictWriter(
        buffer, fieldnames=STATEMENT_COLUMNS, lineterminator="\r\n", extrasaction="ignore"
    )
    writer.writeheader()
    common = {"account_id": statement.account.id, "trade_date": statement.trade_date.isoformat()}
    for position in statement.positions:
        writer.writerow(
            {
                "record": "position",
                **common,
                "symbol": position.symbol,
                "isin": position.isin or "",
                "quantity": plain(position.quantity),
            }
        )
    for currency, amount in statement.cash.items():
        writer.writerow({"record": "cash", **common, "currency": currency, "amount": plain(amount)})
    for row in statement.allocations:
        values = {key: "" if value is None else value for key, value in row.items()}
        writer.writerow({**values, "record": "allocation", "amount": ""})
    return buffer.getvalue()
