"""Blocks: an order executed on an average account, its fills, and its average price.

A fill is an execution that happened at the market: it is booked between the external account
and the average account as a fact (no overdraft check), so that the average account holds what
it then hands out to the participants.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Protocol

from allotment.domain.accounts import Account, AccountRole
from allotment.domain.allocation.model import RemainderPolicy
from allotment.domain.errors import Conflict, InvalidInstruction, NotFound
from allotment.domain.identity import Scope
from allotment.domain.instruments import Instrument
from allotment.domain.ledger import Trade
from allotment.domain.numbers import fits_storage, is_multiple_of
from allotment.services.context import Context, record, visible_account
from allotment.services.journal import Journal
from allotment.services.journal.ledger import post_entry
from allotment.services.ports import BlockRecord, FillRecord, UnitOfWork
from allotment.services.registry import house_account

SIDES = ("Buy", "Sell")
PRICE_PRECISION = Decimal("0.000001")


@dataclass(frozen=True, slots=True)
class FillInput:
    quantity: Decimal
    price: Decimal
    executed_at: datetime | None = None
    remainder_policy: RemainderPolicy | None = None
    """The request's remainder policy: overrides the block's and its key's (decision 0045)."""


class FillAllocation(Protocol):
    """A fill's allocation, read and checked before anything is locked."""

    @property
    def account_ids(self) -> Sequence[str]:
        """Every account it books on: locked with the fill's own, in one statement."""
        ...

    def allocate(
        self, journal: Journal, fill: FillRecord, remainder_policy: RemainderPolicy | None = None
    ) -> None:
        """Allocate the booked fill, deciding on the fill's journal (which writes); a policy
        named by the fill's request overrides the block's and its key's."""
        ...


FillListener = Callable[[UnitOfWork, Context, BlockRecord], FillAllocation | None]
"""What allocates a block's fills as they arrive (Saxo's block orders): given the block before
the fill is booked, its allocation of the fill, or None when it does not allocate this block.
The entry points pass theirs explicitly (the application's container holds them)."""


def average_price(block: BlockRecord) -> Decimal | None:
    """The block's exact VWAP, reported to 6 decimals half-even (None before any fill)."""
    if block.filled_quantity == 0:
        return None
    return (block.filled_notional / block.filled_quantity).quantize(
        PRICE_PRECISION, rounding=ROUND_HALF_EVEN
    )


def unallocated(block: BlockRecord) -> Decimal:
    return block.filled_quantity - block.allocated_quantity


def create_block(
    uow: UnitOfWork,
    ctx: Context,
    *,
    account_id: str,
    instrument: Instrument,
    side: str,
    quantity: Decimal,
    fills: Sequence[FillInput] = (),
    master_reference: str | None = None,
    allocation_key_id: str | None = None,
    block_id: int | None = None,
    listeners: Sequence[FillListener],
    remainder_policy: RemainderPolicy | None = None,
) -> BlockRecord:
    """A block on an average account, with its fills so far (each allocated by `listeners`
    as `report_fill` allocates it). `remainder_policy` is the block's own (None: its key's)."""
    ctx.require(Scope.WRITE)
    account = _check_block(
        uow, ctx, (account_id, instrument, side, quantity), (master_reference, block_id)
    )
    if remainder_policy is not None and allocation_key_id is None:
        raise InvalidInstruction(
            "remainder_policy needs an allocation_key_id: only a block allocated by a key "
            "has remainders to decide",
            field="remainder_policy",
        )
    block = uow.blocks.add(
        BlockRecord(
            company_id=ctx.company_id,
            account_id=account.id,
            instrument_id=instrument.id,
            side=side,
            ordered_quantity=quantity,
            dialect=ctx.dialect,
            created_at=ctx.now,
            created_by=ctx.principal.subject,
            master_reference=master_reference,
            allocation_key_id=allocation_key_id,
            id=block_id,
            remainder_policy=None if remainder_policy is None else remainder_policy.value,
        )
    )
    record(
        uow,
        ctx,
        "block.created",
        "block",
        block.id,
        after={
            "side": side,
            "quantity": quantity,
            "symbol": instrument.symbol,
            **({"remainder_policy": remainder_policy.value} if remainder_policy else {}),
        },
    )
    for fill in fills:
        add_fill(uow, ctx, block, account, instrument, fill, listeners)
    return block


def _check_block(
    uow: UnitOfWork,
    ctx: Context,
    order: tuple[str, Instrument, str, Decimal],
    names: tuple[str | None, int | None],
) -> Account:
    """The checks of a new block: its side, quantity, average account and unused names."""
    account_id, instrument, side, quantity = order
    master_reference, block_id = names
    if side not in SIDES:
        raise InvalidInstruction(f"side must be Buy or Sell, not {side!r}", side=side)
    _check_quantity(quantity, instrument, "quantity")
    account = visible_account(uow, ctx, account_id)
    if account.role is not AccountRole.AVERAGE:
        raise InvalidInstruction(
            f"account {account_id} is not an average account", account_id=account_id
        )
    if not account.is_open:
        raise InvalidInstruction(f"account {account_id} is closed", account_id=account_id)
    if master_reference is not None:
        if len(master_reference) > 16:
            raise InvalidInstruction("MasterReference is at most 16 characters")
        if uow.blocks.by_master_reference(ctx.company_id, master_reference) is not None:
            raise Conflict(f"master reference {master_reference} exists already")
    if block_id is not None and uow.blocks.get(ctx.company_id, block_id) is not None:
        raise Conflict(f"block {block_id} exists already")
    return account


