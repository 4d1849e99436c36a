"""What each method makes of the participants: integer weights and per-participant caps."""

from __future__ import annotations

from decimal import Decimal
from operator import attrgetter

from allotment.domain.allocation.errors import (
    InvalidPrice,
    NegativeWeight,
    PercentagesDoNotTotal100,
    ZeroTotalWeight,
)
from allotment.domain.allocation.exact import floor_steps, times
from allotment.domain.allocation.model import Method, Participant, SplitRequest
from allotment.domain.allocation.vectorized import IntVector
from allotment.domain.allocation.weights import IntegerWeights, integer_weights

_WEIGHT = attrgetter("weight")

# Saxo's clients send thirds as JSON floats (33.333333333333336): a total this close to 100
# counts as 100, and the split is then pro rata to the actual total.
PERCENT_TOLERANCE_EXPONENT = 9

_NEEDS_POSITIVE_TOTAL = frozenset(
    {Method.PERCENTAGE, Method.RATIO, Method.NET_LIQUIDATION, Method.AVAILABLE_EQUITY}
)


def method_weights(request: SplitRequest, *, in_bulk: bool = False) -> tuple[IntVector, int]:
    """Exact integer weights, validated for the method, and their total; ``in_bulk`` allows
    an int64 array (see ``integer_weights``)."""
    participants = request.participants
    if request.method is Method.EQUAL:
        return [1] * len(participants), len(participants)
    scaled = integer_weights(
        list(map(_WEIGHT, participants)), lambda i: participants[i].key, in_bulk=in_bulk
    )
    if request.method is Method.PERCENTAGE:
        _check_percentages(scaled)
    if request.method in _NEEDS_POSITIVE_TOTAL and scaled.total == 0:
        raise ZeroTotalWeight(request.method)
    return scaled.values, scaled.total


def method_caps(request: SplitRequest, lot: Decimal) -> list[int] | None:
    """Lots a participant can hold because of the method itself, or None when unbounded.

    ``Unit``: its units, floored to whole lots. ``Cash``: what its amount buys at the
    request's price, floored to whole lots (what is not bought becomes remainder).
    """
    if request.method is Method.UNIT:
        return [_non_negative_floor(p, lot) for p in request.participants]
    if request.method is Method.CASH:
        price = request.price
        if price is None or not price.is_finite() or price <= 0:
            raise InvalidPrice("price", price)
        lot_cost = times(price, lot)
        return [_non_negative_floor(p, lot_cost) for p in request.participants]
    return None


def acceptors_may_exceed_caps(method: Method) -> bool:
    """A Unit key's remainder acceptor takes the leftover beyond its own units (Saxo's
    AcceptRemainderAmount); a Cash participant never gets more than its cash buys."""
    return method is Method.UNIT


def _non_negative_floor(participant: Participant, step: Decimal) -> int:
    if participant.weight < 0:
        raise NegativeWeight(participant.key, participant.weight)
    return floor_steps(participant.weight, step)


def _check_percentages(scaled: IntegerWeights) -> None:
    hundred = 100 * 10**scaled.places
    # |total - 100| <= 10**-9, in the integers of the scaled weights.
    if abs(scaled.total - hundred) * 10**PERCENT_TOLERANCE_EXPONENT > 10**scaled.places:
        raise PercentagesDoNotTotal100(scaled.decimal_total)
