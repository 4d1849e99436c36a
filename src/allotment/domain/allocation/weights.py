"""Decimal weights to exact integers, once, at the edge of the integer core."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, DecimalException, localcontext

from allotment.domain.allocation.errors import InvalidWeight, NegativeWeight
from allotment.domain.allocation.exact import EXACT
from allotment.domain.allocation.vectorized import IntVector, scaled_integers

_DIGIT_SPAN = EXACT.prec * 2 // 5


@dataclass(frozen=True, slots=True)
class IntegerWeights:
    """Weights × 10**places: exact integers with the same proportions as the decimals."""

    values: IntVector  # an int64 array when converted in bulk (see ``scaled_integers``)
    places: int
    total: int
    decimal_total: Decimal


def integer_weights(
    weights: Sequence[Decimal], key_of: Callable[[int], str], *, in_bulk: bool = False
) -> IntegerWeights:
    """Scale every weight by the one power of ten that makes them all integers.

    The exact sum of decimals carries the smallest exponent among them (decimal addition
    keeps trailing digits), so one pass that is needed anyway for the total also finds the
    scale, instead of inspecting each weight's digits. ``in_bulk`` converts the weights from
    their hashes into an int64 array (see ``vectorized.scaled_integers``) when that is exact;
    otherwise, and for small splits, each weight is multiplied out.
    """
    decimal_total = _exact_total(weights, key_of)
    exponent = decimal_total.as_tuple().exponent
    assert isinstance(exponent, int)  # finite, checked by _exact_total
    places = max(0, -exponent)
    # The scaled exact sum is the integer sum, without another pass over a million ints.
    total = int(decimal_total.scaleb(places, context=EXACT))
    in_array = scaled_integers(weights, places, total) if in_bulk else None
    if in_array is not None:
        return IntegerWeights(in_array, places, total, decimal_total)
    scale = Decimal(10**places)
    with localcontext(EXACT):
        values = list(map(int, map(scale.__mul__, weights)))
    if values and min(values) < 0:
        index = next(i for i, value in enumerate(values) if value < 0)
        raise NegativeWeight(key_of(index), weights[index])
    return IntegerWeights(values, places, total, decimal_total)


def _exact_total(weights: Sequence[Decimal], key_of: Callable[[int], str]) -> Decimal:
    try:
        with localcontext(EXACT):
            total = sum(weights, Decimal(0))
    except DecimalException:
        total = Decimal("NaN")
    if not total.is_finite():
        # A weight that is not finite, or so far from the others that no exact sum exists.
        index = next((i for i, weight in enumerate(weights) if not _usable(weight)), 0)
        raise InvalidWeight(key_of(index), weights[index])
    return total


def _usable(weight: Decimal) -> bool:
    if not weight.is_finite():
        return False
    exponent = weight.as_tuple().exponent
    assert isinstance(exponent, int)
    return weight.adjusted() < _DIGIT_SPAN and exponent > -_DIGIT_SPAN
