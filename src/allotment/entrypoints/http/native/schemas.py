"""Native API models: snake_case JSON, decimals as strings."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Path, Query
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, WithJsonSchema

from allotment.domain.numbers import MAX_SCALE, NotANumber, scale_of, to_decimal

MAX_WHOLE_DIGITS = 15
"""Digits before the point of an amount sent to the native API. With at most 9 after it, every
amount and the sums of many stay exact within the 28 significant digits of Decimal arithmetic."""
LARGEST = Decimal(10) ** MAX_WHOLE_DIGITS


def _exact(value: Any) -> Decimal:
    try:
        number = to_decimal(value)
    except NotANumber as error:
        raise ValueError(f'{error}; send decimals as strings, e.g. "12.50"') from error
    if scale_of(number) > MAX_SCALE:
        raise ValueError(f"{format(number, 'f')} has more than {MAX_SCALE} decimals")
    if abs(number) >= LARGEST:
        raise ValueError(f"at most {MAX_WHOLE_DIGITS} digits before the decimal point")
    return number


DecimalStr = Annotated[
    Decimal,
    BeforeValidator(_exact),
    PlainSerializer(lambda value: format(value, "f"), return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": rf"^-?\d{{1,{MAX_WHOLE_DIGITS}}}(\.\d{{1,{MAX_SCALE}}})?$",
            "examples": ["12.50"],
        },
        mode="validation",
    ),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+(\.\d+)?$"}, mode="serialization"),
]
"""An exact decimal sent and answered as a JSON string (a JSON float is refused: its binary
value is not the number the client meant)."""


MAX_ID = 2**63 - 1
"""The largest id either database stores (a signed 64-bit integer): larger ones cannot exist."""
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
IdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]
AfterId = Annotated[int, Query(ge=0, le=MAX_ID, description="The last id of the previous page.")]
ClientId = Annotated[int, Field(ge=1, le=MAX_ID)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginIn(Model):
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=200)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int


class UserIn(Model):
    username: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=8, max_length=200)
    scopes: list[str] = Field(max_length=10)
    client_ids: list[ClientId] | None = Field(default=None, max_length=10_000)


class UserOut(BaseModel):
    id: int
    username: str
    scopes: list[str]
    client_ids: list[int] | None
    active: bool


class ApiClientIn(Model):
    name: str = Field(min_length=1, max_length=200)
    scopes: list[str]


class ApiClientOut(BaseModel):
    client_id: str
    name: str
    scopes: list[str]
    active: bool


class ApiClientCreated(ApiClientOut):
    client_secret: str = Field(description="Shown once; stored only hashed.")


class AppKeyIn(Model):
    name: str = Field(min_length=1, max_length=200)


class AppKeyOut(BaseModel):
    id: int
    key: str
    name: str
    active: bool


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
    credit_limit: DecimalStr


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
    quantity_increment: DecimalStr
    price_increment: DecimalStr
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
    amount: DecimalStr
    price: DecimalStr | None


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
    quantity: DecimalStr
    average_cost: DecimalStr | None


class CashOut(BaseModel):
    currency: str
    amount: DecimalStr


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


class BlockIn(Model):
    account_id: str = Field(min_length=1, max_length=50)
    symbol: str = Field(min_length=1, max_length=50)
    side: str = Field(pattern="^(Buy|Sell)$")
    quantity: DecimalStr
    fills: list[FillIn] = Field(default_factory=list, max_length=10_000)
    master_reference: str | None = Field(default=None, min_length=1, max_length=16)
    allocation_key_id: str | None = Field(default=None, max_length=50)
    id: int | None = Field(default=None, ge=1, le=2**62)


class FillOut(BaseModel):
    id: int
    sequence: int
    quantity: DecimalStr
    price: DecimalStr
    executed_at: datetime
    entry_id: int


class BlockOut(BaseModel):
    id: int
    block_trade_allocation_id: int
    master_reference: str | None
    account_id: str
    symbol: str
    side: str
    ordered_quantity: DecimalStr
    filled_quantity: DecimalStr
    allocated_quantity: DecimalStr
    unallocated_quantity: DecimalStr
    average_price: DecimalStr | None
    allocation_key_id: str | None
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
    quantity: DecimalStr
    price: DecimalStr
    trade_value: DecimalStr
    commission: DecimalStr
    tax: DecimalStr
    other_fees: DecimalStr
    net_amount: DecimalStr
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
