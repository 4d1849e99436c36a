"""Block-trade dialect: child allocations of a master block trade (SPEC §4.3).

A master is a block with fills (its id is the integer BlockTradeAllocationID, it carries a
MasterReference). A request lists one line per client; every line is checked in memory against
the master, the client list, the company's GST rate and the references already used, and only
when every line passes are they all booked at once with `booking.book(..., atomic=True)`. One
invalid line (or one ledger refusal) and nothing is created: the answer lists the failing lines
with their errors. Error texts are the vendor's where its documentation gives them
(`Invalid client:<id>`, `Not authorised to create order allocation for this client #<id>`),
ours otherwise (docs/decisions/0007-blocktrade-dialect.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Protocol

from allotment.domain.accounts import Account, AccountRole
from allotment.domain.errors import InvalidInstruction, LimitExceeded
from allotment.domain.identity import Scope
from allotment.domain.instruments import Instrument
from allotment.domain.ledger import BookingCode
from allotment.domain.numbers import (
    CENT,
    MAX_SCALE,
    NotANumber,
    fits_storage,
    is_multiple_of,
    plain,
    round_money,
    to_decimal,
)
from allotment.services.blocks import unallocated
from allotment.services.booking import BookingOutcome, BookingRequest, book
from allotment.services.context import Context, record
from allotment.services.ports import BlockRecord, UnitOfWork
from allotment.services.registry import house_account

EXTENSION = "blocktrade"
MAX_REFERENCE_LENGTH = 16
MONEY_TOLERANCE = Decimal("0.01")
"""TradeValue, GSTValue and NetAmount may differ from the computed amount by this much."""
DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S"
"""DatetimeCreated as the vendor writes it: UTC, whole seconds, no offset."""
LOOKUP_CHUNK = 5000
MAX_ID = 2**63 - 1
MAX_MAGNITUDE = Decimal(10) ** 15
"""Numbers stay below this with at most 9 decimals (24 digits, as the native API allows), so
that the ledger's sums stay exact in Decimal's default 28 digits."""


class RequestInvalid(InvalidInstruction):
    """The request as a whole cannot be read (answered with the vendor's plain error string)."""


@dataclass(frozen=True, slots=True)
class BlockAllocation:
    """One line of the request, as sent (echoed back in an error result)."""

    client_id: int
    quantity: Decimal
    price: Decimal
    trade_value: Decimal
    net_amount: Decimal
    custom_brokerage_fee: Decimal
    gst_value: Decimal
    allocation_reference: str | None
    notes_for_client: str | None
    other_fees: Decimal


@dataclass(frozen=True, slots=True)
class BlockTradeBlockAllocation:
    block_trade_allocation_id: int
    master_reference: str
    allocation_details: tuple[BlockAllocation, ...]


@dataclass(frozen=True, slots=True)
class ChildAllocation:
    """BlockTradeBlockAllocationResult: one created child allocation and its client order."""

    master_reference: str
    allocation_reference: str
    block_trade_allocation_id: int
    parent_block_trade_allocation_id: int
    client_id: int
    order_id: int
    datetime_created: datetime


@dataclass(frozen=True, slots=True)
class LineError:
    """BlockTradeBlockAllocationErrorResult: a refused line and why."""

    block_allocation: BlockAllocation
    errors: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Outcome:
    results: tuple[ChildAllocation, ...] = ()
    errors: tuple[LineError, ...] = ()

    @property
    def accepted(self) -> bool:
        return not self.errors


@dataclass(frozen=True, slots=True)
class ClientOrder:
    """The client order created for each child allocation (its id is the OrderID)."""

    company_id: int
    block_id: int
    allocation_id: int
    client_id: int
    account_id: str
    allocation_reference: str
    created_at: datetime
    created_by: str
    id: int | None = None


class ClientOrderRepository(Protocol):
    """What this capability stores; reached as `uow.extension("blocktrade")`."""

    def add_many(self, orders: Sequence[ClientOrder]) -> list[int]: ...
    def of_block(self, company_id: int, block_id: int) -> list[ClientOrder]: ...


def format_datetime(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(DATETIME_FORMAT)


# --- reading a request: both wire formats hand over plain values ------------------------------


def read_request(
    fields: Mapping[str, object],
    lines: Sequence[Mapping[str, object]] | None,
    max_lines: int,
) -> BlockTradeBlockAllocation:
    """Build the request from the values a codec read (JSON values, or XML element texts).

    Absent line fields take the vendor's defaults (0 for numbers, null for texts); present ones
    must have the right type. Raises RequestInvalid, or LimitExceeded above `max_lines` lines.
    """
    block_id = fields.get("BlockTradeAllocationID")
    if block_id is None:
        raise RequestInvalid("BlockTradeAllocationID is required")
    master_reference = _text(fields.get("MasterReference"), "MasterReference")
    if not master_reference:
        raise RequestInvalid("MasterReference is required")
    if len(master_reference) > MAX_REFERENCE_LENGTH:
        raise RequestInvalid(
            f"MasterReference must be at most {MAX_REFERENCE_LENGTH} characters long"
        )
    if not lines:
        raise RequestInvalid("AllocationDetails must list at least one BlockAllocation")
    if len(lines) > max_lines:
        raise LimitExceeded(
            f"AllocationDetails lists {len(lines)} allocations; at most {max_lines} are accepted"
        )
    return BlockTradeBlockAllocation(
        block_trade_allocation_id=_integer(block_id, "BlockTradeAllocationID"),
        master_reference=master_reference,
        allocation_details=tuple(
            _line(line, f"AllocationDetails[{index}]") for index, line in enumerate(lines)
        ),
    )


def _line(values: Mapping[str, object], where: str) -> BlockAllocation:
    def number(name: str) -> Decimal:
        return _number(values.get(name, 0), f"{where}.{name}")

    return BlockAllocation(
        client_id=_integer(values.get("ClientID", 0), f"{where}.ClientID"),
        quantity=number("Quantity"),
        price=number("Price"),
        trade_value=number("TradeValue"),
        net_amount=number("NetAmount"),
        custom_brokerage_fee=number("CustomBrokerageFee"),
        gst_value=number("GSTValue"),
        allocation_reference=_text(
            values.get("AllocationReference"), f"{where}.AllocationReference"
        ),
        notes_for_client=_text(values.get("NotesForClient"), f"{where}.NotesForClient"),
        other_fees=number("OtherFees"),
    )


def _integer(value: object, name: str) -> int:
    try:
        number = to_decimal(value)
    except NotANumber:
        raise RequestInvalid(f"{name} must be an integer") from None
    if number != number.to_integral_value() or abs(number) > MAX_ID:
        raise RequestInvalid(f"{name} must be an integer")
    return int(number)


def _number(value: object, name: str) -> Decimal:
    try:
        return to_decimal(value)
    except NotANumber:
        raise RequestInvalid(f"{name} must be a number") from None


def _text(value: object, name: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise RequestInvalid(f"{name} must be a string")


# --- the use case ---------------------------------------------------------------------------


def allocate(uow: UnitOfWork, ctx: Context, request: BlockTradeBlockAllocation) -> Outcome:
    """Create one child allocation (booked) and one client order per line, or none at all.

    The master's row is locked first (SELECT ... FOR UPDATE on PostgreSQL; SQLite writers are
    serialised), so that concurrent requests never allocate more than the master holds.
    Nothing is committed here: the caller commits when the outcome is accepted.
    """
    ctx.require(Scope.WRITE)
    master = uow.blocks.get(ctx.company_id, request.block_trade_allocation_id, lock=True)
    instrument = uow.instruments.get(master.instrument_id) if master is not None else None
    checker = _checker(uow, ctx, request, master, instrument)
    with localcontext() as exact:
        exact.prec = 80  # products of stored amounts are never rounded silently
        errors = [checker.errors(line) for line in request.allocation_details]
    if any(errors):
        return _refused(request, errors)
    assert master is not None and instrument is not None
    average = uow.accounts.account(master.account_id)
    assert average is not None
    fee_account = house_account(uow, ctx.company_id, AccountRole.FEE)
    bookings = [
        _booking(line, checker.accounts[line.client_id], average, master, instrument, fee_account)
        for line in request.allocation_details
    ]
    outcomes = book(uow, ctx, bookings, atomic=True)
    refusals = [
        _refusal_text(outcome, booking) for outcome, booking in zip(outcomes, bookings, strict=True)
    ]
    if any(refusals):
        return _refused(request, [[text] if text else [] for text in refusals])
    return _created(uow, ctx, request, master, bookings, outcomes)


def _refused(request: BlockTradeBlockAllocation, errors: Sequence[Sequence[str]]) -> Outcome:
    return Outcome(
        errors=tuple(
            LineError(line, tuple(messages))
            for line, messages in zip(request.allocation_details, errors, strict=True)
            if messages
        )
    )


def _booking(
    line: BlockAllocation,
    account: Account,
    average: Account,
    master: BlockRecord,
    instrument: Instrument,
    fee_account: Account,
) -> BookingRequest:
    """The client sells into a Sell master and buys from a Buy master, at the master's price."""
    return BookingRequest(
        client=account,
        counterparty=average,
        instrument=instrument,
        side=master.side,
        quantity=line.quantity,
        price=line.price,
        commission=line.custom_brokerage_fee,
        tax=line.gst_value,
        other_fees=line.other_fees,
        fee_account=fee_account,
        comment=line.notes_for_client or "",
        reference=line.allocation_reference,
        block_id=master.id,
    )


def _created(
    uow: UnitOfWork,
    ctx: Context,
    request: BlockTradeBlockAllocation,
    master: BlockRecord,
    bookings: Sequence[BookingRequest],
    outcomes: Sequence[BookingOutcome],
) -> Outcome:
    assert master.id is not None
    orders = [
        ClientOrder(
            company_id=ctx.company_id,
            block_id=master.id,
            allocation_id=_known(outcome.allocation_id),
            client_id=line.client_id,
            account_id=booking.client.id,
            allocation_reference=line.allocation_reference or "",
            created_at=ctx.now,
            created_by=ctx.principal.subject,
        )
        for line, booking, outcome in zip(
            request.allocation_details, bookings, outcomes, strict=True
        )
    ]
    repository: ClientOrderRepository = uow.extension(EXTENSION)
    order_ids = repository.add_many(orders)
    allocated_before = master.allocated_quantity
    master.allocated_quantity += sum((line.quantity for line in request.allocation_details), 0)
    uow.blocks.update(master)
    record(
        uow,
        ctx,
        "blocktrade.allocated",
        "block",
        master.id,
        before={"allocated_quantity": allocated_before},
        after={
            "allocated_quantity": master.allocated_quantity,
            "children": len(orders),
            "allocation_ids": [orders[0].allocation_id, orders[-1].allocation_id],
            "order_ids": [order_ids[0], order_ids[-1]],
        },
    )
    return Outcome(
        results=tuple(
            ChildAllocation(
                master_reference=request.master_reference,
                allocation_reference=order.allocation_reference,
                block_trade_allocation_id=order.allocation_id,
                parent_block_trade_allocation_id=master.id,
                client_id=order.client_id,
                order_id=order_id,
                datetime_created=ctx.now,
            )
            for order, order_id in zip(orders, order_ids, strict=True)
        )
    )


def _known(allocation_id: int | None) -> int:
    assert allocation_id is not None
    return allocation_id


def _refusal_text(outcome: BookingOutcome, booking: BookingRequest) -> str | None:
    """The ledger's refusal of a line, in words (SPEC §3 rules)."""
    code = outcome.code
    if code is BookingCode.OK:
        return None
    client, average = booking.client.id, booking.counterparty.id
    what = f"{plain(booking.quantity)} {booking.instrument.symbol}"
    buying = booking.side == "Buy"
    if code is BookingCode.INSUFFICIENT_POSITION:
        if buying:
            return f"Insufficient position: account {average} does not hold the {what} sold"
        return f"Insufficient position: account {client} does not hold the {what} it sells"
    if code is BookingCode.INSUFFICIENT_FUNDS:
        value = round_money(booking.quantity * booking.price)
        client_pays = buying or booking.net_amount(value) < 0
        return f"Insufficient funds: account {client if client_pays else average} cannot pay"
    if code is BookingCode.PREMIUM_NOT_ALLOWED:
        return "Premium not allowed: the price is above the average cost of the shares sold"
    if code is BookingCode.ACCOUNT_CLOSED:
        return f"Account {client} or {average} is closed"
    return f"The ledger refused this allocation: {code.value}"


# --- checking every line in memory ----------------------------------------------------------


@dataclass(slots=True)
class _Checker:
    request: BlockTradeBlockAllocation
    ctx: Context
    master: BlockRecord | None
    instrument: Instrument | None
    master_price: Decimal | None
    tax_rate: Decimal
    known_clients: frozenset[int]
    accounts: dict[int, Account]
    taken: set[str]
    seen: set[str]
    requested: Decimal = Decimal(0)

    def errors(self, line: BlockAllocation) -> list[str]:
        """Every rule the line breaks, in a fixed order (empty when it passes)."""
        found = _out_of_range(line)
        if found:
            return found
        found += self._master_errors()
        found += self._reference_errors(line)
        found += self._client_errors(line)
        found += self._quantity_errors(line)
        found += self._price_errors(line)
        found += self._money_errors(line)
        return found

    def _master_errors(self) -> list[str]:
        master, wanted = self.master, self.request.block_trade_allocation_id
        if master is None or self.instrument is None:
            return [f"Invalid block trade allocation:{wanted}"]
        if master.status == "cancelled":
            return [f"Block trade allocation {wanted} is cancelled"]
        if master.master_reference != self.request.master_reference:
            return [
                f"MasterReference {self.request.master_reference} does not match "
                f"block trade allocation {wanted}"
            ]
        return []

    def _client_errors(self, line: BlockAllocation) -> list[str]:
        client_id = line.client_id
        if client_id not in self.known_clients:
            return [f"Invalid client:{client_id}"]
        if not self.ctx.principal.may_act_for_client(client_id):
            return [f"Not authorised to create order allocation for this client #{client_id}"]
        if self.instrument is not None and client_id not in self.accounts:
            return [f"Invalid client:{client_id}"]
        return []

    def _quantity_errors(self, line: BlockAllocation) -> list[str]:
        if line.quantity <= 0 or line.quantity != line.quantity.to_integral_value():
            return ["Quantity must be a whole number greater than zero"]
        if self.master is None:
            return []
        self.requested += line.quantity
        available = unallocated(self.master)
        if self.requested > available:
            return [
                f"Quantity {plain(line.quantity)} exceeds the unallocated quantity of block "
                f"trade allocation {self.master.id}: {plain(available)} unallocated, "
                f"{plain(self.requested)} requested up to this allocation"
            ]
        return []

    def _price_errors(self, line: BlockAllocation) -> list[str]:
        if self.master is None or self.instrument is None:
            return []
        if self.master_price is None:
            return [
                f"Price cannot be checked: block trade allocation {self.master.id} has no fills"
            ]
        if line.price != self.master_price:
            return [
                f"Price {plain(line.price)} does not equal the average price "
                f"{plain(self.master_price)} of block trade allocation {self.master.id}"
            ]
        return []

    def _money_errors(self, line: BlockAllocation) -> list[str]:
        found = [
            text
            for name, fee in (
                ("CustomBrokerageFee", line.custom_brokerage_fee),
                ("GSTValue", line.gst_value),
                ("OtherFees", line.other_fees),
            )
            for text in _fee_errors(name, fee)
        ]
        value = line.quantity * line.price
        if abs(line.trade_value - value) > MONEY_TOLERANCE:
            found.append(
                f"TradeValue {plain(line.trade_value)} does not equal Quantity × Price = "
                f"{plain(value)} (within {MONEY_TOLERANCE})"
            )
        gst = self.tax_rate * line.custom_brokerage_fee
        if abs(line.gst_value - gst) > MONEY_TOLERANCE:
            found.append(
                f"GSTValue {plain(line.gst_value)} does not equal the GST rate "
                f"{plain(self.tax_rate)} × CustomBrokerageFee = {plain(gst)} "
                f"(within {MONEY_TOLERANCE})"
            )
        if self.master is not None:
            found += _net_amount_errors(line, self.master.side)
        return found

    def _reference_errors(self, line: BlockAllocation) -> list[str]:
        reference = line.allocation_reference
        if not reference:
            return ["AllocationReference is required"]
        if len(reference) > MAX_REFERENCE_LENGTH:
            return [f"AllocationReference must be at most {MAX_REFERENCE_LENGTH} characters long"]
        if reference in self.seen:
            return [f"AllocationReference {reference} is repeated in this request"]
        self.seen.add(reference)
        if reference in self.taken:
            return [
                f"AllocationReference {reference} is already used on block trade allocation "
                f"{self.request.block_trade_allocation_id}"
            ]
        return []


def _out_of_range(line: BlockAllocation) -> list[str]:
    return [f"{name} is out of range" for name, value in _numbers(line) if not _storable(value)]


def _storable(value: Decimal) -> bool:
    """Below MAX_MAGNITUDE with at most 9 decimals."""
    if abs(value) >= MAX_MAGNITUDE:
        return False
    exponent = value.as_tuple().exponent
    return (isinstance(exponent, int) and exponent >= -MAX_SCALE) or fits_storage(value)


def _numbers(line: BlockAllocation) -> list[tuple[str, Decimal]]:
    return [
        ("Quantity", line.quantity),
        ("Price", line.price),
        ("TradeValue", line.trade_value),
        ("NetAmount", line.net_amount),
        ("CustomBrokerageFee", line.custom_brokerage_fee),
        ("GSTValue", line.gst_value),
        ("OtherFees", line.other_fees),
    ]


def _fee_errors(name: str, fee: Decimal) -> list[str]:
    if fee < 0:
        return [f"{name} must not be negative"]
    if not is_multiple_of(fee, CENT):
        return [f"{name} must be in whole cents"]
    return []


def _net_amount_errors(line: BlockAllocation, side: str) -> list[str]:
    """FIX AllocNetMoney: trade value plus fees on a purchase, minus fees on a sale."""
    fees = line.custom_brokerage_fee + line.gst_value + line.other_fees
    if side == "Buy":
        expected, rule = line.trade_value + fees, "TradeValue + fees"
    else:
        expected, rule = line.trade_value - fees, "TradeValue − fees"
    if abs(line.net_amount - expected) <= MONEY_TOLERANCE:
        return []
    purpose = "a purchase" if side == "Buy" else "a sale"
    return [
        f"NetAmount {plain(line.net_amount)} does not equal {rule} = {plain(expected)} "
        f"for {purpose} (within {MONEY_TOLERANCE})"
    ]


def _checker(
    uow: UnitOfWork,
    ctx: Context,
    request: BlockTradeBlockAllocation,
    master: BlockRecord | None,
    instrument: Instrument | None,
) -> _Checker:
    """Everything the checks need, read in a few set-based queries (no round trip per line)."""
    company = uow.identity.company(ctx.company_id)
    assert company is not None
    client_ids = sorted({line.client_id for line in request.allocation_details})
    known: set[int] = set()
    accounts: dict[int, Account] = {}
    for start in range(0, len(client_ids), LOOKUP_CHUNK):
        chunk = frozenset(client_ids[start : start + LOOKUP_CHUNK])
        known.update(client.id for client in uow.accounts.clients(ctx.company_id, chunk))
        if instrument is not None:
            for account in uow.accounts.accounts(ctx.company_id, chunk):
                if _trading_account(account, instrument) and account.client_id not in accounts:
                    assert account.client_id is not None
                    accounts[account.client_id] = account
    taken: set[str] = set()
    if master is not None and master.id is not None:
        references = sorted(
            {line.allocation_reference or "" for line in request.allocation_details} - {""}
        )
        for start in range(0, len(references), LOOKUP_CHUNK):
            chunk_refs = references[start : start + LOOKUP_CHUNK]
            taken |= uow.allocations.references_taken(master.id, chunk_refs)
    return _Checker(
        request=request,
        ctx=ctx,
        master=master,
        instrument=instrument,
        master_price=_master_price(master, instrument),
        tax_rate=company.tax_rate,
        known_clients=frozenset(known),
        accounts=accounts,
        taken=taken,
        seen=set(),
    )


def _trading_account(account: Account, instrument: Instrument) -> bool:
    """A ClientID maps to the client's first active client-role account in the currency."""
    return (
        account.role is AccountRole.CLIENT
        and account.is_open
        and account.currency == instrument.currency
    )


def _master_price(master: BlockRecord | None, instrument: Instrument | None) -> Decimal | None:
    """The master's average price at the instrument's price increment (half-even): the one
    price every child of the master is booked at."""
    if master is None or instrument is None or master.filled_quantity == 0:
        return None
    exact = master.filled_notional / master.filled_quantity
    increment = instrument.price_increment
    steps = (exact / increment).to_integral_value(rounding=ROUND_HALF_EVEN)
    return steps * increment
