"""A new allocation instruction (35=J) made ready to book: its block found and locked, its terms
and accounts checked, one booking request per line.

What an instruction reads (its block, instrument and accounts) it reads through `Lookups`:
straight from the unit of work for one instruction, or from what a batch of instructions has
read already (services/fix/batch) — the same rows in the same transaction, read once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from fractions import Fraction
from typing import Protocol

from allotment.domain.accounts import Account, AccountRole
from allotment.domain.allocation.model import RemainderPolicy
from allotment.domain.errors import NotFound
from allotment.domain.instruments import Instrument
from allotment.domain.ledger import BookingCode
from allotment.domain.numbers import ZERO
from allotment.services.context import Context
from allotment.services.fairness import NO_KEY
from allotment.services.fix import checks as fix_checks
from allotment.services.fix.values import AccountRefusal, AllocLine, Instruction, RejectCode
from allotment.services.journal.requests import BookingOutcome, BookingRequest, FairnessNote
from allotment.services.ports import BlockRecord, UnitOfWork
from allotment.services.registry import house_account_id


class FillBlocks(Protocol):
    def blocks_of_fills(self, company_id: int, fill_ids: Sequence[int]) -> dict[int, int]: ...


class Lookups:
    """What an instruction reads, straight from the unit of work."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    def block(self, ctx: Context, instruction: Instruction) -> BlockRecord:
        """The one block the instruction names, locked until the transaction ends."""
        fill_ids = [int(exec_id) for exec_id in instruction.exec_ids if exec_id.isdigit()]
        fills: FillBlocks = self.uow.fix
        block_of_fill = fills.blocks_of_fills(ctx.company_id, fill_ids)
        return fix_checks.find_block(self.uow.blocks, ctx, instruction, block_of_fill)

    def pending(self, block_id: int) -> Decimal:
        """Quantity of the block taken by instructions decided but not booked yet."""
        return ZERO

    def instrument(self, instrument_id: int) -> Instrument:
        instrument = self.uow.instruments.get(instrument_id)
        assert instrument is not None
        return instrument

    def accounts(self, account_ids: Iterable[str]) -> dict[str, Account]:
        return self.uow.accounts.accounts_by_ids(sorted(set(account_ids)))


@dataclass(frozen=True, slots=True)
class Plan:
    """An instruction whose checks passed: the bookings of its lines, on its block."""

    instruction: Instruction
    block: BlockRecord
    instrument: Instrument
    bookings: list[BookingRequest]


def plan(ctx: Context, instruction: Instruction, lookups: Lookups) -> Plan | list[AccountRefusal]:
    """The instruction's bookings, or the refusals of its accounts; Refused (block level)
    when its block or terms do not match, NotFound when the company has no fee account."""
    block = lookups.block(ctx, instruction)
    assert block.id is not None
    instrument = lookups.instrument(block.instrument_id)
    pending = lookups.pending(block.id)
    seen = replace(block, allocated_quantity=block.allocated_quantity + pending)
    fix_checks.check_terms(instruction, seen if pending else block, instrument)
    quantities, targets = fix_checks.allotted(instruction, instrument)
    fee_id = house_account_id(ctx.company_id, AccountRole.FEE)
    ids = [line.account for line in instruction.lines] + [block.account_id, fee_id]
    found = lookups.accounts(ids)
    refusals = fix_checks.judge_accounts(ctx, instruction.lines, found)
    if refusals:
        return list(refusals)
    average = found[block.account_id]
    fee_account = found.get(fee_id)
    if fee_account is None:
        raise NotFound("the company has no fee account", role=AccountRole.FEE.value)
    bookings = [
        _booking(
            line,
            quantity,
            found[line.account],
            average,
            block,
            instrument,
            instruction,
            fee_account,
            _note(targets, index),
        )
        for index, (line, quantity) in enumerate(zip(instruction.lines, quantities, strict=True))
    ]
    return Plan(instruction, block, instrument, bookings)


def _booking(
    line: AllocLine,
    quantity: Decimal,
    account: Account,
    average: Account,
    block: BlockRecord,
    instrument: Instrument,
    instruction: Instruction,
    fee_account: Account,
    fairness: FairnessNote | None = None,
) -> BookingRequest:
    return BookingRequest(
        client=account,
        counterparty=average,
        instrument=instrument,
        side=block.side,
        quantity=quantity,
        price=line.price if line.price is not None else instruction.average_price,
        commission=line.commission,
        tax=line.tax,
        other_fees=line.other_fees,
        fee_account=fee_account,
        comment=f"FIX AllocID {instruction.alloc_id}",
        block_id=block.id,
        fairness=fairness,
    )


def _note(targets: list[Fraction] | None, index: int) -> FairnessNote | None:
    """A preliminary instruction's line split by the engine records its exact target."""
    if targets is None:
        return None
    return FairnessNote(targets[index], NO_KEY, RemainderPolicy.LARGEST_REMAINDER.value)


_CODES = {
    BookingCode.INVALID_QUANTITY: RejectCode.INCORRECT_QUANTITY,
    BookingCode.INVALID_PRICE: RejectCode.INCORRECT_AVERAGE_PRICE,
    BookingCode.PREMIUM_NOT_ALLOWED: RejectCode.INCORRECT_AVERAGE_PRICE,
    BookingCode.INVALID_ACCOUNT: RejectCode.UNKNOWN_ACCOUNT,
}
_TEXTS = {
    BookingCode.INSUFFICIENT_POSITION: "insufficient position",
    BookingCode.INSUFFICIENT_FUNDS: "insufficient funds",
    BookingCode.PREMIUM_NOT_ALLOWED: "the price is above the average cost (no premium)",
    BookingCode.ACCOUNT_CLOSED: "the account is closed",
    BookingCode.INVALID_PRICE: "the price or a fee is not valid for the instrument",
    BookingCode.INVALID_QUANTITY: "the quantity is not a positive multiple of the increment",
}


def ledger_refusals(
    bookings: Sequence[BookingRequest], outcomes: Sequence[BookingOutcome]
) -> list[AccountRefusal]:
    """The accounts the ledger refused, with FIX's IndividualAllocRejCode (Text says which
    rule)."""
    return [
        AccountRefusal(
            booking.client.id,
            _CODES.get(outcome.code, RejectCode.OTHER),
            _TEXTS.get(outcome.code, f"the ledger refused the allocation: {outcome.code.value}"),
        )
        for booking, outcome in zip(bookings, outcomes, strict=True)
        if outcome.code is not BookingCode.OK
    ]
