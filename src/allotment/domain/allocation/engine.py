"""The allocation engine: split a total across participants, exactly and explainably.

``split`` converts decimals to integers once (quantities in lots, weights scaled by a power
of ten), hands them to the integer core, and converts back. Rules, in order:

1. Quantities are multiples of the lot (the round lot, else the increment); what is left of
   the total below one lot is remainder.
2. Caps (a participant's maximum, its units, what its cash buys) and minimums decide who
   shares pro rata (see ``constraints``).
3. Hamilton's largest remainder among those who share; equal remainders are ordered by
   remainder acceptors first, then priority (1 first), then key.
4. If any participant accepts the remainder, only acceptors take the leftover lots: one at a
   time, in priority order, then key, cycling (Saxo's ``AcceptRemainderAmount``).
5. What nobody can take is the ``remainder``; it is reported, never dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from operator import attrgetter

from allotment.domain.allocation.constraints import Bounds, Pool, form_pool
from allotment.domain.allocation.errors import (
    DuplicateParticipant,
    IncrementDoesNotDivide,
    InvalidIncrement,
    InvalidQuantity,
    InvalidRoundLot,
    NoParticipants,
)
from allotment.domain.allocation.exact import ceil_steps, floor_steps, in_steps, steps_to_decimal
from allotment.domain.allocation.explain import (
    Explanation,
    ParticipantExplanation,
    Reason,
    SplitPlan,
)
from allotment.domain.allocation.methods import (
    acceptors_may_exceed_caps,
    method_caps,
    method_weights,
)
from allotment.domain.allocation.model import AllocationPart, Method, Participant, SplitRequest
from allotment.domain.allocation.result import SplitResult
from allotment.domain.allocation.splitting import (
    largest_remainder,
    proportional_floors,
    round_robin,
)

__all__ = [
    "AllocationPart",
    "Explanation",
    "Method",
    "Participant",
    "ParticipantExplanation",
    "Reason",
    "SplitRequest",
    "SplitResult",
    "precedence",
    "split",
]

Precedence = tuple[int, int, str]

_KEY = attrgetter("key")
_ACCEPTS = attrgetter("accepts_remainder")
_MAXIMUM = attrgetter("maximum_quantity")
_MINIMUM = attrgetter("minimum_quantity")


def precedence(participant: Participant) -> Precedence:
    """Who comes first when all else is equal: remainder acceptors, then priority, then key."""
    return (0 if participant.accepts_remainder else 1, participant.priority, participant.key)


def split(request: SplitRequest, *, vectorize: bool | None = None) -> SplitResult:
    """Split ``request.total`` across the participants; see the module docstring for rules.

    ``vectorize`` forces (True) or forbids (False) the NumPy path; None chooses by size.
    """
    total_increments, lot_increments = _check_request(request)
    total_lots, dust_increments = divmod(total_increments, lot_increments)
    lot = steps_to_decimal(lot_increments, request.increment)
    bounds, acceptor_caps = _bounds(request, lot)
    problem = _LotProblem(
        total_lots, lot_increments, method_weights(request), bounds, acceptor_caps
    )
    lots, plan = _split_lots(request, problem, vectorize)
    increments = lots if lot_increments == 1 else [count * lot_increments for count in lots]
    remainder_increments = dust_increments + (total_lots - sum(lots)) * lot_increments
    remainder = steps_to_decimal(remainder_increments, request.increment)
    allocated = steps_to_decimal(total_increments - remainder_increments, request.increment)
    return SplitResult(request, tuple(increments), allocated, remainder, plan)


@dataclass(frozen=True, slots=True)
class _LotProblem:
    """The split in integers: lots to share, weights, bounds, and the caps that bind remainder
    acceptors when they take leftover lots (None: unbounded)."""

    total_lots: int
    lot_increments: int
    weights: list[int]
    bounds: Bounds | None
    acceptor_caps: list[int | None] | None


def _check_request(request: SplitRequest) -> tuple[int, int]:
    """Validate the request's shape; return the total and the lot in increments."""
    participants = request.participants
    if not participants:
        raise NoParticipants()
    _check_unique_keys(participants)
    increment = request.increment
    if not increment.is_finite() or increment <= 0:
        raise InvalidIncrement(increment)
    total = request.total
    if not total.is_finite() or total < 0:
        raise InvalidQuantity("total", total, "a non-negative quantity")
    total_increments = in_steps(total, increment)
    if total_increments is None:
        raise IncrementDoesNotDivide(total, increment)
    return total_increments, _lot_increments(request.round_lot, increment)


def _check_unique_keys(participants: Sequence[Participant]) -> None:
    keys = list(map(_KEY, participants))
    if len(set(keys)) != len(keys):
        seen: set[str] = set()
        duplicate = next(key for key in keys if key in seen or seen.add(key))
        raise DuplicateParticipant(duplicate)


