"""The column sets of a client allocation file (decision 0033), told apart by the header.

- **Clear Street** (`clientallocation_*.csv`): case-insensitive headers in any order, unknown
  columns ignored; `client_trade_id` names the row for ever; rows of one `omni_account_id`,
  `date`, side, instrument and `exec_mpid` make one average-priced block.
- **Interactive Brokers**' allocation import: Trading Account ID, Allocation Account ID,
  Symbol, Side (B, S, SS, BC), Executing Broker, Quantity; we need the execution's Price too,
  and take Trade Date, Commission and Tax when given.
- **Native**: `average_account_id`, `account_id`, `symbol` (or `isin` / `cusip`), `side`,
  `quantity`, `price`, and optionally `trade_date`, `reference`, `commission`, `tax`,
  `other_fees`, `broker`, `comment`.

Each row is read into a `FileRow` of plain text fields, or refused with its column and reason.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from operator import itemgetter
from typing import Any

from allotment.domain.errors import InvalidInstruction
from allotment.domain.numbers import fits_storage

DATES_KEPT = 10_000
NUMBERS_KEPT = 10_000
"""Distinct number texts kept, with what they read as (a value or a refusal)."""


class RowRefused(Exception):
    """A row that cannot be booked: which column, and why."""

    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason


@dataclass(frozen=True, slots=True)
class FileRow:
    """One allocation as the file states it, in our terms."""

    line: int
    reference: str | None
    average_account_id: str
    account_id: str
    identifier: str
    identifier_type: str
    """symbol, isin or cusip."""
    side: str
    short: bool
    quantity: Decimal
    price: Decimal
    trade_date: date | None
    commission: Decimal
    tax: Decimal
    other_fees: Decimal
    broker: str
    currency: str | None
    comment: str


FIELDS = tuple(FileRow.__slots__)


def astuple(row: FileRow) -> tuple[Any, ...]:
    """The row's fields in order (`FileRow(*astuple(row)) == row`), cheap to spill to disk."""
    return tuple(getattr(row, name) for name in FIELDS)


@dataclass(frozen=True, slots=True)
class Layout:
    name: str
    fields: Mapping[str, str]
    """Our field -> the file's column (normalised)."""
    required: Sequence[str]
    """Our fields whose column the header must have."""
    column_names: Mapping[str, str]
    """Our field -> the column's name as the vendor writes it (for rejects)."""


def _normalise(name: str) -> str:
    return name.strip().lower()


