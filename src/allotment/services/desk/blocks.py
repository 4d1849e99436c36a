"""The operations desk's use cases on blocks: the blotter, a block's allocation by
participant, a preview of a new allocation and its booking. The desk has no rules of its own:
the preview is `services.preview`'s, the booking `services.blocktrade.allocate`'s (a master's
child allocations, booked atomically by the ledger), the checks `visible_account`'s."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Protocol
from zoneinfo import ZoneInfo

from allotment.domain.allocation.fees import FeeSchedule, Side
from allotment.domain.allocation.model import Method
from allotment.domain.errors import InvalidInstruction
from allotment.domain.identity import Scope
from allotment.domain.instruments import Instrument
from allotment.services import blocks, calendar, preview
from allotment.services.blocktrade import children as blocktrade
from allotment.services.blocktrade.checks import line_checker, master_price
from allotment.services.blocktrade.reading import BlockAllocation, BlockTradeBlockAllocation
from allotment.services.context import Context, visible_account, visible_account_ids
from allotment.services.ports import AllocationRow, BlockRecord, UnitOfWork

STATUSES = ("open", "filled", "cancelled")
ALLOCATIONS_SHOWN = 1000


@dataclass(frozen=True, slots=True)
class BlotterQuery:
    company_id: int
    start: datetime
    end: datetime
    instrument_id: int | None = None
    account_id: str | None = None
    """The block's own account, or an account that received an allocation of it."""
    status: str | None = None
    before_id: int | None = None
    limit: int = 50
    unallocated_only: bool = False
    """Only blocks whose fills are not all allocated (the exceptions queue)."""


class BlotterRepository(Protocol):
    def blotter(self, query: BlotterQuery) -> list[BlockRecord]: ...


@dataclass(frozen=True, slots=True)
class BlotterRow:
    block: BlockRecord
    symbol: str
    average_price: Decimal | None
    unallocated: Decimal


@dataclass(frozen=True, slots=True)
class BlotterPage:
    rows: list[BlotterRow]
    next_before_id: int | None


def day_bounds(day: date, time_zone: str) -> tuple[datetime, datetime]:
    """`day` in the company's time zone, as the UTC instants it starts and ends at (a day
    with a clock change is 23 or 25 hours long)."""
    zone = ZoneInfo(time_zone)
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def blotter(
    uow: UnitOfWork,
    ctx: Context,
    day: date,
    *,
    symbol: str | None = None,
    account_id: str | None = None,
    status: str | None = None,
    before_id: int | None = None,
    limit: int = 50,
    unallocated_only: bool = False,
) -> BlotterPage:
    """The blocks created on `day` (in the company's time zone), newest first, `limit` at a
    time."""
    ctx.require(Scope.READ)
    if status is not None and status not in STATUSES:
        raise InvalidInstruction(f"status must be one of {', '.join(STATUSES)}", status=status)
    instrument_id = None
    if symbol:
        instrument = uow.instruments.by_symbol(symbol)
        if instrument is None:
            raise InvalidInstruction(f"instrument {symbol} does not exist", symbol=symbol)
        instrument_id = instrument.id
    if account_id:
        visible_account(uow, ctx, account_id)
    start, end = day_bounds(day, calendar.company_time_zone(uow, ctx.company_id))
    repository: BlotterRepository = uow.desk
    found = repository.blotter(
        BlotterQuery(
            ctx.company_id,
            start,
            end,
            instrument_id,
            account_id or None,
            status,
            before_id,
            limit + 1,
            unallocated_only,
        )
    )
    symbols = {i.id: i.symbol for i in uow.instruments.list()}
    rows = [
        BlotterRow(b, symbols[b.instrument_id], blocks.average_price(b), blocks.unallocated(b))
        for b in found[:limit]
    ]
    more = len(found) > limit
    return BlotterPage(rows, rows[-1].block.id if more and rows else None)


def block_allocations(uow: UnitOfWork, ctx: Context, block_id: int) -> list[AllocationRow]:
    """The block's booked allocations the caller may see (another client's are left out)."""
    ctx.require(Scope.READ)
    return uow.allocations.list(
        ctx.company_id, visible_account_ids(uow, ctx), block_id, None, 0, ALLOCATIONS_SHOWN
    )


@dataclass(frozen=True, slots=True)
class Participant:
    account_id: str
    weight: Decimal | None


@dataclass(frozen=True, slots=True)
class DeskPreview:
    block: BlockRecord
    instrument: Instrument
    found: preview.Preview
    price: Decimal


