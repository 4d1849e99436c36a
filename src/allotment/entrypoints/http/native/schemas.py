"""Native API models: snake_case JSON, decimals as strings."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Path, Query
from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
)

from allotment.domain import numbers
from allotment.domain.allocation.model import RemainderPolicy
from allotment.entrypoints.wire import LARGEST as LARGEST
from allotment.entrypoints.wire import DecimalOut as DecimalOut
from allotment.entrypoints.wire import DecimalStr as DecimalStr
from allotment.entrypoints.wire import Model as Model

MAX_ID = numbers.MAX_ID


IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]


def _written_as_date(value: Any) -> Any:
    """Only YYYY-MM-DD: pydantic would also read a number as seconds since 1970 (`0` as
    1970-01-01)."""
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise ValueError("must be a date written YYYY-MM-DD")
    return value


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
DatePath = Annotated[date, Path(description="YYYY-MM-DD"), BeforeValidator(_written_as_date)]
IdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]
AfterId = Annotated[int, Query(ge=0, le=MAX_ID, description="The last id of the previous page.")]
ClientId = Annotated[int, Field(ge=1, le=MAX_ID)]


class ClientIn(Model):
    name: str = Field(min_length=1, max_length=200)
    id: int | None = Field(default=None, ge=1, le=2**62)


class ClientOut(BaseModel):
    id: int
    name: str
    client_key: str


class AccountIn(Model):
    id: str = Field(min_length=1, max_length=50, pattern=r"^[A-Za-z0-9_.-]+$")
    client_id: int | None = Field(default=None, ge=1, le=2**62)
    type: str = Field(pattern="^(Cash|Margin|DayTrader)$")
    role: str = Field(default="client", pattern="^(client|average)$")
    currency: str = Field(default="USD", pattern="^[A-Z]{3}$")
    credit_limit: DecimalStr = Decimal(0)
    account_key: str | None = Field(default=None, min_length=1, max_length=100)


class AccountOut(BaseModel):
    id: str
    account_key: str
    client_id: int | None
    type: str
    role: str
    status: str
    currency: str
    credit_limit: DecimalOut


class InstrumentIn(Model):
    symbol: str = Field(min_length=1, max_length=50)
    uic: int = Field(ge=1, le=2**62)
    asset_type: str = Field(default="Stock", min_length=1, max_length=50)
    currency: str = Field(default="USD", pattern="^[A-Z]{3}$")
    quantity_increment: DecimalStr = Decimal(1)
    price_increment: DecimalStr = Decimal("0.01")
    isin: str | None = Field(default=None, pattern="^[A-Z]{2}[A-Z0-9]{9}[0-9]$")
    cusip: str | None = Field(default=None, pattern="^[A-Z0-9*@#]{8}[0-9]$")
    market: str | None = Field(
        default=None, pattern="^[A-Z0-9]{4}$", description="ISO 10383 MIC, e.g. XNAS or XASX."
    )
    settlement_days: int | None = Field(
        default=None, ge=0, le=30, description="Settlement cycle, when not the market's."
    )


class InstrumentOut(BaseModel):
    id: int
    symbol: str
    uic: int
    asset_type: str
    currency: str
    quantity_increment: DecimalOut
    price_increment: DecimalOut
    isin: str | None = None
    cusip: str | None = None
    market: str | None = None
    settlement_days: int
    """The settlement cycle in the market's business days (T+n)."""


class CashIn(Model):
    account_id: str = Field(min_length=1, max_length=50)
    amount: DecimalStr
    currency: str | None = Field(default=None, pattern="^[A-Z]{3}$")
    trade_date: date | None = Field(
        default=None, description="The trade date to book on (default: the business date)."
    )


class PositionIn(Model):
    account_id: str = Field(min_length=1, max_length=50)
    symbol: str = Field(min_length=1, max_length=50)
    quantity: DecimalStr
    price: DecimalStr
    trade_date: date | None = Field(
        default=None, description="The trade date to book on (default: the business date)."
    )


class EntryCreated(BaseModel):
    entry_id: int


class ReverseIn(Model):
    reason: str = Field(default="", max_length=500)
    trade_date: date | None = Field(
        default=None, description="The trade date to book on (default: the business date)."
    )


class PostingOut(BaseModel):
    account_id: str
    kind: str
    asset: str
    amount: DecimalOut
    price: DecimalOut | None


class EntryOut(BaseModel):
    id: int
    entry_type: str
    description: str
    trade_date: date
    created_at: datetime
    created_by: str
    dialect: str
    reverses_entry_id: int | None
    postings: list[PostingOut]


class PositionOut(BaseModel):
    instrument_id: int
    symbol: str
    quantity: DecimalOut
    average_cost: DecimalOut | None


class CashOut(BaseModel):
    currency: str
    amount: DecimalOut


class BalancesOut(BaseModel):
    account_id: str
    positions: list[PositionOut]
    cash: list[CashOut]


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str
    actor_kind: str
    action: str
    object_type: str
    object_id: str
    dialect: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class FillIn(Model):
    quantity: DecimalStr
    price: DecimalStr
    executed_at: datetime | None = None
    trade_date: date | None = Field(
        default=None,
        description="The trade date its bookings go to (default: the business date).",
    )
    remainder_policy: RemainderPolicy | None = Field(
        default=None,
        description="Who gets the increments this fill's pro rata split cannot place: "
        "overrides the block's policy and its key's (a block allocated by a key only).",
    )


class BlockIn(Model):
    account_id: str = Field(min_length=1, max_length=50)
    symbol: str = Field(min_length=1, max_length=50)
    side: str = Field(pattern="^(Buy|Sell)$")
    quantity: DecimalStr
    fills: list[FillIn] = Field(default_factory=list, max_length=10_000)
    master_reference: str | None = Field(default=None, min_length=1, max_length=16)
    allocation_key_id: str | None = Field(default=None, max_length=50)
    id: int | None = Field(default=None, ge=1, le=2**62)
    remainder_policy: RemainderPolicy | None = Field(
        default=None,
        description="The block's remainder policy, recorded now: overrides its key's "
        "(needs `allocation_key_id`); a fill's request may override it in turn.",
    )


class FillOut(BaseModel):
    id: int
    sequence: int
    quantity: DecimalOut
    price: DecimalOut
    executed_at: datetime
    entry_id: int


class BlockOut(BaseModel):
    id: int
    block_trade_allocation_id: int
    master_reference: str | None
    account_id: str
    symbol: str
    side: str
    ordered_quantity: DecimalOut
    filled_quantity: DecimalOut
    allocated_quantity: DecimalOut
    unallocated_quantity: DecimalOut
    average_price: DecimalOut | None
    allocation_key_id: str | None
    remainder_policy: str | None = None
    """The block's own remainder policy (None: its key's, see `details`)."""
    status: str
    created_at: datetime
    fills: list[FillOut]
    details: dict[str, Any] = Field(default_factory=dict)


class AllocationOut(BaseModel):
    id: int
    dialect: str
    trade_date: date
    account_id: str
    source_account_id: str
    instrument_id: int
    side: str
    action: str
    quantity: DecimalOut
    price: DecimalOut
    trade_value: DecimalOut
    commission: DecimalOut
    tax: DecimalOut
    other_fees: DecimalOut
    net_amount: DecimalOut
    block_id: int | None
    reference: str | None
    comment: str
    status: str
    entry_id: int
    created_at: datetime
    created_by: str
    settlement_date: date | None = None
    late: bool = False
    """Booked after its business date was closed, on the next open trade date."""
    symbol: str | None = None
    isin: str | None = None


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_after_id: int | None
