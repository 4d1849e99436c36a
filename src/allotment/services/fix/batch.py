"""Several allocation instructions (35=J) of one session, queued at once, handled in one
transaction: each answered exactly as `allocations.handle` answers it alone, with one commit
and one booking for many.

The instructions are taken in order. A new instruction's block, instrument and accounts are
read once for the batch (`BatchLookups`; the blocks stay locked until the commit); its checks
run as they do alone, its quantity counted against what the instructions before it in the
batch took from the block. Instructions that pass are booked together by one `book` call, each
one all or nothing (`groups`), behind a savepoint: when the ledger refuses any of them, the
booking is rolled back to the savepoint and each is booked on its own, as alone, so that a
refusal names every refused account with its own code. Their rows (the stored answer, the
audit event) are written in the batch's order.

A replace or cancel, an instruction whose checks may depend on the bookings before it (its
quantity, a repeated AllocID) first books what is pending; a replace or cancel then runs as it
does alone, behind a savepoint of its own, rolled back when it is refused.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from allotment.domain.accounts import Account, AccountRole
from allotment.domain.errors import AllotmentError
from allotment.domain.identity import Scope
from allotment.domain.instruments import Instrument
from allotment.domain.ledger import BookingCode
from allotment.domain.numbers import ZERO
from allotment.services.clearing import open_session
from allotment.services.context import Context, record
from allotment.services.fix import allocations
from allotment.services.fix.allocations import LIVE, REFUSED, FixInstructionRepository
from allotment.services.fix.checks import Refused
from allotment.services.fix.plan import Lookups, Plan, ledger_refusals, plan
from allotment.services.fix.values import (
    Answer,
    Instruction,
    Origin,
    RejectCode,
    TransType,
    block_reject,
)
from allotment.services.journal.book import book
from allotment.services.ports import BlockRecord, UnitOfWork, UnitOfWorkFactory
from allotment.services.registry import house_account_id


def handle_many(
    uows: UnitOfWorkFactory, ctx: Context, items: Sequence[tuple[Instruction, Origin]]
) -> list[Answer]:
    """Each instruction's answer, all committed at once. Raises when anything fails (nothing
    is then committed: the caller may handle them one by one)."""
    with uows() as uow:
        answers = _Batch(uow, ctx).run(items)
        uow.commit()
    return answers


class BatchLookups(Lookups):
    """What the batch's instructions read, read once: blocks (locked, and as the batch's
    bookings leave them), instruments and accounts."""

    def __init__(self, uow: UnitOfWork) -> None:
        super().__init__(uow)
        self.blocks: dict[int, BlockRecord] = {}
        self.taken: dict[int, Decimal] = {}
        """Quantity of each block taken by the instructions planned and not booked yet."""
        self._by_reference: dict[str, int] = {}
        self._instruments: dict[int, Instrument] = {}
        self._accounts: dict[str, Account | None] = {}

    def block(self, ctx: Context, instruction: Instruction) -> BlockRecord:
        named_once = not instruction.order_ids and not instruction.exec_ids
        if named_once and len(instruction.cl_ord_ids) == 1:
            block_id = self._by_reference.get(instruction.cl_ord_ids[0])
            if block_id is not None and block_id in self.blocks:
                return self.blocks[block_id]
        block = super().block(ctx, instruction)
        assert block.id is not None
        if named_once and len(instruction.cl_ord_ids) == 1:
            self._by_reference[instruction.cl_ord_ids[0]] = block.id
        return self.blocks.setdefault(block.id, block)

    def pending(self, block_id: int) -> Decimal:
        return self.taken.get(block_id, ZERO)

    def instrument(self, instrument_id: int) -> Instrument:
        found = self._instruments.get(instrument_id)
        if found is None:
            found = self._instruments[instrument_id] = super().instrument(instrument_id)
        return found

    def accounts(self, account_ids: Iterable[str]) -> dict[str, Account]:
        wanted = list(dict.fromkeys(account_ids))
        missing = [account_id for account_id in wanted if account_id not in self._accounts]
        if missing:
            found = super().accounts(missing)
            self._accounts.update({account_id: found.get(account_id) for account_id in missing})
        return {i: a for i in wanted if (a := self._accounts[i]) is not None}


@dataclass(slots=True)
class _Item:
    instruction: Instruction
    origin: Origin
    answer: Answer | None = None
    planned: Plan | None = None
    state: str = REFUSED
    written: bool = False
    """Its row and audit event are written (by `allocations.instruct`'s own path)."""


class _Batch:
    def __init__(self, uow: UnitOfWork, ctx: Context) -> None:
        self.uow, self.ctx = uow, ctx
        self.repository: FixInstructionRepository = uow.fix
        self.lookups = BatchLookups(uow)
        self.answered: dict[str, Answer] = {}
        """Each AllocID answered (before, or in this batch), as a repeat of it is answered."""
        self.segment: list[_Item] = []
        """Instructions handled and not written yet, in order."""
        self.planned: set[str] = set()
        """AllocIDs of the segment's instructions that wait for their booking."""
        self.dated: Context | None = None

    def run(self, pairs: Sequence[tuple[Instruction, Origin]]) -> list[Answer]:
        items = [_Item(instruction, origin) for instruction, origin in pairs]
        alloc_ids = [item.instruction.alloc_id for item in items]
        stored = self.repository.instructions(self.ctx.company_id, alloc_ids)
        self.answered = {a: Answer.from_json(json.loads(s.answer)) for a, s in stored.items()}
        if self.ctx.principal.has(Scope.WRITE):
            fee_id = house_account_id(self.ctx.company_id, AccountRole.FEE)
            lines = (line.account for item in items for line in item.instruction.lines)
            self.lookups.accounts([*lines, fee_id])
        for item in items:
            self._handle(item)
        self._flush()
        return [_known(item.answer) for item in items]

    def _handle(self, item: _Item) -> None:
        alloc_id = item.instruction.alloc_id
        if alloc_id in self.planned:
            self._flush()
        known = self.answered.get(alloc_id)
        if known is not None:  # a repeat: answered as the first time, nothing written
            item.answer, item.written = known, True
            return
        if item.instruction.trans_type is TransType.NEW and self.ctx.principal.has(Scope.WRITE):
            self._plan(item)
        else:
            self._flush()
            self._alone(item)
        if item.answer is not None:
            self._answered(item)

    def _plan(self, item: _Item) -> None:
        try:
            planned = self._planned(item.instruction)
        except Refused as refused:
            item.answer = block_reject(item.instruction, refused.code, refused.text)
        except AllotmentError as error:
            item.answer = block_reject(item.instruction, RejectCode.OTHER, error.message)
        else:
            if isinstance(planned, Plan):
                item.planned = planned
                block_id = _known(planned.block.id)
                taken = self.lookups.taken
                taken[block_id] = taken.get(block_id, ZERO) + item.instruction.quantity
                self.planned.add(item.instruction.alloc_id)
            else:
                item.answer = allocations.account_reject(item.instruction, tuple(planned))
        self.segment.append(item)

    def _planned(self, instruction: Instruction) -> Plan | list[Any]:
        """Planned as alone; a block level refusal while instructions before it wait for
        their booking is looked at again once they are booked (their quantity may be what
        made it fail)."""
        try:
            return plan(self.ctx, instruction, self.lookups)
        except Refused:
            if not self.planned:
                raise
        self._flush()
        return plan(self.ctx, instruction, self.lookups)

    def _alone(self, item: _Item) -> None:
        """A replace or cancel (or any instruction of a user who may not allocate), as
        `allocations.handle` runs it, behind a savepoint."""
        savepoint = self.uow.savepoint()
        answer = allocations.instruct(self.uow, self.ctx, item.instruction, item.origin)
        item.answer = answer
        if answer.accepted:  # its rows and audit event are written
            savepoint.commit()
            item.written = True
        else:
            savepoint.rollback()
            self.segment.append(item)
        self.lookups.blocks.clear()  # read again: the reversal changed them in the database

    def _answered(self, item: _Item) -> None:
        answer = _known(item.answer)
        self.answered[item.instruction.alloc_id] = Answer.from_json(
            json.loads(json.dumps(answer.as_json()))
        )

    def _flush(self) -> None:
        """Book the planned instructions of the segment, then write its rows in order."""
        waiting = [item for item in self.segment if item.planned is not None]
        if waiting:
            self._book(waiting)
        rows = [item for item in self.segment if not item.written]
        ctx = self.ctx
        self.repository.add_instructions(
            [allocations.stored(ctx, i.origin, _known(i.answer), i.state) for i in rows]
        )
        for item in rows:
            answer = _known(item.answer)
            after = allocations.audit(item.origin, answer)
            if item.state == LIVE:
                record(self.uow, ctx, "fix.allocated", "block", answer.block_id, after=after)
            else:
                action = "fix.instruction.refused"
                record(self.uow, ctx, action, "fix_instruction", answer.alloc_id, after=after)
                allocations.record_refused(self.uow, ctx, item.instruction, answer)
        self.segment, self.planned = [], set()

    def _book(self, waiting: list[_Item]) -> None:
        """One booking for every planned instruction (each all or nothing); when the ledger
        refuses any, each on its own instead."""
        if self.dated is None:
            self.dated = open_session(self.uow, self.ctx)
        plans = [_known(item.planned) for item in waiting]
        bookings = [booking for p in plans for booking in p.bookings]
        groups = [number for number, p in enumerate(plans) for _ in p.bookings]
        savepoint = self.uow.savepoint()
        outcomes = book(self.uow, self.dated, bookings, groups=groups)
        if any(outcome.code is not BookingCode.OK for outcome in outcomes):
            savepoint.rollback()
            self._book_each(waiting)
        else:
            savepoint.commit()
            ids = [_known(outcome.allocation_id) for outcome in outcomes]
            booked = self.repository.allocations_by_id(self.ctx.company_id, ids)
            start = 0
            for item, planned in zip(waiting, plans, strict=True):
                end = start + len(planned.bookings)
                self._booked(item, planned, ids[start:end], booked)
                start = end
        for block in {id(p.block): p.block for p in plans}.values():
            self.uow.blocks.update(block)
        self.lookups.taken.clear()

    def _book_each(self, waiting: list[_Item]) -> None:
        for item in waiting:
            planned = _known(item.planned)
            outcomes = book(self.uow, _known(self.dated), planned.bookings, atomic=True)
            refusals = ledger_refusals(planned.bookings, outcomes)
            if refusals:
                item.answer = allocations.account_reject(item.instruction, tuple(refusals))
                item.planned = None
                self._answered(item)
                continue
            ids = [_known(outcome.allocation_id) for outcome in outcomes]
            booked = self.repository.allocations_by_id(self.ctx.company_id, ids)
            self._booked(item, planned, ids, booked)

    def _booked(self, item: _Item, planned: Plan, ids: list[int], booked: Any) -> None:
        planned.block.allocated_quantity += item.instruction.quantity
        item.answer = allocations.accepted(planned, ids, booked)
        item.state = LIVE
        self._answered(item)


T = TypeVar("T")


def _known(value: T | None) -> T:
    assert value is not None
    return value
