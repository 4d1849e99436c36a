"""FIX allocation instructions (35=J): new, replace and cancel, booked by the same services as
every other door (`booking.book`, `ledger.reverse_entry`) on the same blocks.

An instruction is all or nothing: one refused account (or one ledger refusal) and nothing is
booked; the answer is an account level reject naming the refused accounts. AllocID is the
natural idempotency reference: an AllocID seen before is answered with the stored answer of
its first time and books nothing (a resent message after a reconnect, a PossDup).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any, Protocol

from allotment.domain.accounts import Account, AccountRole
from allotment.domain.allocation.model import RemainderPolicy
from allotment.domain.errors import AllotmentError, NotFound
from allotment.domain.identity import Scope
from allotment.domain.instruments import Instrument
from allotment.domain.ledger import BookingCode
from allotment.services.context import Context, record
from allotment.services.desk.records import RefusedItem, record_refusals
from allotment.services.fairness import NO_KEY
from allotment.services.fix import checks as fix_checks
from allotment.services.fix.checks import Refused
from allotment.services.fix.values import (
    AccountRefusal,
    AllocLine,
    AllocStatus,
    Answer,
    Instruction,
    Origin,
    RejectCode,
    Report,
    TransType,
    block_reject,
)
from allotment.services.journal.book import book
from allotment.services.journal.ledger import reverse_entry
from allotment.services.journal.requests import BookingRequest, FairnessNote
from allotment.services.ports import AllocationRow, BlockRecord, UnitOfWork, UnitOfWorkFactory
from allotment.services.registry import house_account_id

LIVE, REFUSED, CANCELLED, REPLACED, DONE = "live", "refused", "cancelled", "replaced", "done"
"""An instruction's state: its allocations are booked (live), it was refused, a later
instruction cancelled or replaced it, or it is an accepted cancel (done)."""


@dataclass(frozen=True, slots=True)
class StoredInstruction:
    company_id: int
    alloc_id: str
    session: str
    msg_seq_num: int
    trans_type: str
    state: str
    answer: str
    """The answer as JSON (`Answer.as_json`)."""
    created_at: datetime
    created_by: str
    ref_alloc_id: str | None = None
    block_id: int | None = None
    id: int | None = None


class FixInstructionRepository(Protocol):
    def add_instruction(self, stored: StoredInstruction) -> int: ...
    def instruction(self, company_id: int, alloc_id: str) -> StoredInstruction | None: ...
    def set_state(self, instruction_id: int, state: str) -> None: ...
    def blocks_of_fills(self, company_id: int, fill_ids: Sequence[int]) -> dict[int, int]: ...
    def allocations_by_id(
        self, company_id: int, ids: Sequence[int]
    ) -> dict[int, AllocationRow]: ...


def _repository(uow: UnitOfWork) -> FixInstructionRepository:
    return uow.fix


def handle(
    uows: UnitOfWorkFactory, ctx: Context, instruction: Instruction, origin: Origin
) -> tuple[Answer, bool]:
    """The answer to an instruction and whether it is a replay of an AllocID seen before.
    An accepted instruction is committed; a refused one is rolled back whole, then remembered
    (so that its AllocID, sent again, is answered the same)."""
    with uows() as uow:
        previous = _repository(uow).instruction(ctx.company_id, instruction.alloc_id)
        if previous is not None:
            return Answer.from_json(json.loads(previous.answer)), True
        answer = _instruct(uow, ctx, instruction, origin)
        if answer.accepted:
            uow.commit()
            return answer, False
    with uows() as uow:
        _remember(uow, ctx, origin, answer, REFUSED)
        record_refusals(uow, ctx, f"AllocID {answer.alloc_id}", _refused_items(instruction, answer))
        record(
            uow,
            ctx,
            "fix.instruction.refused",
            "fix_instruction",
            answer.alloc_id,
            after=_audit(origin, answer),
        )
        uow.commit()
    return answer, False


def _instruct(uow: UnitOfWork, ctx: Context, instruction: Instruction, origin: Origin) -> Answer:
    if not ctx.principal.has(Scope.WRITE):
        return block_reject(instruction, RejectCode.OTHER, "the session's user may not allocate")
    try:
        if instruction.trans_type is TransType.NEW:
            return _allocate(uow, ctx, instruction, origin)
        previous = _live(uow, ctx, instruction)
        _undo(uow, ctx, previous, origin)
        if instruction.trans_type is TransType.CANCEL:
            _repository(uow).set_state(_known(previous.id), CANCELLED)
            answer = Answer(
                instruction.alloc_id,
                instruction.trans_type,
                AllocStatus.ACCEPTED,
                block_id=previous.block_id,
                ref_alloc_id=previous.alloc_id,
            )
            _remember(uow, ctx, origin, answer, DONE)
            record(
                uow,
                ctx,
                "fix.allocation.cancelled",
                "fix_instruction",
                previous.alloc_id,
                after=_audit(origin, answer),
            )
            return answer
        _repository(uow).set_state(_known(previous.id), REPLACED)
        return _allocate(uow, ctx, instruction, origin)
    except Refused as refused:
        return block_reject(instruction, refused.code, refused.text)
    except AllotmentError as error:  # e.g. a reversal the ledger refuses
        return block_reject(instruction, RejectCode.OTHER, error.message)


def _live(uow: UnitOfWork, ctx: Context, instruction: Instruction) -> StoredInstruction:
    """The instruction a replace or cancel refers to (RefAllocID): known and still booked."""
    reference = instruction.ref_alloc_id
    if not reference:
        raise Refused(RejectCode.OTHER, "a replace or cancel names its RefAllocID")
    previous = _repository(uow).instruction(ctx.company_id, reference)
    if previous is None or previous.state != LIVE:
        state = "unknown" if previous is None else previous.state
        raise Refused(RejectCode.OTHER, f"RefAllocID {reference} is {state}, not booked")
    return previous


def _undo(uow: UnitOfWork, ctx: Context, previous: StoredInstruction, origin: Origin) -> None:
    """Reverse every allocation of a booked instruction and give its quantity back."""
    answer = Answer.from_json(json.loads(previous.answer))
    block = uow.blocks.get(ctx.company_id, _known(previous.block_id), lock=True)
    assert block is not None
    for report in answer.reports:
        row = uow.allocations.get(ctx.company_id, report.allocation_id)
        assert row is not None
        reverse_entry(uow, ctx, row.entry_id, f"FIX {origin.session} #{origin.msg_seq_num}")
    block.allocated_quantity -= answer.quantity
    uow.blocks.update(block)


def _allocate(uow: UnitOfWork, ctx: Context, instruction: Instruction, origin: Origin) -> Answer:
    fill_ids = [int(exec_id) for exec_id in instruction.exec_ids if exec_id.isdigit()]
    block_of_fill = _repository(uow).blocks_of_fills(ctx.company_id, fill_ids)
    block = fix_checks.find_block(uow, ctx, instruction, block_of_fill)
    instrument = uow.instruments.get(block.instrument_id)
    assert instrument is not None
    fix_checks.check_terms(instruction, block, instrument)
    quantities, targets = fix_checks.allotted(instruction, instrument)
    fee_id = house_account_id(ctx.company_id, AccountRole.FEE)
    checked = fix_checks.check_accounts(uow, ctx, instruction.lines, (block.account_id, fee_id))
    if checked.refusals:
        return _account_reject(instruction, checked.refusals)
    average = checked.accounts[block.account_id]
    fee_account = checked.accounts.get(fee_id)
    if fee_account is None:
        raise NotFound("the company has no fee account", role=AccountRole.FEE.value)
    bookings = [
        _booking(
            line,
            quantity,
            checked.accounts[line.account],
            average,
            block,
            instrument,
            instruction,
            fee_account,
            _note(targets, index),
        )
        for index, (line, quantity) in enumerate(zip(instruction.lines, quantities, strict=True))
    ]
    outcomes = book(uow, ctx, bookings, atomic=True)
    refusals = tuple(
        AccountRefusal(booking.client.id, _code(outcome.code), _text(outcome.code))
        for booking, outcome in zip(bookings, outcomes, strict=True)
        if outcome.code is not BookingCode.OK
    )
    if refusals:
        return _account_reject(instruction, refusals)
    ids = [_known(outcome.allocation_id) for outcome in outcomes]
    booked = _repository(uow).allocations_by_id(ctx.company_id, ids)
    reports = tuple(_report(allocation_id, booked[allocation_id]) for allocation_id in ids)
    block.allocated_quantity += instruction.quantity
    uow.blocks.update(block)
    answer = _accepted(instruction, block, instrument, reports)
    _remember(uow, ctx, origin, answer, LIVE)
    record(uow, ctx, "fix.allocated", "block", block.id, after=_audit(origin, answer))
    return answer


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


def _code(code: BookingCode) -> RejectCode:
    """Our ledger's refusal as FIX's IndividualAllocRejCode (Text says which rule)."""
    return _CODES.get(code, RejectCode.OTHER)


def _text(code: BookingCode) -> str:
    return _TEXTS.get(code, f"the ledger refused the allocation: {code.value}")


def _refused_items(instruction: Instruction, answer: Answer) -> list[RefusedItem]:
    """An account-level reject's accounts, for the desk and the drift report: each with the
    quantity its line asked for (a calculated allocation's; a preliminary one's is worked out,
    so none)."""
    asked = {} if instruction.preliminary else {x.account: x.quantity for x in instruction.lines}
    return [
        RefusedItem(r.account, r.code.name.title().replace("_", ""), r.text, asked.get(r.account))
        for r in answer.refusals
    ]


def _account_reject(instruction: Instruction, refusals: tuple[AccountRefusal, ...]) -> Answer:
    return Answer(
        instruction.alloc_id,
        instruction.trans_type,
        AllocStatus.ACCOUNT_LEVEL_REJECT,
        RejectCode.UNKNOWN_ACCOUNT
        if all(r.code is RejectCode.UNKNOWN_ACCOUNT for r in refusals)
        else RejectCode.OTHER,
        "; ".join(f"{r.account}: {r.text}" for r in refusals),
        refusals=refusals,
        ref_alloc_id=instruction.ref_alloc_id,
    )


def _report(allocation_id: int, row: AllocationRow) -> Report:
    """What the ledger booked, read back: AllocNetMoney is the ledger's net amount."""
    return Report(
        allocation_id,
        row.account_id,
        row.quantity,
        row.price,
        row.commission,
        row.tax,
        row.other_fees,
        row.net_amount,
        settlement_date=row.settlement_date,
    )