def _squeeze(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


CLEAR_STREET = {
    "reference": "client_trade_id",
    "average_account_id": "omni_account_id",
    "account_id": "account_id",
    "trade_date": "date",
    "broker": "exec_mpid",
    "side": "side.direction",
    "short": "side.qualifier",
    "identifier": "instrument.identifier",
    "identifier_type": "instrument.identifier_type",
    "currency": "instrument.currency",
    "quantity": "quantity",
    "price": "price",
    "commission": "fees.commission",
    "capacity": "capacity",
}
CLEAR_STREET_REQUIRED = (
    "reference",
    "average_account_id",
    "account_id",
    "trade_date",
    "broker",
    "side",
    "identifier",
    "identifier_type",
    "quantity",
    "price",
    "capacity",
)
IBKR = {
    "average_account_id": "Trading Account ID",
    "account_id": "Allocation Account ID",
    "identifier": "Symbol",
    "side": "Side",
    "broker": "Executing Broker",
    "quantity": "Quantity",
    "price": "Price",
    "trade_date": "Trade Date",
    "commission": "Commission",
    "tax": "Tax",
}
IBKR_REQUIRED = ("average_account_id", "account_id", "identifier", "side", "quantity", "price")
NATIVE = (
    "reference",
    "average_account_id",
    "account_id",
    "symbol",
    "isin",
    "cusip",
    "side",
    "quantity",
    "price",
    "trade_date",
    "commission",
    "tax",
    "other_fees",
    "broker",
    "comment",
)
NATIVE_REQUIRED = ("average_account_id", "account_id", "side", "quantity", "price")


def detect(header: Sequence[str]) -> tuple[Layout, dict[str, int]]:
    """The layout the header names, and the position of each of our fields in a row."""
    plain = [_normalise(name) for name in header]
    squeezed = [_squeeze(name) for name in header]
    if "client_trade_id" in plain and "omni_account_id" in plain:
        layout = Layout("clearstreet", CLEAR_STREET, CLEAR_STREET_REQUIRED, CLEAR_STREET)
        names = plain
    elif "tradingaccountid" in squeezed and "allocationaccountid" in squeezed:
        fields = {field: _squeeze(column) for field, column in IBKR.items()}
        layout = Layout("ibkr", fields, IBKR_REQUIRED, IBKR)
        names = squeezed
    elif "average_account_id" in plain and "account_id" in plain:
        native = {field: field for field in NATIVE}
        layout = Layout("native", native, NATIVE_REQUIRED, native)
        names = plain
    else:
        raise InvalidInstruction(
            "the header names no known column set: Clear Street's (client_trade_id, "
            "omni_account_id, ...), Interactive Brokers' (Trading Account ID, Allocation "
            "Account ID, ...) or ours (average_account_id, account_id, symbol, ...)"
        )
    positions = {
        field: names.index(column) for field, column in layout.fields.items() if column in names
    }
    missing = [layout.column_names[field] for field in layout.required if field not in positions]
    if layout.name == "native" and not {"symbol", "isin", "cusip"} & positions.keys():
        missing.append("symbol (or isin or cusip)")
    if missing:
        raise InvalidInstruction(
            f"the {layout.name} header lacks the column(s) {', '.join(missing)}", missing=missing
        )
    return layout, positions


class RowReader:
    """Reads the rows of one layout into `FileRow`s."""

    def __init__(self, layout: Layout, positions: dict[str, int], digest: str) -> None:
        self.layout = layout
        self._at = positions
        self._fields = tuple(positions)
        self._width = max(positions.values()) + 1
        self._take = itemgetter(*positions.values())
        self._digest = digest
        self._dates: dict[str, date] = {}
        self._numbers: dict[tuple[str, str], Decimal | RowRefused] = {}

    def _text(self, row: Mapping[str, str], field: str) -> str:
        return row.get(field, "")

    def _cells(self, row: Sequence[str]) -> dict[str, str]:
        """Our fields' texts, stripped, taken from the row at once ("" when it is short)."""
        if len(row) >= self._width:
            return dict(zip(self._fields, map(str.strip, self._take(row)), strict=True))
        return {field: row[at].strip() for field, at in self._at.items() if at < len(row)}

    def _needed(self, row: Mapping[str, str], field: str) -> str:
        text = self._text(row, field)
        if not text and field in self.layout.required:
            raise RowRefused(self.layout.column_names[field], "is required")
        return text

    def _number(self, row: Mapping[str, str], field: str, *, positive: bool) -> Decimal:
        text = self._needed(row, field) if positive else self._text(row, field)
        if not text:
            return Decimal(0)
        # Files repeat their quantities, prices and fees: each text is read and judged once.
        known = self._numbers.get((field, text))
        if known is None:
            if len(self._numbers) >= NUMBERS_KEPT:
                self._numbers.clear()
            known = self._numbers[(field, text)] = self._parse_number(field, text, positive)
        if isinstance(known, RowRefused):
            raise RowRefused(known.column, known.reason)
        return known

    def _parse_number(self, field: str, text: str, positive: bool) -> Decimal | RowRefused:
        column = self.layout.column_names[field]
        try:
            value = Decimal(text.replace(",", "") if self.layout.name == "ibkr" else text)
        except InvalidOperation:
            return RowRefused(column, f"{text!r} is not a number")
        if not value.is_finite() or not fits_storage(value):
            return RowRefused(column, f"{text!r} is out of range")
        if value < 0 or (positive and value == 0):
            return RowRefused(column, "must be positive" if positive else "must not be negative")
        return value

    def read(self, line: int, cells: Sequence[str]) -> FileRow:
        if "\x00" in "".join(cells):
            at = next(at for at, text in enumerate(cells) if "\x00" in text)
            raise RowRefused(self._column_at(at), "holds a NUL character")
        row = self._cells(cells)
        identifier, identifier_type = self._instrument(row)
        side, short = self._side(row)
        reference = self._text(row, "reference") or None
        if reference is not None and len(reference) > 100:
            raise RowRefused(self.layout.column_names["reference"], "is over 100 characters")
        return FileRow(
            line=line,
            reference=reference or f"{self.layout.name}:{self._digest[:24]}:{line}",
            average_account_id=self._needed(row, "average_account_id"),
            account_id=self._needed(row, "account_id"),
            identifier=identifier,
            identifier_type=identifier_type,
            side=side,
            short=short,
            quantity=self._number(row, "quantity", positive=True),
            price=self._number(row, "price", positive=True),
            trade_date=self._date(row),
            commission=self._number(row, "commission", positive=False),
            tax=self._number(row, "tax", positive=False),
            other_fees=self._number(row, "other_fees", positive=False),
            broker=self._text(row, "broker"),
            currency=self._text(row, "currency").upper() or None,
            comment=self._text(row, "comment")[:200],
        )

    def _column_at(self, at: int) -> str:
        for field, position in self._at.items():
            if position == at:
                return self.layout.column_names[field]
        return f"column {at + 1}"

    def _instrument(self, row: Mapping[str, str]) -> tuple[str, str]:
        if self.layout.name == "clearstreet":
            kind = self._needed(row, "identifier_type").lower()
            if kind not in ("ticker", "isin", "cusip"):
                raise RowRefused(
                    "instrument.identifier_type", f"{kind!r} is not ticker, isin or cusip"
                )
            return self._needed(row, "identifier"), "symbol" if kind == "ticker" else kind
        if self.layout.name == "ibkr":
            return self._needed(row, "identifier"), "symbol"
        for kind in ("symbol", "isin", "cusip"):
            text = self._text(row, kind)
            if text:
                return text, kind
        raise RowRefused("symbol", "is required (or isin, or cusip)")

    def _side(self, row: Mapping[str, str]) -> tuple[str, bool]:
        text = self._needed(row, "side")
        column = self.layout.column_names["side"]
        if self.layout.name == "ibkr":
            sides = {"B": ("Buy", False), "BC": ("Buy", False), "S": ("Sell", False)}
            sides["SS"] = ("Sell", True)
            found = sides.get(text.upper())
            if found is None:
                raise RowRefused(column, f"{text!r} is not B, S, SS or BC")
            return found
        side = text.lower()
        if side not in ("buy", "sell"):
            raise RowRefused(column, f"{text!r} is not buy or sell")
        short = self.layout.name == "clearstreet" and self._text(row, "short").lower() == "short"
        return side.capitalize(), short

    def _date(self, row: Mapping[str, str]) -> date | None:
        text = self._needed(row, "trade_date")
        if not text:
            return None
        known = self._dates.get(text)
        if known is None:
            known = self._dates[text] = self._parse_date(text)
            if len(self._dates) > DATES_KEPT:
                self._dates.clear()
        return known

    def _parse_date(self, text: str) -> date:
        for shape in ("%Y%m%d", "%Y-%m-%d"):
            try:
                return datetime.strptime(text, shape).date()
            except ValueError:
                continue
        column = self.layout.column_names["trade_date"]
        raise RowRefused(column, f"{text!r} is not a date (YYYYMMDD or YYYY-MM-DD)")
