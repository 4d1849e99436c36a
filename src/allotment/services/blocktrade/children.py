"""Block-trade dialect: child allocations of a master block trade (SPEC §4.3).

A master is a block with fills (its id is the integer BlockTradeAllocationID, it carries a
MasterReference). A request lists one line per client; every line is checked in memory against
the master, the client list, the company's GST rate and the references already used, and only
when every line passes are they all booked at once with `booking.book(..., atomic=True)`. One
invalid line (or one ledger refusal) and nothing is created: the answer lists the failing lines
with their errors. Error texts are the vendor's where its documentation gives them
(`Invalid client:<id>`, `Not authorised to create order allocation for this client #<id>`),
ours otherwise (docs/decisions/0007-blocktrade-dialect.md).

The request is read by `blocktrade/reading` and its lines checked by `blocktrade/checks`; this
module is the use case: it books the lines and records the client orders.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import localcontext
from fractions import Fraction
from typing import Protocol

from allotment.domain.accounts import Account, AccountRole
from allotment.domain.identity import Scope
from allotment.domain.instruments import Instrument
from allotment.domain.ledger import BookingCode
from allotment.domain.numbers import plain, round_money
from allotment.services.blocktrade.checks import line_checker
from allotment.services.blocktrade.reading import BlockAllocation, BlockTradeBlockAllocation
from allotment.services.context import Context, record
from allotment.services.fairness import INSTRUCTED, NO_KEY
from allotment.services.journal.book import book
from allotment.services.journal.requests import BookingOutcome, BookingRequest, FairnessNote
from allotment.services.ports import BlockRecord, UnitOfWork
from allotment.services.registry import house_account

DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S"
"""DatetimeCreated as the vendor writes it: UTC, whole seconds, no offset."""


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
    account_id: str | None = None
    """The client's account the line would have booked to, where the checks found one (kept
    with the refusal for the drift report; never part of the vendor's answer)."""


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
    """What this capability stores; reached as `uow.blocktrade`."""

    def add_many(self, orders: Sequence[ClientOrder]) -> list[int]: ...
    def of_block(self, company_id: int, block_id: int) -> list[ClientOrder]: ...


def format_datetime(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(DATETIME_FORMAT)


def allocate(uow: UnitOfWork, ctx: Context, request: BlockTradeBlockAllocation) -> Outcome:
    """Create one child allocation (booked) and one client order per line, or none at all.

    The master's row is locked first (SELECT ... FOR UPDATE on PostgreSQL; SQLite writers are
    serialised), so that concurrent requests never allocate more than the master holds.
    Nothing is committed here: the caller commits when the outcome is accepted.
    """
    ctx.require(Scope.WRITE)
    master = uow.blocks.get(ctx.company_id, request.block_trade_allocation_id, lock=True)
    instrument = uow.instruments.get(master.instrument_id) if master is not None else None
    checker = line_checker(uow, ctx, request, master, instrument)
    with localcontext() as exact:
        exact.prec = 80  # products of stored amounts are never rounded silently
        errors = [checker.errors(line) for line in request.allocation_details]
    accounts = {client: account.id for client, account in checker.accounts.items()}
    if any(errors):
        return _refused(request, errors, accounts)
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
        return _refused(request, [[text] if text else [] for text in refusals], accounts)
    return _created(uow, ctx, request, master, bookings, outcomes)


def _refused(
    request: BlockTradeBlockAllocation,
    errors: Sequence[Sequence[str]],
    accounts: Mapping[int, str],
) -> Outcome:
    return Outcome(
        errors=tuple(
            LineError(line, tuple(messages), accounts.get(line.client_id))
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
        # The fairness ledger's row: the client's instructed quantity is its exact target.
        fairness=FairnessNote(Fraction(line.quantity), NO_KEY, INSTRUCTED),
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
    repository: ClientOrderRepository = uow.blocktrade
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
