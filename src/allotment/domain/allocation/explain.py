"""Why each participant got what it got: exact target, quantity, deviation in increments."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from fractions import Fraction

from allotment.domain.allocation.exact import fraction_text, round_fraction
from allotment.domain.allocation.model import Method, RemainderPolicy, SplitRequest
from allotment.domain.allocation.vectorized import IntVector


class Reason(StrEnum):
    PRO_RATA = "ProRata"  # shared pro rata to its weight
    AT_CAP = "AtCap"  # held at its maximum, its units, or what its cash buys
    BELOW_MINIMUM = "BelowMinimum"  # its share was below the minimum: nothing, re-split


@dataclass(frozen=True, slots=True)
class SplitPlan:
    """The integer facts behind a split, kept so the explanation can be built on demand."""

    lot_increments: int
    weights: IntVector
    pool_total_lots: int
    pool_weight: int
    fixed_lots: Mapping[int, int]
    dropped: frozenset[int]
    acceptor_mode: bool
    remainder_policy: RemainderPolicy = RemainderPolicy.LARGEST_REMAINDER

    def reason(self, index: int) -> Reason:
        if index in self.dropped:
            return Reason.BELOW_MINIMUM
        return Reason.AT_CAP if index in self.fixed_lots else Reason.PRO_RATA

    def target_increments(self, index: int) -> Fraction:
        """The exact quantity, in increments, a perfectly divisible split would give."""
        if index in self.dropped:
            return Fraction(0)
        fixed = self.fixed_lots.get(index)
        if fixed is not None:
            return Fraction(fixed * self.lot_increments)
        if self.pool_weight == 0:
            return Fraction(0)
        # int(): the weights may be an int64 array, whose scalars would overflow here.
        lots = Fraction(self.pool_total_lots * int(self.weights[index]), self.pool_weight)
        return lots * self.lot_increments


@dataclass(frozen=True, slots=True)
class ParticipantExplanation:
    key: str
    reason: Reason
    target_quantity: Fraction  # exact, in quantity units (shares), after caps and minimums
    quantity: Decimal
    deviation_increments: Fraction  # (quantity - target) / increment

    def target_decimal(self, places: int = 6, rounding: str = ROUND_HALF_EVEN) -> Decimal:
        """The target at a stated precision, rounded with the named mode."""
        return round_fraction(self.target_quantity, places, rounding)

    def target_text(self) -> str:
        """The target as an exact fraction, e.g. ``"301/3"``."""
        return fraction_text(self.target_quantity)


@dataclass(frozen=True, slots=True)
class Explanation:
    method: Method
    total: Decimal
    increment: Decimal
    lot: Decimal
    allocated: Decimal
    remainder: Decimal
    leftover_to_acceptors: bool  # True: only remainder acceptors took leftover increments
    participants: tuple[ParticipantExplanation, ...]
    # Fair applies only when no participant is a remainder acceptor (acceptors take precedence).
    remainder_policy: RemainderPolicy = RemainderPolicy.LARGEST_REMAINDER

    def lines(self, places: int = 6) -> list[str]:
        """One readable line per participant, for logs, the CLI and the desk."""
        return [
            f"{row.key}: {row.quantity} (target {row.target_decimal(places)}, "
            f"{_signed(row.deviation_increments)} increments, {row.reason})"
            for row in self.participants
        ]


def _signed(value: Fraction) -> str:
    text = fraction_text(value)
    return text if value < 0 else f"+{text}"


def explain(
    request: SplitRequest,
    plan: SplitPlan,
    increments: Sequence[int],
    quantities: Sequence[Decimal],
    totals: tuple[Decimal, Decimal],
) -> Explanation:
    rows = tuple(
        _row(request, plan, index, increments[index], quantities[index])
        for index in range(len(increments))
    )
    allocated, remainder = totals
    lot = request.round_lot if request.round_lot is not None else request.increment
    return Explanation(
        request.method,
        request.total,
        request.increment,
        lot,
        allocated,
        remainder,
        plan.acceptor_mode,
        rows,
        plan.remainder_policy,
    )


def _row(
    request: SplitRequest, plan: SplitPlan, index: int, given: int, quantity: Decimal
) -> ParticipantExplanation:
    target = plan.target_increments(index)
    return ParticipantExplanation(
        key=request.participants[index].key,
        reason=plan.reason(index),
        target_quantity=target * Fraction(request.increment),
        quantity=quantity,
        deviation_increments=given - target,
    )
