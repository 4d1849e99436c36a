"""The integer core: whole increments (or lots) split by integer weights.

Every function here works on Python ints; above ``VECTOR_THRESHOLD`` participants the
same computation runs on NumPy int64 (see ``vectorized``) when it cannot overflow, and gives
the same answer: ties are broken by the same ``tie_key`` in both paths.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence
from typing import Any

from allotment.domain.allocation import vectorized
from allotment.domain.allocation.vectorized import IntVector, as_ints

# Below this many participants NumPy's fixed costs outweigh its speed (where the two paths
# meet: decision 0028).
VECTOR_THRESHOLD = 64

TieKey = Callable[[int], Any]


def largest_remainder(
    total: int, weights: IntVector, tie_key: TieKey, *, vectorize: bool | None = None
) -> list[int]:
    """Hamilton's method: floor(total × w / W) each, then one more for the largest remainders.

    Equal remainders are ordered by ``tie_key`` (smallest first). Needs a positive total
    weight. The parts always add up to ``total``.
    """
    if wants_numpy(len(weights), vectorize):
        parts = vectorized.largest_remainder(total, weights, tie_key)
        if parts is not None:
            return parts
    return _largest_remainder_pure(total, as_ints(weights), tie_key)


def proportional_floors(
    total: int, weights: IntVector, *, vectorize: bool | None = None
) -> list[int]:
    """floor(total × w / W) for every weight; the caller decides where the leftover goes."""
    if wants_numpy(len(weights), vectorize):
        floors = vectorized.proportional_floors(total, weights)
        if floors is not None:
            return floors
    ints = as_ints(weights)
    weight_total = sum(ints)
    return [total * weight // weight_total for weight in ints]


def round_robin(leftover: int, capacities: Sequence[int | None]) -> list[int]:
    """Hand ``leftover`` out one at a time, cycling through the positions in order.

    A position takes at most its capacity (None: unlimited). Returns what each position
    got; whatever no position can take is left for the caller to report as remainder.
    """
    if not capacities:
        return []
    rounds = _full_rounds(leftover, capacities)
    given = [rounds if cap is None else min(cap, rounds) for cap in capacities]
    rest = leftover - sum(given)
    for position, cap in enumerate(capacities):
        if rest == 0:
            break
        if cap is None or cap > rounds:
            given[position] += 1
            rest -= 1
    return given


def _full_rounds(leftover: int, capacities: Sequence[int | None]) -> int:
    """The largest k such that giving everyone min(capacity, k) stays within ``leftover``."""

    def handed_out(rounds: int) -> int:
        return sum(rounds if cap is None else min(cap, rounds) for cap in capacities)

    low, high = 0, leftover
    while low < high:
        middle = (low + high + 1) // 2
        if handed_out(middle) <= leftover:
            low = middle
        else:
            high = middle - 1
    return low


def wants_numpy(count: int, vectorize: bool | None) -> bool:
    """Whether a split of ``count`` participants runs on NumPy (``vectorize`` None: by size)."""
    return count >= VECTOR_THRESHOLD if vectorize is None else vectorize


def _largest_remainder_pure(total: int, weights: Sequence[int], tie_key: TieKey) -> list[int]:
    weight_total = sum(weights)
    parts: list[int] = []
    remainders: list[int] = []
    for weight in weights:
        part, remainder = divmod(total * weight, weight_total)
        parts.append(part)
        remainders.append(remainder)
    leftover = total - sum(parts)
    if leftover:
        ranked = heapq.nsmallest(
            leftover, range(len(weights)), key=lambda i: (-remainders[i], tie_key(i))
        )
        for index in ranked:
            parts[index] += 1
    return parts
