"""The answer of a split: one quantity per participant, the remainder, an explanation."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import cached_property

from allotment.domain.allocation.errors import UnknownParticipant
from allotment.domain.allocation.exact import steps_to_decimals
from allotment.domain.allocation.explain import Explanation, SplitPlan, explain
from allotment.domain.allocation.model import AllocationPart, SplitRequest


@dataclass(frozen=True)
class SplitResult:
    """Quantities are kept as whole increments (exact ints); decimals, parts and the
    explanation are built on first use, so a million-participant split pays only for what
    its caller reads."""

    request: SplitRequest
    increments: tuple[int, ...]  # per participant, in input order, in request.increment units
    allocated: Decimal
    remainder: Decimal  # total - allocated: what could not be split, reported, never dropped
    plan: SplitPlan

    @cached_property
    def quantities(self) -> tuple[Decimal, ...]:
        return steps_to_decimals(self.increments, self.request.increment)

    @cached_property
    def parts(self) -> tuple[AllocationPart, ...]:
        return tuple(
            AllocationPart(participant.key, quantity)
            for participant, quantity in zip(
                self.request.participants, self.quantities, strict=True
            )
        )

    def quantity_of(self, key: str) -> Decimal:
        index = self._positions.get(key)
        if index is None:
            raise UnknownParticipant(key)
        return self.quantities[index]

    def by_key(self) -> dict[str, Decimal]:
        return {part.key: part.quantity for part in self.parts}

    @cached_property
    def explanation(self) -> Explanation:
        return explain(
            self.request,
            self.plan,
            self.increments,
            self.quantities,
            (self.allocated, self.remainder),
        )

    def cumulative_deviations(self) -> dict[str, Fraction]:
        """Per participant key, the carried deviation plus this split's (given - exact target),
        exactly, in increments: what the next ``Fair`` split of the same key carries."""
        carried = self.request.carried_deviations or {}
        return {
            row.key: Fraction(carried.get(row.key, 0)) + row.deviation_increments
            for row in self.explanation.participants
        }

    @cached_property
    def _positions(self) -> dict[str, int]:
        return {
            participant.key: index for index, participant in enumerate(self.request.participants)
        }
