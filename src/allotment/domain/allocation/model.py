"""What the engine is asked: a total, participants, a method and the lot rules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction


class Method(StrEnum):
    """How participants' weights are read (Saxo's ``AllocationUnitType`` plus ours)."""

    PERCENTAGE = "Percentage"  # weights are percentages that total 100
    UNIT = "Unit"  # weights are fixed quantities
    RATIO = "Ratio"  # weights are any non-negative ratios
    EQUAL = "Equal"  # weights are ignored: every participant weighs the same
    NET_LIQUIDATION = "NetLiquidation"  # weights are the accounts' net liquidation values
    AVAILABLE_EQUITY = "AvailableEquity"  # weights are the accounts' available equity
    CASH = "Cash"  # weights are cash amounts, spent at the request's price


class RemainderPolicy(StrEnum):
    """Who gets the increments a pro rata split cannot place (SPEC §2, §12)."""

    LARGEST_REMAINDER = "LargestRemainder"  # Hamilton, each allocation on its own
    FAIR = "Fair"  # the most negative cumulative deviation first (see ``fair``)


@dataclass(frozen=True, slots=True)
class Participant:
    """One account taking part in a split.

    ``key`` is unique within a request and is the last, stable tie-break. ``priority``
    follows Saxo: 1 comes first. ``maximum_quantity`` caps the participant (an investor's
    demand); what it cannot take is re-split among the others.
    """

    key: str
    weight: Decimal = Decimal(0)
    priority: int = 1
    accepts_remainder: bool = False
    minimum_quantity: Decimal | None = None
    maximum_quantity: Decimal | None = None
    # Whether any rule beyond the weight applies, worked out once when the participant is
    # made, so that a split of a million plain participants checks one flag each.
    has_rules: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        rules = self.accepts_remainder or self.minimum_quantity is not None
        object.__setattr__(self, "has_rules", rules or self.maximum_quantity is not None)


@dataclass(frozen=True, slots=True)
class SplitRequest:
    """Split ``total`` across ``participants`` by ``method``.

    Quantities are multiples of ``increment`` (1 for whole shares, 0.0001 for fractional
    ones) and, when ``round_lot`` is given, multiples of the round lot. Below
    ``minimum_quantity`` (or a participant's own minimum) a participant gets nothing and its
    share is re-split. ``price`` is what a ``Cash`` participant's amount buys at.

    ``carried_deviations`` (participant key -> cumulative deviation so far, exact, in
    increments; absent: 0) is what the ``Fair`` remainder policy rounds against.
    """

    total: Decimal
    participants: tuple[Participant, ...]
    method: Method
    increment: Decimal = Decimal(1)
    round_lot: Decimal | None = None
    minimum_quantity: Decimal | None = None
    price: Decimal | None = None
    remainder_policy: RemainderPolicy = RemainderPolicy.LARGEST_REMAINDER
    carried_deviations: Mapping[str, Fraction] | None = None

    def __post_init__(self) -> None:
        # A list passed by a caller would make a frozen request mutable after the fact, and
        # a method given as its text ("Percentage") should behave as the enum member.
        object.__setattr__(self, "participants", tuple(self.participants))
        object.__setattr__(self, "method", Method(self.method))
        object.__setattr__(self, "remainder_policy", RemainderPolicy(self.remainder_policy))


@dataclass(frozen=True, slots=True)
class AllocationPart:
    """One participant's quantity."""

    key: str
    quantity: Decimal
