"""FIX allocation instructions (35=J): new, replace and cancel, booked by the same services as
every other door (`booking.book`, `ledger.reverse_entry`) on the same blocks.

An instruction is all or nothing: one refused account (or one ledger refusal) and nothing is
booked; the answer is an account level reject naming the refused accounts. AllocID is the
natural idempotency reference: an AllocID seen before is answered with the stored answer of
its first time and books nothing (a resent message after a reconnect, a PossDup).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from allotment.domain.errors import AllotmentError
from allotment.domain.identity import Scope
from allotment.services.context import Context, record
from allotment.services.desk.records import RefusedItem, record_refusals
from allotment.services.fix.checks import Refused
from allotment.services.fix.plan import Lookups, Plan, ledger_refusals, plan
from allotment.services.fix.values import (
    AccountRefusal,
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
from allotment.services.ports import AllocationRow, UnitOfWork, UnitOfWorkFactory

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
    def add_instructions(self, stored: Sequence[StoredInstruction]) -> None: ...
    def instruction(self, company_id: int, alloc_id: str) -> StoredInstruction | None: ...
    def instructions(
        self, company_id: int, alloc_ids: Sequence[str]
    ) -> dict[str, StoredInstruction]: ...
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
        answer = instruct(uow, ctx, instruction, origin)
        if answer.accepted:
            uow.commit()
            return answer, False
    with uows() as uow:
        _remember(uow, ctx, origin, answer, REFUSED)
        record_refused(uow, ctx, instruction, answer)
        record(
            uow,
            ctx,
            "fix.instruction.refused",
            "fix_instruction",
            answer.alloc_id,
            after=audit(origin, answer),
        )
        uow.commit()
    return answer, False


def instruct(uow: UnitOfWork, ctx: Context, instruction: Instruction, origin: Origin) -> Answer:
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
                after=audit(origin, answer),
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
    planned = plan(ctx, instruction, Lookups(uow))
    if not isinstance(planned, Plan):
        return account_reject(instruction, tuple(planned))
    outcomes = book(uow, ctx, planned.bookings, atomic=True)
    refusals = ledger_refusals(planned.bookings, outcomes)
    if refusals:
        return account_reject(instruction, tuple(refusals))
    ids = [_known(outcome.allocation_id) for outcome in outcomes]
    booked = _repository(uow).allocations_by_id(ctx.company_id, ids)
    planned.block.allocated_quantity += instruction.quantity
    uow.blocks.update(planned.block)
    answer = accepted(planned, ids, booked)
    _remember(uow, ctx, origin, answer, LIVE)
    record(uow, ctx, "fix.allocated", "block", planned.block.id, after=audit(origin, answer))
    return answer


def record_refused(uow: UnitOfWork, ctx: Context, instruction: Instruction, answer: Answer) -> None:
    """Keep an account-level reject's accounts in the refusals the desk and drift read."""
    record_refusals(uow, ctx, f"AllocID {answer.alloc_id}", _refused_items(instruction, answer))


def _refused_items(instruction: Instruction, answer: Answer) -> list[RefusedItem]:
    """An account-level reject's accounts, for the desk and the drift report: each with the
    quantity its line asked for (a calculated allocation's; a preliminary one's is worked out,
    so none)."""
    asked = {} if instruction.preliminary else {x.account: x.quantity for x in instruction.lines}
    return [
        RefusedItem(r.account, r.code.name.title().replace("_", ""), r.text, asked.get(r.account))
        for r in answer.refusals
    ]


def account_reject(instruction: Instruction, refusals: tuple[AccountRefusal, ...]) -> Answer:
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


def accepted(planned: Plan, ids: Sequence[int], booked: Mapping[int, AllocationRow]) -> Answer:
    """The answer to a booked instruction: a report per allocation, as the ledger booked it."""
    instruction, block = planned.instruction, planned.block
    return Answer(
        instruction.alloc_id,
        instruction.trans_type,
        AllocStatus.ACCEPTED,
        reports=tuple(_report(allocation_id, booked[allocation_id]) for allocation_id in ids),
        side=block.side,
        symbol=planned.instrument.symbol,
        quantity=instruction.quantity,
        average_price=instruction.average_price,
        trade_date=instruction.trade_date,
        settlement_date=instruction.settlement_date,
        block_id=block.id,
        ref_alloc_id=instruction.ref_alloc_id,
        preliminary=instruction.preliminary,
    )


def _remember(uow: UnitOfWork, ctx: Context, origin: Origin, answer: Answer, state: str) -> None:
    _repository(uow).add_instruction(stored(ctx, origin, answer, state))


def stored(ctx: Context, origin: Origin, answer: Answer, state: str) -> StoredInstruction:
    """The instruction's row: its answer (as JSON) and state."""
    return StoredInstruction(
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


def audit(origin: Origin, answer: Answer) -> dict[str, Any]:
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
