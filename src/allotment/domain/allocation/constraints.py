"""Maximums and minimums: who shares pro rata, who is held at a cap, who gets nothing.

All in integer lots. A participant whose exact share reaches its cap is held at the cap and
the rest is re-shared among the others (water-filling); a participant whose exact share is
below its minimum gets nothing and its share is re-split. Both steps only ever raise the
others' shares, so repeating them until nothing changes reaches the one stable answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any


@dataclass(frozen=True, slots=True)
class Bounds:
    """Per participant, in lots: the cap used while sharing and the minimum (0: none)."""

    caps: Sequence[int | None]
    minimums: Sequence[int]


@dataclass(slots=True)
class Pool:
    """The outcome: ``members`` share ``total`` lots pro rata to weights adding up to
    ``weight``; ``fixed`` participants are held at their cap; ``dropped`` get nothing."""

    members: list[int]
    total: int
    weight: int
    fixed: dict[int, int] = field(default_factory=dict)
    dropped: set[int] = field(default_factory=set)


def form_pool(
    total: int, weights: Sequence[int], bounds: Bounds, precedence: Callable[[int], Any]
) -> Pool:
    """Apply caps and minimums until stable. ``precedence`` orders participants (first =
    most deserving); among equally short participants the least deserving is dropped first."""
    dropped = {
        index
        for index, (cap, minimum) in enumerate(zip(bounds.caps, bounds.minimums, strict=True))
        if cap is not None and cap < minimum
    }
    members = [index for index in range(len(weights)) if index not in dropped]
    pool = Pool(members, total, sum(weights[i] for i in members), dropped=dropped)
    while _hold_at_caps(pool, weights, bounds.caps) or _drop_below_minimums(
        pool, weights, bounds.minimums, precedence
    ):
        pass
    return pool


def _hold_at_caps(pool: Pool, weights: Sequence[int], caps: Sequence[int | None]) -> bool:
    """Fix every member whose exact share reaches its cap; True when any was fixed."""
    if pool.weight == 0:
        return False
    reached = {
        index
        for index in pool.members
        if (cap := caps[index]) is not None and cap * pool.weight <= pool.total * weights[index]
    }
    for index in reached:
        cap = caps[index]
        assert cap is not None
        pool.fixed[index] = cap
        pool.total -= cap
        pool.weight -= weights[index]
    pool.members = [index for index in pool.members if index not in reached]
    return bool(reached)


def _drop_below_minimums(
    pool: Pool, weights: Sequence[int], minimums: Sequence[int], precedence: Callable[[int], Any]
) -> bool:
    """Drop members below their minimum, one at a time, the furthest below first.

    One at a time, because each drop raises the others' shares and may lift them above
    their minimum; the furthest below is the smallest weight per minimum lot.
    """
    short = [index for index in pool.members if _is_short(pool, weights, minimums, index)]
    if not short:
        return False
    short.sort(key=precedence, reverse=True)
    short.sort(key=lambda index: Fraction(weights[index], minimums[index]))
    gone: set[int] = set()
    for index in short:
        if not _is_short(pool, weights, minimums, index):
            break
        gone.add(index)
        pool.weight -= weights[index]
    pool.dropped |= gone
    pool.members = [index for index in pool.members if index not in gone]
    return True


def _is_short(pool: Pool, weights: Sequence[int], minimums: Sequence[int], index: int) -> bool:
    minimum = minimums[index]
    if minimum == 0:
        return False
    return pool.weight == 0 or weights[index] * pool.total < minimum * pool.weight
