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
from fractions import Fraction
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
from allotment.domain.allocation.fair import fair_shares
from allotment.domain.allocation.methods import (
    acceptors_may_exceed_caps,
    method_caps,
    method_weights,
)
from allotment.domain.allocation.model import (
    AllocationPart,
    Method,
    Participant,
    RemainderPolicy,
    SplitRequest,
)
from allotment.domain.allocation.result import SplitResult
from allotment.domain.allocation.splitting import (
    largest_remainder,
    proportional_floors,
    round_robin,
    wants_numpy,
)
from allotment.domain.allocation.vectorized import IntVector, as_ints, may_have_duplicates

__all__ = [
    "AllocationPart",
    "Explanation",
    "Method",
    "Participant",
    "ParticipantExplanation",
    "Reason",
    "RemainderPolicy",
    "SplitRequest",
    "SplitResult",
    "precedence",
    "split",
]

Precedence = tuple[int, int, str]

_KEY = attrgetter("key")
_ACCEPTS = attrgetter("accepts_remainder")
_HAS_RULES = attrgetter("has_rules")

# From this many keys on, comparing hashes in NumPy beats building a set of the keys
# (where the two meet: decision 0028).
HASHED_KEY_CHECK = 200_000


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
    # One pass decides whether any participant has rules beyond its weight.
    plain = not any(map(_HAS_RULES, request.participants))
    bounds, acceptor_caps = _bounds(request, lot, plain)
    in_bulk = wants_numpy(len(request.participants), vectorize)
    weights, weight_total = method_weights(request, in_bulk=in_bulk)
    if bounds is not None:
        weights = as_ints(weights)  # caps and minimums are worked out on Python ints
    problem = _LotProblem(total_lots, lot_increments, weights, weight_total, bounds, acceptor_caps)
    lots, assigned_lots, plan = _split_lots(request, problem, plain, vectorize)
    increments = lots if lot_increments == 1 else [count * lot_increments for count in lots]
    remainder_increments = dust_increments + (total_lots - assigned_lots) * lot_increments
    remainder = steps_to_decimal(remainder_increments, request.increment)
    allocated = steps_to_decimal(total_increments - remainder_increments, request.increment)
    return SplitResult(request, tuple(increments), allocated, remainder, plan)


@dataclass(frozen=True, slots=True)
class _LotProblem:
    """The split in integers: lots to share, weights, bounds, and the caps that bind remainder
    acceptors when they take leftover lots (None: unbounded)."""

    total_lots: int
    lot_increments: int
    weights: IntVector  # Python ints whenever there are bounds
    weight_total: int
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
    count = len(participants)
    if count >= HASHED_KEY_CHECK and not may_have_duplicates(map(_KEY, participants), count):
        return
    if len(set(map(_KEY, participants))) != count:
        raise DuplicateParticipant(_first_duplicate(list(map(_KEY, participants))))


def _first_duplicate(keys: list[str]) -> str:
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            return key
        seen.add(key)
    raise AssertionError("no duplicate key")


def _lot_increments(round_lot: Decimal | None, increment: Decimal) -> int:
    if round_lot is None:
        return 1
    count = in_steps(round_lot, increment) if round_lot.is_finite() else None
    if count is None or count <= 0:
        raise InvalidRoundLot(round_lot, increment)
    return count


def _bounds(
    request: SplitRequest, lot: Decimal, plain: bool
) -> tuple[Bounds | None, list[int | None] | None]:
    """Caps and minimums in lots, and the caps that bind remainder acceptors; None when no
    participant is bounded, which keeps the common split on the fast path."""
    participants = request.participants
    from_method = method_caps(request, lot)
    unbounded = plain or not any(
        p.minimum_quantity or p.maximum_quantity is not None for p in participants
    )
    if from_method is None and not request.minimum_quantity and unbounded:
        return None, None
    maximums = [_maximum_lots(p, lot) for p in participants]
    caps: list[int | None] = (
        maximums if from_method is None else list(map(_lower_cap, maximums, from_method))
    )
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
    request: SplitRequest, problem: _LotProblem, plain: bool, vectorize: bool | None
) -> tuple[list[int], int, SplitPlan]:
    """Lots per participant and how many lots were assigned in all."""
    participants = request.participants

    def rank(index: int) -> Precedence:
        return precedence(participants[index])

    if problem.bounds is None:
        pool = Pool([], problem.total_lots, problem.weight_total)
    else:
        pool = form_pool(problem.total_lots, as_ints(problem.weights), problem.bounds, rank)
    acceptors = _acceptors(participants, plain, rank)
    members = None if problem.bounds is None else pool.members
    if request.remainder_policy is RemainderPolicy.FAIR and not acceptors:
        lots, assigned = _share_fairly(request, problem, pool, rank)
    else:
        lots, assigned = _share_pool(
            pool, problem.weights, members, bool(acceptors), rank, vectorize
        )
    if acceptors:
        eligible = [index for index in acceptors if index not in pool.dropped]
        assigned += _give_leftover(lots, problem, eligible, problem.total_lots - assigned)
    plan = SplitPlan(
        problem.lot_increments,
        problem.weights,
        pool.total,
        pool.weight,
        pool.fixed,
        frozenset(pool.dropped),
        bool(acceptors),
        request.remainder_policy,
    )
    return lots, assigned, plan


