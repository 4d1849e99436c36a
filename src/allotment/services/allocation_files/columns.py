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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from operator import itemgetter
from typing import Any, NamedTuple

from allotment.domain.errors import InvalidInstruction
from allotment.domain.numbers import ZERO, fits_storage
from allotment.services.allocation_files.kept import Kept

KEPT = 10_000
"""Distinct texts kept per cache, with what they read as (a value or a refusal)."""


class RowRefused(Exception):
    """A row that cannot be booked: which column, and why."""

    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason


class FileRow(NamedTuple):
    """One allocation as the file states it, in our terms (a named tuple: a file makes a
    million of them, and spills what it needs of them)."""

    line: int
    reference: str
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


TEXTS = (
    "reference", "average_account_id", "account_id", "identifier", "identifier_type", "symbol",
    "isin", "cusip", "side", "short", "quantity", "price", "trade_date", "commission", "tax",
    "other_fees", "broker", "currency", "comment",
)  # fmt: skip
"""The texts a row is read from, in this order ("" where the layout has no such column)."""
NUMBERS = ("quantity", "price", "commission", "tax", "other_fees")
POSITIVE = frozenset(("quantity", "price"))


class RowReader:
    """Reads the rows of one layout into `FileRow`s. Files repeat their instruments, sides,
    dates, quantities, prices and fees: each distinct text (or set of texts) is read and
    judged once and kept, refusals included, in caches of bounded size."""

    def __init__(self, layout: Layout, positions: dict[str, int], digest: str) -> None:
        self.layout = layout
        self._at = positions
        self._positions = tuple(positions.values())
        self._width = max(self._positions) + 1
        self._take = itemgetter(*self._positions)
        present = list(positions)
        blank = len(present)  # the "" added after the row's texts
        self._pick = itemgetter(*(present.index(f) if f in positions else blank for f in TEXTS))
        self._required = frozenset(layout.required)
        self._default = f"{layout.name}:{digest[:24]}:"
        self._dates: Kept[tuple[str, ...], date | RowRefused] = Kept(KEPT)
        self._numbers = {
            field: Kept[tuple[str, ...], Decimal | RowRefused](KEPT) for field in NUMBERS
        }
        self._instruments: Kept[tuple[str, ...], tuple[str, str] | RowRefused] = Kept(KEPT)
        self._sides: Kept[tuple[str, ...], tuple[str, bool] | RowRefused] = Kept(KEPT)
        self._rows: Kept[tuple[str, ...], tuple[Any, ...]] = Kept(KEPT)

    def _texts(self, cells: Sequence[str]) -> tuple[str, ...]:
        """The row's texts in `TEXTS` order, stripped, taken at once."""
        if len(cells) >= self._width:
            taken: Sequence[str] = self._take(cells)
        else:
            size = len(cells)
            taken = [cells[at] if at < size else "" for at in self._positions]
        return self._pick((*map(str.strip, taken), ""))  # type: ignore[no-any-return]

    def _needed(self, field: str, text: str) -> str:
        if not text and field in self._required:
            raise RowRefused(self.layout.column_names[field], "is required")
        return text

    def read(self, line: int, cells: Sequence[str]) -> FileRow:
        if "\x00" in "".join(cells):
            at = next(at for at, text in enumerate(cells) if "\x00" in text)
            raise RowRefused(self._column_at(at), "holds a NUL character")
        texts = self._texts(cells)
        # Rows differ mostly in their reference and accounts: the rest of a row (instrument,
        # side, numbers, date, broker, currency), once read without a refusal, is kept whole.
        shared = texts[3:18]
        known = self._rows.get(shared)
        if known is None:
            row = self._read(line, texts)
            self._rows.keep(shared, row[4:16])
            return row
        reference, average, account = texts[:3]
        if len(reference) > 100:
            raise RowRefused(self.layout.column_names["reference"], "is over 100 characters")
        return FileRow._make(
            (
                line,
                reference or f"{self._default}{line}",
                average or self._needed("average_account_id", average),
                account or self._needed("account_id", account),
                *known,
                texts[18][:200],
            )
        )

    def _read(self, line: int, texts: tuple[str, ...]) -> FileRow:
        """`read`, each part of the row judged on its own, refusals in the columns' order."""
        (reference, average, account, identifier, kind, symbol, isin, cusip, side, short,
         quantity, price, day, commission, tax, other_fees, broker, currency, comment,
         ) = texts  # fmt: skip
        identifier, kind = _known(
            self._instruments, (identifier, kind, symbol, isin, cusip), self._instrument
        )
        side, short_sale = _known(self._sides, (side, short), self._side)
        if len(reference) > 100:
            raise RowRefused(self.layout.column_names["reference"], "is over 100 characters")
        numbers = self._numbers
        return FileRow(
            line,
            reference or f"{self._default}{line}",
            average or self._needed("average_account_id", average),
            account or self._needed("account_id", account),
            identifier,
            kind,
            side,
            short_sale,
            _known(numbers["quantity"], (self._needed("quantity", quantity),), self._quantity),
            _known(numbers["price"], (self._needed("price", price),), self._price),
            _known(self._dates, (day,), self._parse_date) if day else self._no_date(),
            _known(numbers["commission"], (commission,), self._commission) if commission else ZERO,
            _known(numbers["tax"], (tax,), self._tax) if tax else ZERO,
            _known(numbers["other_fees"], (other_fees,), self._other_fees) if other_fees else ZERO,
            broker,
            currency.upper() or None,
            comment[:200],
        )

    def _no_date(self) -> date | None:
        """A row without a trade date: refused when the layout needs one."""
        self._needed("trade_date", "")
        return None

    def _quantity(self, text: str) -> Decimal:
        return self._parse_number("quantity", text)

    def _price(self, text: str) -> Decimal:
        return self._parse_number("price", text)

    def _commission(self, text: str) -> Decimal:
        return self._parse_number("commission", text)

    def _tax(self, text: str) -> Decimal:
        return self._parse_number("tax", text)

    def _other_fees(self, text: str) -> Decimal:
        return self._parse_number("other_fees", text)

    def _parse_number(self, field: str, text: str) -> Decimal:
        column = self.layout.column_names[field]
        positive = field in POSITIVE
        try:
            value = Decimal(text.replace(",", "") if self.layout.name == "ibkr" else text)
        except InvalidOperation:
            raise RowRefused(column, f"{text!r} is not a number") from None
        if not value.is_finite() or not fits_storage(value):
            raise RowRefused(column, f"{text!r} is out of range")
        if value < 0 or (positive and value == 0):
            raise RowRefused(column, "must be positive" if positive else "must not be negative")
        return value

    def _column_at(self, at: int) -> str:
        for field, position in self._at.items():
            if position == at:
                return self.layout.column_names[field]
        return f"column {at + 1}"

    def _instrument(
        self, identifier: str, kind: str, symbol: str, isin: str, cusip: str
    ) -> tuple[str, str]:
        if self.layout.name == "clearstreet":
            kind = self._needed("identifier_type", kind).lower()
            if kind not in ("ticker", "isin", "cusip"):
                raise RowRefused(
                    "instrument.identifier_type", f"{kind!r} is not ticker, isin or cusip"
                )
            return self._needed("identifier", identifier), "symbol" if kind == "ticker" else kind
        if self.layout.name == "ibkr":
            return self._needed("identifier", identifier), "symbol"
        for text, kind in ((symbol, "symbol"), (isin, "isin"), (cusip, "cusip")):
            if text:
                return text, kind
        raise RowRefused("symbol", "is required (or isin, or cusip)")

    def _side(self, text: str, short: str) -> tuple[str, bool]:
        text = self._needed("side", text)
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
        return side.capitalize(), self.layout.name == "clearstreet" and short.lower() == "short"

    def _parse_date(self, text: str) -> date:
        for shape in ("%Y%m%d", "%Y-%m-%d"):
            try:
                return datetime.strptime(text, shape).date()
            except ValueError:
                continue
        column = self.layout.column_names["trade_date"]
        raise RowRefused(column, f"{text!r} is not a date (YYYYMMDD or YYYY-MM-DD)")


def _known(cache: Kept[Any, Any], key: tuple[str, ...], read: Callable[..., Any]) -> Any:
    """What `read(*key)` answers, read once per distinct key (a refusal is kept too and raised
    again)."""
    known = cache.get(key)
    if known is None:
        try:
            known = read(*key)
        except RowRefused as refused:
            known = refused
        cache.keep(key, known)
    if isinstance(known, RowRefused):
        raise RowRefused(known.column, known.reason)
    return known