def _accepted(
    instruction: Instruction,
    block: BlockRecord,
    instrument: Instrument,
    reports: tuple[Report, ...],
) -> Answer:
    return Answer(
        instruction.alloc_id,
        instruction.trans_type,
        AllocStatus.ACCEPTED,
        reports=reports,
        side=block.side,
        symbol=instrument.symbol,
        quantity=instruction.quantity,
        average_price=instruction.average_price,
        trade_date=instruction.trade_date,
        settlement_date=instruction.settlement_date,
        block_id=block.id,
        ref_alloc_id=instruction.ref_alloc_id,
        preliminary=instruction.preliminary,
    )


def _remember(uow: UnitOfWork, ctx: Context, origin: Origin, answer: Answer, state: str) -> None:
    _repository(uow).add_instruction(
        StoredInstruction(
            company_id=ctx.company_id,
            alloc_id=answer.alloc_id,
            session=origin.session,
            msg_seq_num=origin.msg_seq_num,
            trans_type=answer.trans_type.value,
            state=state,
            answer=json.dumps(answer.as_json()),
            created_at=ctx.now,
            created_by=ctx.principal.subject,
            ref_alloc_id=answer.ref_alloc_id,
            block_id=answer.block_id,
        )
    )


def _audit(origin: Origin, answer: Answer) -> dict[str, Any]:
    """The audit event names the FIX session and message the booking came in."""
    return {
        "fix_session": origin.session,
        "msg_seq_num": origin.msg_seq_num,
        "alloc_id": answer.alloc_id,
        "trans_type": answer.trans_type.value,
        "status": int(answer.status),
        "ref_alloc_id": answer.ref_alloc_id,
        "allocation_ids": [report.allocation_id for report in answer.reports],
    }


def _known(value: int | None) -> int:
    assert value is not None
    return value