def _share_fairly(
    request: SplitRequest, problem: _LotProblem, pool: Pool, rank: Callable[[int], Precedence]
) -> tuple[list[int], int]:
    """Lots per participant under the ``Fair`` policy: the pool's members are rounded against
    their carried deviations (see ``fair``); capped participants keep their cap."""
    count = len(request.participants)
    members = list(range(count)) if problem.bounds is None else pool.members
    weights = as_ints(problem.weights)
    carried = request.carried_deviations or {}
    per_lot = problem.lot_increments
    lots = [0] * count
    if pool.weight and members:
        targets = [Fraction(pool.total * weights[i], pool.weight) for i in members]
        carried_lots = [
            Fraction(carried.get(request.participants[i].key, 0)) / per_lot for i in members
        ]
        bounds = problem.bounds
        minimums = [0 if bounds is None else bounds.minimums[i] for i in members]
        caps = [None if bounds is None else bounds.caps[i] for i in members]
        shares = fair_shares(
            pool.total, targets, carried_lots, (minimums, caps), lambda j: rank(members[j])
        )
        for index, share in zip(members, shares, strict=True):
            lots[index] = share
    for index, cap in pool.fixed.items():
        lots[index] = cap
    return lots, sum(lots)


def _acceptors(
    participants: Sequence[Participant], plain: bool, rank: Callable[[int], Precedence]
) -> list[int]:
    if plain or not any(map(_ACCEPTS, participants)):
        return []
    return sorted((i for i, p in enumerate(participants) if p.accepts_remainder), key=rank)


def _share_pool(
    pool: Pool,
    weights: IntVector,
    members: list[int] | None,
    acceptor_mode: bool,
    rank: Callable[[int], Precedence],
    vectorize: bool | None,
) -> tuple[list[int], int]:
    """Lots per participant (the pool's pro rata shares plus the capped ones), and their sum.

    ``members`` None means everyone shares (no bounds): no index lists are built then.
    """
    if members is None:
        member_weights = weights
    else:
        ints = as_ints(weights)  # a list already: members are formed only under bounds
        member_weights = [ints[i] for i in members]
    if pool.weight == 0:
        shares, assigned = [0] * len(member_weights), 0
    elif acceptor_mode:
        shares = proportional_floors(pool.total, member_weights, vectorize=vectorize)
        assigned = sum(shares)
    else:
        tie_key = rank if members is None else (lambda j: rank(members[j]))
        shares = largest_remainder(pool.total, member_weights, tie_key, vectorize=vectorize)
        assigned = pool.total  # Hamilton's parts always add up to the total
    if members is None:
        return shares, assigned
    lots = [0] * len(weights)
    for index, share in zip(members, shares, strict=True):
        lots[index] = share
    for index, cap in pool.fixed.items():
        lots[index] = cap
    return lots, assigned + sum(pool.fixed.values())


def _give_leftover(
    lots: list[int], problem: _LotProblem, acceptors: list[int], leftover: int
) -> int:
    """Leftover lots to the remainder acceptors, in precedence order; returns lots given."""
    caps = problem.acceptor_caps
    room = [_room(lots[i], None if caps is None else caps[i]) for i in acceptors]
    given = round_robin(leftover, room)
    for index, extra in zip(acceptors, given, strict=True):
        lots[index] += extra
    return sum(given)


def _room(current: int, cap: int | None) -> int | None:
    return None if cap is None else max(0, cap - current)
