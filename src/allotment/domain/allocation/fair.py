"""The ``Fair`` remainder policy: round so that each account's cumulative deviation stays small.

Largest remainder decides every allocation on its own: an account whose share always has the
largest fraction (or wins every tie) gets the extra increment every time, and its cumulative
deviation from its exact targets grows without bound. ``Fair`` carries each participant's
cumulative deviation ``D`` (given minus exact target, in lots) from one allocation to the next
and rounds what it *owes* this time, ``x = t - D`` (``t`` the exact target of this allocation),
instead of ``t``:

1. every participant gets ``floor(x)`` (never below 0, nor below its minimum);
2. the lots left go one at a time, first to participants still below ``ceil(x)``, the most
   negative resulting deviation ``g - x`` first (ties: priority, then key);
3. when every participant has reached ``ceil(x)`` (possible only when the carried deviations do
   not sum to zero, e.g. a participant new to the key), the rest goes the same way without the
   ``ceil(x)`` bound; when the floors ask for more lots than there are, lots are taken back
   from the participants whose deviation stays least negative.

Any participant rounded to ``floor(x)`` or ``ceil(x)`` ends with a new deviation
``g - x`` strictly between -1 and 1. Decision record 0031 gives the argument, and when steps
1-2 alone can fail to keep it (no online rule can, then).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction
from math import ceil, floor
from typing import Any

TieKey = Callable[[int], Any]


def fair_shares(
    total: int,
    targets: Sequence[Fraction],
    carried: Sequence[Fraction],
    limits: tuple[Sequence[int], Sequence[int | None]],
    tie_key: TieKey,
) -> list[int]:
    """Lots per participant whose sum is ``total`` whenever the caps allow it.

    ``targets`` are this allocation's exact shares (they add up to ``total``), ``carried``
    the cumulative deviations so far, both in lots; ``limits`` are (minimums, caps) in lots.
    """
    minimums, caps = limits
    owed = [target - deviation for target, deviation in zip(targets, carried, strict=True)]
    given = [
        _clamp(max(0, floor(x), low), cap) for x, low, cap in zip(owed, minimums, caps, strict=True)
    ]
    ceilings = [_clamp(max(given[i], ceil(x)), caps[i]) for i, x in enumerate(owed)]
    rest = total - sum(given)
    if rest > 0:
        rest = _hand_out(given, owed, ceilings, rest, tie_key)
        _hand_out(given, owed, list(caps), rest, tie_key)
    elif rest < 0:
        _take_back(given, owed, minimums, -rest, tie_key)
    return given


def _clamp(value: int, cap: int | None) -> int:
    return value if cap is None else min(value, cap)


def _hand_out(
    given: list[int],
    owed: Sequence[Fraction],
    ceilings: Sequence[int | None],
    rest: int,
    tie_key: TieKey,
) -> int:
    """Give up to ``rest`` lots, one at a time, to the most negative deviation below its
    ceiling (None: no ceiling); returns what could not be given."""
    while rest > 0:
        open_ = [i for i, top in enumerate(ceilings) if top is None or given[i] < top]
        if not open_:
            return rest
        index = min(open_, key=lambda i: (given[i] - owed[i], tie_key(i)))
        given[index] += 1
        rest -= 1
    return 0


def _take_back(
    given: list[int],
    owed: Sequence[Fraction],
    minimums: Sequence[int],
    excess: int,
    tie_key: TieKey,
) -> None:
    """Take ``excess`` lots back, one at a time, from the least negative deviation above its
    minimum (a later tie-break key gives first)."""
    for _ in range(excess):
        open_ = [i for i, lots in enumerate(given) if lots > max(0, minimums[i])]
        if not open_:
            return
        index = min(open_, key=lambda i: (owed[i] - given[i], _Reversed(tie_key(i))))
        given[index] -= 1


class _Reversed:
    """Orders a tie-break key backwards, so the least deserving gives a lot back first."""

    __slots__ = ("key",)

    def __init__(self, key: Any) -> None:
        self.key = key

    def __lt__(self, other: _Reversed) -> bool:
        return bool(other.key < self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reversed) and bool(self.key == other.key)

    __hash__ = None  # type: ignore[assignment]