def _lot_increments(round_lot: Decimal | None, increment: Decimal) -> int:
    if round_lot is None:
        return 1
    count = in_steps(round_lot, increment) if round_lot.is_finite() else None
    if count is None or count <= 0:
        raise InvalidRoundLot(round_lot, increment)
    return count


def _bounds(request: SplitRequest, lot: Decimal) -> tuple[Bounds | None, list[int | None] | None]:
    """Caps and minimums in lots, and the caps that bind remainder acceptors; None when no
    participant is bounded, which keeps the common split on the fast path."""
    participants = request.participants
    from_method = method_caps(request, lot)
    has_maximum = list(map(_MAXIMUM, participants)).count(None) != len(participants)
    has_minimum = bool(request.minimum_quantity) or any(map(_MINIMUM, participants))
    if from_method is None and not has_maximum and not has_minimum:
        return None, None
    maximums = [_maximum_lots(p, lot) for p in participants]
    caps = maximums if from_method is None else list(map(_lower_cap, maximums, from_method))
    minimums = [_minimum_lots(p, request.minimum_quantity, lot) for p in participants]
    hard_caps = maximums if acceptors_may_exceed_caps(request.method) else caps
    return Bounds(caps, minimums), hard_caps


def _lower_cap(maximum: int | None, from_method: int) -> int:
    return from_method if maximum is None else min(maximum, from_method)


def _maximum_lots(participant: Participant, lot: Decimal) -> int | None:
    maximum = participant.maximum_quantity
    if maximum is None:
        return None
    _check_bound("maximum_quantity", maximum)
    return floor_steps(maximum, lot)


def _minimum_lots(participant: Participant, request_minimum: Decimal | None, lot: Decimal) -> int:
    minimums = [m for m in (request_minimum, participant.minimum_quantity) if m is not None]
    for minimum in minimums:
        _check_bound("minimum_quantity", minimum)
    return ceil_steps(max(minimums), lot) if minimums else 0


def _check_bound(field: str, value: Decimal) -> None:
    if not value.is_finite() or value < 0:
        raise InvalidQuantity(field, value, "a non-negative quantity")


def _split_lots(
    request: SplitRequest,
    problem: _LotProblem,
    vectorize: bool | None,
) -> tuple[list[int], SplitPlan]:
    participants = request.participants

    def rank(index: int) -> Precedence:
        return precedence(participants[index])

    weights = problem.weights
    if problem.bounds is None:
        pool = Pool([], problem.total_lots, sum(weights))
        members = None
    else:
        pool = form_pool(problem.total_lots, weights, problem.bounds, rank)
        members = pool.members
    acceptors = _acceptors(participants, rank)
    lots = _share_pool(pool, weights, members, bool(acceptors), rank, vectorize)
    if acceptors:
        _give_leftover_to_acceptors(lots, problem, acceptors, pool.dropped)
    plan = SplitPlan(
        problem.lot_increments,
        weights,
        pool.total,
        pool.weight,
        pool.fixed,
        frozenset(pool.dropped),
        bool(acceptors),
    )
    return lots, plan


def _acceptors(participants: Sequence[Participant], rank: Callable[[int], Precedence]) -> list[int]:
    accepts = list(map(_ACCEPTS, participants))
    if not any(accepts):
        return []
    return sorted((index for index, flag in enumerate(accepts) if flag), key=rank)


def _share_pool(
    pool: Pool,
    weights: list[int],
    members: list[int] | None,
    acceptor_mode: bool,
    rank: Callable[[int], Precedence],
    vectorize: bool | None,
) -> list[int]:
    """Lots per participant: the pool's pro rata shares plus the fixed (capped) ones.

    ``members`` None means everyone shares (no bounds): no index lists are built then.
    """
    member_weights = weights if members is None else [weights[i] for i in members]
    if pool.weight == 0:
        shares = [0] * len(member_weights)
    elif acceptor_mode:
        shares = proportional_floors(pool.total, member_weights, vectorize=vectorize)
    else:
        tie_key = rank if members is None else (lambda j: rank(members[j]))
        shares = largest_remainder(pool.total, member_weights, tie_key, vectorize=vectorize)
    if members is None:
        return shares
    lots = [0] * len(weights)
    for index, share in zip(members, shares, strict=True):
        lots[index] = share
    for index, cap in pool.fixed.items():
        lots[index] = cap
    return lots


def _give_leftover_to_acceptors(
    lots: list[int], problem: _LotProblem, acceptors: list[int], dropped: set[int]
) -> None:
    eligible = [index for index in acceptors if index not in dropped]
    caps = problem.acceptor_caps
    room = [_room(lots[i], None if caps is None else caps[i]) for i in eligible]
    given = round_robin(problem.total_lots - sum(lots), room)
    for index, extra in zip(eligible, given, strict=True):
        lots[index] += extra


def _room(current: int, cap: int | None) -> int | None:
    return None if cap is None else max(0, cap - current)
