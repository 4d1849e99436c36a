"""Exact numbers: quantities, prices and money are Decimal, never float.

Values arrive as strings, ints or Decimals (JSON floats are parsed as their decimal text at the
edge). Rounding happens only at named points, with the rounding mode written at the call.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation

CENT = Decimal("0.01")
ZERO = Decimal(0)
MAX_SCALE = 9
"""Digits after the point any stored amount may carry (1e-9 is the finest increment)."""
MAX_DIGITS = 24
"""Significant digits any stored amount may carry (15 whole digits and 9 decimals); sums of
such amounts stay exact in Decimal's default 28-digit context."""
EXACT = Context(prec=80)
"""A context wide enough that the product of two stored amounts is exact."""


class NotANumber(ValueError):
    """The text is not a finite decimal number."""


def to_decimal(value: object) -> Decimal:
    """Read a Decimal from a str, int or Decimal; refuse floats, bools, NaN and infinities."""
    if isinstance(value, bool | float):
        raise NotANumber(f"{value!r} is not an exact decimal")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation as error:
            raise NotANumber(f"{value!r} is not a decimal number") from error
    else:
        raise NotANumber(f"{value!r} is not a decimal number")
    if not number.is_finite():
        raise NotANumber(f"{value!r} is not a finite number")
    return number


def scale_of(value: Decimal) -> int:
    """Digits after the decimal point, ignoring trailing zeros."""
    exponent = value.normalize(EXACT).as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


def fits_storage(value: Decimal) -> bool:
    """True when the value keeps at most MAX_SCALE decimals and MAX_DIGITS digits."""
    if scale_of(value) > MAX_SCALE:
        return False
    return len(value.normalize(EXACT).as_tuple().digits) <= MAX_DIGITS


def is_multiple_of(value: Decimal, increment: Decimal) -> bool:
    """True when value is a whole number of increments (exact, no rounding)."""
    if increment <= 0:
        return False
    return EXACT.remainder(value, increment) == 0


def exact_product(left: Decimal, right: Decimal) -> Decimal:
    """left × right without the default context's 28-digit rounding."""
    return EXACT.multiply(left, right)


def round_money(amount: Decimal, unit: Decimal = CENT) -> Decimal:
    """Round a cash amount to the currency unit, half to even (the ledger's rounding point)."""
    return amount.quantize(unit, rounding=ROUND_HALF_EVEN, context=EXACT)


def plain(value: Decimal) -> str:
    """The decimal as plain text, never in exponent form (for JSON and CSV)."""
    text = format(value, "f")
    return text
