"""The acceptor answers the instructions it queued during a poll by one batch of the door;
when the batch fails (nothing of it is booked), each is handled alone, as before batches."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from allotment.adapters.fix.engine import FAILED, AllocationApplication, _Queued
from allotment.services.fix.values import (
    AllocStatus,
    Answer,
    Instruction,
    Origin,
    RejectCode,
    TransType,
)


def _instruction(alloc_id: str) -> Instruction:
    return Instruction(alloc_id, TransType.NEW, "Buy", Decimal(1), Decimal(1), date(2026, 1, 5), ())


def _received(alloc_id: str) -> Answer:
    return Answer(alloc_id, TransType.NEW, AllocStatus.RECEIVED)


class Door:
    def __init__(self, *, batch_fails: bool) -> None:
        self.batch_fails = batch_fails
        self.batches: list[list[str]] = []
        self.alone: list[str] = []

    def instruct_many(self, items: Sequence[tuple[Instruction, Origin]]) -> list[Answer]:
        self.batches.append([instruction.alloc_id for instruction, _ in items])
        if self.batch_fails:
            raise RuntimeError("the connection was lost")
        return [Answer(i.alloc_id, i.trans_type, AllocStatus.ACCEPTED) for i, _ in items]

    def instruct(self, instruction: Instruction, origin: Origin) -> Answer:
        self.alone.append(instruction.alloc_id)
        if instruction.alloc_id == "X-2":
            raise RuntimeError("still lost")
        return Answer(instruction.alloc_id, instruction.trans_type, AllocStatus.ACCEPTED)


def _queue() -> list[_Queued]:
    origin = Origin("OMS->US", 2)
    unreadable = Answer("X-3", TransType.NEW, AllocStatus.BLOCK_LEVEL_REJECT, RejectCode.OTHER)
    return [
        _Queued(None, origin, _received("X-1"), _instruction("X-1")),
        _Queued(None, origin, _received("X-2"), _instruction("X-2")),
        _Queued(None, origin, unreadable),
    ]


def test_the_queued_instructions_are_answered_by_one_batch_in_their_order() -> None:
    door = Door(batch_fails=False)
    answers = AllocationApplication(door)._answers(_queue())  # type: ignore[arg-type]
    assert door.batches == [["X-1", "X-2"]] and door.alone == []
    assert [(a.alloc_id, a.status) for a in answers] == [
        ("X-1", AllocStatus.ACCEPTED),
        ("X-2", AllocStatus.ACCEPTED),
        ("X-3", AllocStatus.BLOCK_LEVEL_REJECT),
    ]


def test_a_failed_batch_is_handled_one_by_one_each_with_its_own_answer() -> None:
    door = Door(batch_fails=True)
    answers = AllocationApplication(door)._answers(_queue())  # type: ignore[arg-type]
    assert door.batches == [["X-1", "X-2"]] and door.alone == ["X-1", "X-2"]
    assert answers[0].status is AllocStatus.ACCEPTED
    assert (answers[1].status, answers[1].reject_code, answers[1].text) == (
        AllocStatus.BLOCK_LEVEL_REJECT,
        RejectCode.OTHER,
        FAILED,
    )
    assert answers[2].alloc_id == "X-3" and answers[2].status is AllocStatus.BLOCK_LEVEL_REJECT
