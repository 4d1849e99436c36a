"""Exact numbers: quantities, prices and money are Decimal, never float.

Values arrive as strings, ints or Decimals (JSON floats are parsed as their decimal text at the
edge). Rounding happens only at named points, with the rounding mode written at the call.

The one definition of how large and how fine a number may be (decision 0023): every quantity,
price and amount a client sends has at most MAX_WHOLE_DIGITS digits before the point and
MAX_SCALE after it; every id is a positive signed 64-bit integer (MAX_ID); numbers and ids are
read from ASCII digits only. Each dialect's edge enforces these with `fits_storage`,
`to_decimal` and `to_id`; figures derived from stored amounts (average costs and prices) are
rounded with `round_cost`, so none carries more digits than its answer may.
"""

from __future__ import annotations

import uuid
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation

CENT = Decimal("0.01")
ZERO = Decimal(0)
MAX_SCALE = 9
"""Digits after the point any stored amount may carry (1e-9 is the finest increment)."""
MAX_WHOLE_DIGITS = 15
"""Digits before the point of any quantity, price or amount a client sends."""
MAX_DIGITS = MAX_WHOLE_DIGITS + MAX_SCALE
"""Significant digits any stored amount may carry (15 whole digits and 9 decimals); sums of
such amounts stay exact in Decimal's default 28-digit context."""
AMOUNT_LIMIT = Decimal(10) ** MAX_WHOLE_DIGITS
"""Every quantity, price and amount a client sends is strictly smaller than this in size."""
MAX_SIGNIFICANT = 28
"""Significant digits of any number a client sends (Decimal's default precision)."""
MAX_ID = 2**63 - 1
"""The largest id either database stores (a signed 64-bit integer): larger ones cannot exist."""
COST_UNIT = Decimal(1).scaleb(-MAX_SCALE)
"""The unit average costs and average prices are rounded to (the finest stored increment)."""
ROUNDING = ROUND_HALF_EVEN
"""The rounding mode of every named rounding point (banker's rounding: no drift upwards)."""
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
        if not value.isascii():
            # Decimal() reads any Unicode digit ("１２３", "١٢٣"); a client's numbers are ASCII.
            raise NotANumber(f"{value!r} is not a decimal number (ASCII digits only)")
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


def to_id(value: object) -> int | None:
    """A positive id from an int or from text of ASCII digits (int() would read "１２３" and
    "1_000" too); None when it is not one, or is larger than any stored id."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if not (text.isascii() and text.isdigit()) or len(text) > 19:
            return None
        value = int(text)
    if isinstance(value, int) and 0 < value <= MAX_ID:
        return value
    return None


def fits_wire(value: Decimal) -> bool:
    """True for a number a client may send at all, whatever the field: finite, smaller in size
    than AMOUNT_LIMIT, zero or at least the finest increment (1e-9) in size, and at most
    MAX_SIGNIFICANT digits. Fields then keep their own scale: quantities, prices and amounts
    MAX_SCALE decimals (`fits_storage`); a weight may keep a JavaScript double's digits."""
    if not value.is_finite() or not value:
        return value.is_finite()
    if not -MAX_SCALE <= value.adjusted() < MAX_WHOLE_DIGITS:
        return False  # before normalising: 1e999999999 would overflow the context
    return len(value.normalize(EXACT).as_tuple().digits) <= MAX_SIGNIFICANT


def to_uuid(text: str) -> str:
    """A UUID's canonical text from ASCII text (uuid.UUID reads full-width hex digits too, so
    "６cbb…" would name the same object as "6cbb…"); ValueError when it is not one."""
    if not text.isascii():
        raise ValueError(f"{text!r} is not a UUID (ASCII only)")
    return str(uuid.UUID(text))


def fits_storage(value: Decimal) -> bool:
    """True when the value is finite, keeps at most MAX_SCALE decimals and is smaller in size
    than AMOUNT_LIMIT (so written at MAX_SCALE decimals it has at most MAX_DIGITS digits)."""
    if not value.is_finite() or (value and value.adjusted() >= MAX_WHOLE_DIGITS):
        return False
    return scale_of(value) <= MAX_SCALE


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


def round_cost(total: Decimal, quantity: Decimal) -> Decimal:
    """An average: total / quantity computed in a wide context and rounded to COST_UNIT, half
    to even (the rounding point of average costs and average prices, decision 0023)."""
    return EXACT.divide(total, quantity).quantize(COST_UNIT, rounding=ROUNDING, context=EXACT)


def plain(value: Decimal) -> str:
    """The decimal as plain text, never in exponent form (for JSON and CSV)."""
    text = format(value, "f")
    return text