def preview_block(
    uow: UnitOfWork,
    ctx: Context,
    block_id: int,
    *,
    method: Method | None,
    participants: Sequence[Participant],
    allocation_key_id: str | None = None,
    commission_rate: Decimal = Decimal(0),
    fill: blocks.FillInput | None = None,
) -> DeskPreview:
    """The block's unallocated quantity split by the engine (participants and a method, or a
    Saxo allocation key), priced at the master's price with the company's GST on the
    commission; or, for a block placed with an allocation key, a new `fill` split by its key
    at the fill's price. Every participant must be an account the caller may see."""
    block = blocks.get_block(uow, ctx, block_id)
    instrument = uow.instruments.get(block.instrument_id)
    assert instrument is not None
    price = _master_price(block, instrument) if fill is None else fill.price
    for participant in participants:
        visible_account(uow, ctx, participant.account_id)
    company = uow.identity.company(ctx.company_id)
    assert company is not None
    request = preview.PreviewRequest(
        total=blocks.unallocated(block) if fill is None else fill.quantity,
        method=None if allocation_key_id else method,
        participants=None
        if allocation_key_id
        else [preview.PreviewParticipant(p.account_id, p.weight) for p in participants],
        allocation_key_id=allocation_key_id or None,
        increment=instrument.quantity_increment,
        price=price,
        side=Side(block.side),
        fees=FeeSchedule(commission_rate=commission_rate, tax_rate=company.tax_rate),
    )
    if request.total <= 0:
        raise InvalidInstruction(f"block {block_id} has nothing left to allocate")
    if fill is not None and block.filled_quantity + fill.quantity > block.ordered_quantity:
        raise InvalidInstruction(
            f"block {block_id} has {block.ordered_quantity - block.filled_quantity} left to fill"
        )
    return DeskPreview(block, instrument, preview.preview(ctx, request, uow), price)


def _master_price(block: BlockRecord, instrument: Instrument) -> Decimal:
    if block.filled_quantity == 0:
        raise InvalidInstruction(f"block {block.id} has no fills to allocate")
    price = master_price(block, instrument)
    assert price is not None
    return price


def book_preview(
    uow: UnitOfWork, ctx: Context, previewed: DeskPreview, reference_prefix: str
) -> blocktrade.Outcome:
    """Book a previewed split as the master's child allocations, through the block-trade
    service: every line or none. The caller commits when the outcome is accepted."""
    block = previewed.block
    if block.master_reference is None or block.id is None:
        raise InvalidInstruction(
            f"block {block.id} has no master reference: it is allocated by its own dialect"
        )
    lines = []
    for number, part in enumerate(p for p in previewed.found.parts if p.quantity > 0):
        account = visible_account(uow, ctx, part.key)
        amounts = part.amounts
        if account.client_id is None or amounts is None:
            raise InvalidInstruction(f"account {part.key} is not a client's account")
        lines.append(
            BlockAllocation(
                client_id=account.client_id,
                quantity=part.quantity,
                price=previewed.price,
                trade_value=amounts.trade_value,
                net_amount=amounts.net_amount,
                custom_brokerage_fee=amounts.commission,
                gst_value=amounts.tax,
                allocation_reference=f"{reference_prefix}-{number + 1}"[:16],
                notes_for_client=None,
                other_fees=amounts.other_fees,
            )
        )
    request = BlockTradeBlockAllocation(block.id, block.master_reference, tuple(lines))
    _same_accounts(uow, ctx, request, previewed)
    return blocktrade.allocate(uow, ctx, request)


def _same_accounts(
    uow: UnitOfWork, ctx: Context, request: BlockTradeBlockAllocation, previewed: DeskPreview
) -> None:
    """A client's lines book to its trading account: the previewed accounts must be those."""
    checker = line_checker(uow, ctx, request, previewed.block, previewed.instrument)
    wanted = [p.key for p in previewed.found.parts if p.quantity > 0]
    for line, account_id in zip(request.allocation_details, wanted, strict=True):
        booked = checker.accounts.get(line.client_id)
        if booked is not None and booked.id != account_id:
            raise InvalidInstruction(
                f"client {line.client_id}'s allocations book to account {booked.id}, "
                f"not {account_id}"
            )


CHOICES_SHOWN = 200


def participant_choices(uow: UnitOfWork, ctx: Context, block: BlockRecord) -> list[str]:
    """Open client accounts in the block's currency that the caller may act for."""
    instrument = uow.instruments.get(block.instrument_id)
    assert instrument is not None
    found = [
        account.id
        for account in uow.accounts.accounts_of_role(ctx.company_id, "client")
        if account.is_open
        and account.currency == instrument.currency
        and ctx.principal.may_act_for_client(account.client_id)
    ]
    return sorted(found)[:CHOICES_SHOWN]


def book_fill(
    uow: UnitOfWork,
    ctx: Context,
    block_id: int,
    fill: blocks.FillInput,
    listeners: Sequence[blocks.FillListener],
) -> BlockRecord:
    """Book a fill of a block placed with an allocation key (a Saxo block order, or a native
    block given a key): `blocks.report_fill`, as `POST /api/v1/blocks/{id}/fills`, which
    allocates it to the key's participants. The caller commits."""
    block = blocks.get_block(uow, ctx, block_id)
    if block.allocation_key_id is None:
        raise InvalidInstruction(f"block {block_id} was not placed with an allocation key")
    blocks.report_fill(uow, ctx, block_id, fill, listeners=listeners)
    return blocks.get_block(uow, ctx, block_id)
