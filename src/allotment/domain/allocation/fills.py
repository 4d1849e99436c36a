"""Allocating a block fill by fill, so the cumulative allocation tracks the target split."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from allotment.domain.allocation.errors import (
    DuplicateParticipant,
    IncrementDoesNotDivide,
    InvalidIncrement,
    InvalidQuantity,
    NoFills,
    NoParticipants,
    UnknownParticipant,
)
from allotment.domain.allocation.exact import in_steps, steps_to_decimal
from allotment.domain.allocation.fillcore import priority_fill, pro_rata_fill
from allotment.domain.allocation.model import AllocationPart
from allotment.domain.allocation.result import SplitResult


class FillPolicy(StrEnum):
    PRO_RATA = "ProRata"  # cumulative allocation within one increment of target after each fill
    PRIORITY = "Priority"  # priority 1 gets its full target first, then priority 2 (Saxo)


@dataclass(frozen=True, slots=True)
class FillTarget:
    """A participant's share of the whole block (usually from ``split`` of the ordered
    quantity, see ``fill_targets``)."""

    key: str
    quantity: Decimal
    priority: int = 1
    accepts_remainder: bool = False


@dataclass(frozen=True, slots=True)
class FillAllocation:
    parts: tuple[AllocationPart, ...]  # this fill, per target, in the targets' order
    cumulative: tuple[AllocationPart, ...]  # allocated so far, this fill included
    remainder: Decimal  # the part of the fill beyond every target (an over-fill)


def fill_targets(result: SplitResult) -> tuple[FillTarget, ...]:
    """Targets for allocating a block's fills from the split of its ordered quantity."""
    return tuple(
        FillTarget(p.key, quantity, p.priority, p.accepts_remainder)
        for p, quantity in zip(result.request.participants, result.quantities, strict=True)
    )


def allocate_fill(
    targets: Sequence[FillTarget],
    allocated_so_far: Mapping[str, Decimal],
    fill_quantity: Decimal,
    policy: FillPolicy = FillPolicy.PRO_RATA,
    *,
    increment: Decimal = Decimal(1),
) -> FillAllocation:
    """Allocate one fill of a block, never taking back what earlier fills gave.

    ``ProRata``: after the fill each participant's cumulative quantity is within one
    increment of (cumulative filled) × target / Σ targets; the increments go first to bring
    everyone up to the floor of that exact target, then one each to those whose next
    increment falls due first (see ``fillcore``). Ties: remainder acceptors, priority, key.
    ``Priority``: priority 1 up to its full target first, equal priorities pro rata.
    """
    _check_targets(targets, increment)
    fill = _steps("fill_quantity", fill_quantity, increment, positive=True)
    wanted = [_steps("target quantity", t.quantity, increment) for t in targets]
    held = _held(targets, allocated_so_far, increment)
    given, over = _one_fill(targets, wanted, held, fill, policy)
    return FillAllocation(
        _parts(targets, given, increment),
        _parts(targets, [a + b for a, b in zip(held, given, strict=True)], increment),
        steps_to_decimal(over, increment),
    )


def allocate_fills(
    targets: Sequence[FillTarget],
    fill_quantities: Sequence[Decimal],
    policy: FillPolicy = FillPolicy.PRO_RATA,
    *,
    increment: Decimal = Decimal(1),
) -> FillAllocation:
    """A block's fills one after the other, from nothing allocated, as ``allocate_fill``
    would give them one call at a time: ``parts`` is the last fill's, ``cumulative`` the
    allocation after every fill, ``remainder`` the over-fill of all the fills together."""
    _check_targets(targets, increment)
    if not fill_quantities:
        raise NoFills()
    fills = [_steps("fill_quantity", q, increment, positive=True) for q in fill_quantities]
    wanted = [_steps("target quantity", t.quantity, increment) for t in targets]
    held = [0] * len(targets)
    given: list[int] = []
    over = 0
    for fill in fills:
        given, extra = _one_fill(targets, wanted, held, fill, policy)
        held = [a + b for a, b in zip(held, given, strict=True)]
        over += extra
    return FillAllocation(
        _parts(targets, given, increment),
        _parts(targets, held, increment),
        steps_to_decimal(over, increment),
    )


def _one_fill(
    targets: Sequence[FillTarget],
    wanted: list[int],
    held: list[int],
    fill: int,
    policy: FillPolicy,
) -> tuple[list[int], int]:
    def tie_key(index: int) -> tuple[int, int, str]:
        target = targets[index]
        return (0 if target.accepts_remainder else 1, target.priority, target.key)

    if FillPolicy(policy) is FillPolicy.PRIORITY:
        priorities = [target.priority for target in targets]
        return priority_fill(wanted, held, fill, priorities, tie_key)
    return pro_rata_fill(wanted, held, fill, tie_key)


def _check_targets(targets: Sequence[FillTarget], increment: Decimal) -> None:
    if not targets:
        raise NoParticipants()
    if not increment.is_finite() or increment <= 0:
        raise InvalidIncrement(increment)
    seen: set[str] = set()
    for target in targets:
        if target.key in seen:
            raise DuplicateParticipant(target.key)
        seen.add(target.key)


def _held(
    targets: Sequence[FillTarget], allocated: Mapping[str, Decimal], increment: Decimal
) -> list[int]:
    known = {target.key for target in targets}
    for key in allocated:
        if key not in known:
            raise UnknownParticipant(key)
    return [
        _steps("allocated quantity", allocated.get(t.key, Decimal(0)), increment) for t in targets
    ]


def _steps(field: str, value: Decimal, increment: Decimal, *, positive: bool = False) -> int:
    if not value.is_finite() or value < 0 or (positive and value == 0):
        requirement = "a positive quantity" if positive else "a non-negative quantity"
        raise InvalidQuantity(field, value, requirement)
    count = in_steps(value, increment)
    if count is None:
        raise IncrementDoesNotDivide(value, increment)
    return count


def _parts(
    targets: Sequence[FillTarget], counts: Sequence[int], increment: Decimal
) -> tuple[AllocationPart, ...]:
    return tuple(
        AllocationPart(target.key, steps_to_decimal(count, increment))
        for target, count in zip(targets, counts, strict=True)
    )
