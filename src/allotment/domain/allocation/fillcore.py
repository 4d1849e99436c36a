"""Partial fills in integers: which participants take the increments of a new fill.

Pro rata (the SEC's SMC letter: the cumulative allocation follows the pre-trade statement).
After a fill bringing the cumulative quantity to ``C``, participant i's exact target is
``C × t_i / T`` (``t_i`` its share of the whole block, ``T`` their sum). Nothing given
before is taken back.

Why not simply "largest deficit first": once a small participant has been rounded up, it
keeps that increment, and a later fill can then leave a large participant more than one
increment short (targets 2/100/0/10/100/2, fills of 1, 2 or 7 do it). Treating each
participant's j-th increment as a job due when its exact share reaches j (deadline
j × T / t_i) and released when its share passes j - 1 makes the problem unit-job scheduling,
where earliest-deadline-first is optimal: if any never-take-back sequence keeps everyone
within one increment after every fill (one always exists, Tijdeman 1980, "the chairman
assignment problem"), this one does. For one fill that means: everyone up to the floor of
its target, then the remaining increments one each to the participants whose next
increment falls due first, among those still below the ceiling of their target.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction
from itertools import groupby
from typing import Any

from allotment.domain.allocation.splitting import largest_remainder

TieKey = Callable[[int], Any]


def pro_rata_fill(
    targets: Sequence[int], allocated: Sequence[int], fill: int, tie_key: TieKey
) -> tuple[list[int], int]:
    """Increments of ``fill`` per participant, and what no target can take (over-fill)."""
    target_total = sum(targets)
    usable = max(0, min(fill, target_total - sum(allocated)))
    given = [0] * len(targets)
    if usable == 0:
        return given, fill
    cumulative = sum(allocated) + usable
    floors = [cumulative * target // target_total for target in targets]
    given = [max(0, floor - held) for floor, held in zip(floors, allocated, strict=True)]
    extra = usable - sum(given)
    if extra < 0:
        # Only reachable when earlier fills were allocated some other way: the participants
        # furthest behind then share this fill pro rata to how far behind they are.
        return largest_remainder(usable, given, tie_key), fill - usable
    ceilings = [-(-cumulative * target // target_total) for target in targets]
    _give_earliest_due(given, allocated, targets, ceilings, extra, tie_key)
    return given, fill - usable


def priority_fill(
    targets: Sequence[int],
    allocated: Sequence[int],
    fill: int,
    priorities: Sequence[int],
    tie_key: TieKey,
) -> tuple[list[int], int]:
    """Saxo's priority allocation: priority 1 is filled up to its full target first, then
    priority 2, and so on; participants of equal priority share pro rata."""
    given = [0] * len(targets)
    remaining = fill
    by_priority = sorted(range(len(targets)), key=lambda i: priorities[i])
    for _, group in groupby(by_priority, key=lambda i: priorities[i]):
        if remaining == 0:
            break
        members = list(group)
        shares, remaining = pro_rata_fill(
            [targets[i] for i in members],
            [allocated[i] for i in members],
            remaining,
            _relative(tie_key, members),
        )
        for index, share in zip(members, shares, strict=True):
            given[index] = share
    return given, remaining


def _relative(tie_key: TieKey, members: list[int]) -> TieKey:
    return lambda position: tie_key(members[position])


def _give_earliest_due(
    given: list[int],
    allocated: Sequence[int],
    targets: Sequence[int],
    limits: Sequence[int],
    extra: int,
    tie_key: TieKey,
) -> None:
    """One increment each to the ``extra`` participants whose next increment is due first.

    Participants stay at or below ``limits`` (the ceilings); should that not be enough,
    which only earlier allocations made some other way can cause, the rest goes the same
    way with the full targets as limits.
    """

    def due(i: int) -> tuple[Fraction, Any]:
        return Fraction(allocated[i] + given[i] + 1, targets[i]), tie_key(i)

    for bound in (limits, targets):
        while extra > 0:
            open_ = [
                i
                for i, target in enumerate(targets)
                if target > 0 and allocated[i] + given[i] < bound[i]
            ]
            if not open_:
                break
            chosen = sorted(open_, key=due)[:extra]
            for index in chosen:
                given[index] += 1
            extra -= len(chosen)