def _check_quantity(quantity: Decimal, instrument: Instrument, what: str) -> None:
    if quantity <= 0 or not fits_storage(quantity):
        raise InvalidInstruction(f"{what} must be positive", quantity=quantity)
    if not is_multiple_of(quantity, instrument.quantity_increment):
        raise InvalidInstruction(
            f"{what} must be a multiple of {instrument.quantity_increment}", quantity=quantity
        )


def report_fill(
    uow: UnitOfWork,
    ctx: Context,
    block_id: int,
    fill: FillInput,
    *,
    listeners: Sequence[FillListener],
) -> FillRecord:
    """A new execution of a block, booked and allocated by `listeners` (see `add_fill`)."""
    ctx.require(Scope.WRITE)
    block = get_block(uow, ctx, block_id, lock=True)
    account = visible_account(uow, ctx, block.account_id)
    instrument = uow.instruments.get(block.instrument_id)
    assert instrument is not None
    return add_fill(uow, ctx, block, account, instrument, fill, listeners)


def add_fill(
    uow: UnitOfWork,
    ctx: Context,
    block: BlockRecord,
    account: Account,
    instrument: Instrument,
    fill: FillInput,
    listeners: Sequence[FillListener],
) -> FillRecord:
    """Book the fill and allocate it on one journal: everything is read and checked first,
    then every account the fill and its allocations touch is locked in one statement, the
    whole fill decided on those balances, and the balances written once."""
    _check_fill(block, instrument, fill)
    external = house_account(uow, ctx.company_id, AccountRole.EXTERNAL)
    allocations = [
        allocation
        for allocation in (listener(uow, ctx, block) for listener in listeners)
        if allocation is not None
    ]
    if fill.remainder_policy is not None and not allocations:
        raise InvalidInstruction(
            f"block {block.id} is not allocated by a key: remainder_policy has nothing to decide",
            field="remainder_policy",
        )
    journal = Journal(uow)
    journal.lock(
        ctx.company_id,
        [external.id, account.id, *(i for a in allocations for i in a.account_ids)],
    )
    seller, buyer = (external, account) if block.side == "Buy" else (account, external)
    trade = Trade(seller.id, buyer.id, instrument, fill.quantity, fill.price)
    entry_id = post_entry(
        uow,
        ctx,
        trade.entry("fill", f"fill of block {block.id}"),
        {external.id: external, account.id: account},
        force=True,
        journal=journal,
    )
    stored = _store_fill(uow, ctx, block, fill, entry_id)
    for allocation in allocations:
        allocation.allocate(journal, stored, fill.remainder_policy)
    journal.write()
    return stored


def _check_fill(block: BlockRecord, instrument: Instrument, fill: FillInput) -> None:
    _check_quantity(fill.quantity, instrument, "fill quantity")
    if fill.price <= 0 or not is_multiple_of(fill.price, instrument.price_increment):
        raise InvalidInstruction(
            f"fill price must be positive and a multiple of {instrument.price_increment}"
        )
    if block.status == "cancelled":
        raise Conflict(f"block {block.id} is cancelled")
    if block.filled_quantity + fill.quantity > block.ordered_quantity:
        raise InvalidInstruction(
            "the fills would exceed the ordered quantity",
            ordered=block.ordered_quantity,
            filled=block.filled_quantity,
            fill=fill.quantity,
        )


def _store_fill(
    uow: UnitOfWork, ctx: Context, block: BlockRecord, fill: FillInput, entry_id: int
) -> FillRecord:
    """The fill's row, and the block's filled quantity and notional moved by it."""
    assert block.id is not None
    stored = uow.blocks.add_fill(
        FillRecord(
            block_id=block.id,
            sequence=len(uow.blocks.fills(block.id)) + 1,
            quantity=fill.quantity,
            price=fill.price,
            executed_at=fill.executed_at or ctx.now,
            entry_id=entry_id,
        )
    )
    block.filled_quantity += fill.quantity
    block.filled_notional += fill.quantity * fill.price
    if block.filled_quantity == block.ordered_quantity:
        block.status = "filled"
    uow.blocks.update(block)
    record(
        uow,
        ctx,
        "block.filled",
        "block",
        block.id,
        after={"quantity": fill.quantity, "price": fill.price, "entry_id": entry_id},
    )
    return stored


def get_block(uow: UnitOfWork, ctx: Context, block_id: int, lock: bool = False) -> BlockRecord:
    ctx.require(Scope.READ)
    block = uow.blocks.get(ctx.company_id, block_id, lock=lock)
    if block is None:
        raise NotFound(f"block {block_id} does not exist", block_id=block_id)
    return block
