"""What the engine is asked: a total, participants, a method and the lot rules."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class Method(StrEnum):
    """How participants' weights are read (Saxo's ``AllocationUnitType`` plus ours)."""

    PERCENTAGE = "Percentage"  # weights are percentages that total 100
    UNIT = "Unit"  # weights are fixed quantities
    RATIO = "Ratio"  # weights are any non-negative ratios
    EQUAL = "Equal"  # weights are ignored: every participant weighs the same
    NET_LIQUIDATION = "NetLiquidation"  # weights are the accounts' net liquidation values
    AVAILABLE_EQUITY = "AvailableEquity"  # weights are the accounts' available equity
    CASH = "Cash"  # weights are cash amounts, spent at the request's price


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


@dataclass(frozen=True, slots=True)
class SplitRequest:
    """Split ``total`` across ``participants`` by ``method``.

    Quantities are multiples of ``increment`` (1 for whole shares, 0.0001 for fractional
    ones) and, when ``round_lot`` is given, multiples of the round lot. Below
    ``minimum_quantity`` (or a participant's own minimum) a participant gets nothing and its
    share is re-split. ``price`` is what a ``Cash`` participant's amount buys at.
    """

    total: Decimal
    participants: tuple[Participant, ...]
    method: Method
    increment: Decimal = Decimal(1)
    round_lot: Decimal | None = None
    minimum_quantity: Decimal | None = None
    price: Decimal | None = None

    def __post_init__(self) -> None:
        # A list passed by a caller would make a frozen request mutable after the fact.
        object.__setattr__(self, "participants", tuple(self.participants))


@dataclass(frozen=True, slots=True)
class AllocationPart:
    """One participant's quantity."""

    key: str
    quantity: Decimal
