"""Exact arithmetic helpers: Decimal in and out, integers and fractions inside.

Two explicit contexts, so that nothing depends on the global decimal context:

* ``EXACT`` traps ``Inexact``: sums and products of money and quantities are either exact
  or raise, never silently rounded at 28 digits.
* ``ROUNDING`` is used only at the named rounding points, with the rounding mode written at
  the call (``quantize(CENT, rounding=ROUND_HALF_UP, context=ROUNDING)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import (
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    Rounded,
    localcontext,
)
from fractions import Fraction
from itertools import repeat

# A thousand digits is far beyond any quantity or amount, and we never divide in these
# contexts, so the precision only bounds pathological inputs.
EXACT = Context(prec=1000, traps=[Inexact, Rounded, InvalidOperation, Overflow, DivisionByZero])
ROUNDING = Context(prec=1000, traps=[InvalidOperation, Overflow, DivisionByZero])


def times(left: Decimal, right: Decimal) -> Decimal:
    """The exact product of two decimals."""
    return EXACT.multiply(left, right)


def plus(left: Decimal, right: Decimal) -> Decimal:
    return EXACT.add(left, right)


def minus(left: Decimal, right: Decimal) -> Decimal:
    return EXACT.subtract(left, right)


def total_of(values: Sequence[Decimal]) -> Decimal:
    """The exact sum of decimals."""
    with localcontext(EXACT):
        return sum(values, Decimal(0))


def ratio(numerator: Decimal, denominator: Decimal) -> Fraction:
    return Fraction(numerator) / Fraction(denominator)


def in_steps(value: Decimal, step: Decimal) -> int | None:
    """How many ``step`` make ``value`` exactly, or None when ``step`` does not divide it."""
    count = ratio(value, step)
    return count.numerator if count.denominator == 1 else None


def floor_steps(value: Decimal, step: Decimal) -> int:
    count = ratio(value, step)
    return count.numerator // count.denominator


def ceil_steps(value: Decimal, step: Decimal) -> int:
    count = ratio(value, step)
    return -(-count.numerator // count.denominator)


def steps_to_decimal(count: int, step: Decimal) -> Decimal:
    """``count`` × ``step`` as an exact decimal."""
    return EXACT.multiply(Decimal(count), step)


def steps_to_decimals(counts: Sequence[int], step: Decimal) -> tuple[Decimal, ...]:
    """Many ``count`` × ``step`` at once; whole units (step 1) skip the multiplication."""
    if step.as_tuple() == _ONE:
        return tuple(map(Decimal, counts))
    return tuple(map(EXACT.multiply, map(Decimal, counts), repeat(step)))


_ONE = Decimal(1).as_tuple()


def round_fraction(value: Fraction, places: int, rounding: str) -> Decimal:
    """``value`` rounded to ``places`` decimal places with the named rounding mode, exactly.

    The digits up to ``places`` come from integer division; one more digit stands for the
    rest (0: nothing, 1: below half, 5: exactly half, 9: above half), which is all any
    rounding mode needs to know, so Decimal's own rounding then gives the exact answer.
    """
    magnitude = abs(value)
    whole, rest = divmod(magnitude.numerator * 10**places, magnitude.denominator)
    tail = _tail_digit(rest, magnitude.denominator)
    digits = Decimal(whole * 10 + tail).scaleb(-(places + 1), context=EXACT)
    signed = digits.copy_negate() if value < 0 else digits
    return signed.quantize(Decimal(1).scaleb(-places), rounding=rounding, context=ROUNDING)


def _tail_digit(rest: int, denominator: int) -> int:
    if rest == 0:
        return 0
    if 2 * rest < denominator:
        return 1
    return 5 if 2 * rest == denominator else 9


def fraction_text(value: Fraction) -> str:
    """An exact rendering: ``"100"`` or ``"301/3"``."""
    if value.denominator == 1:
        return str(value.numerator)
    return f"{value.numerator}/{value.denominator}"
