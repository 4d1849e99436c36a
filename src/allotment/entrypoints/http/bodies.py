"""Reading request bodies exactly: JSON numbers become Decimals from their text, never floats,
and a number no field accepts is refused here, for every dialect at once (decision 0023)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from fastapi import Request

from allotment.domain.errors import InvalidInstruction
from allotment.domain.numbers import MAX_ID, MAX_SCALE, MAX_WHOLE_DIGITS, fits_wire


class NumberRefused(ValueError):
    """A JSON number outside every bound of `domain.numbers`."""


def parse_json(raw: bytes, *, bounded: bool = True) -> Any:
    """JSON with floats read as Decimal (the decimal text the client sent, not a double); a
    number no field accepts (`numbers.fits_wire`: 1e30, 1e-400; or an integer beyond the
    largest id) is refused here, for every dialect at once. A dialect that reports each
    number's range in its own answer (block-trade's error result per line) reads unbounded."""
    try:
        if not bounded:
            return json.loads(raw, parse_float=Decimal, parse_constant=_refuse_constant)
        return json.loads(
            raw, parse_float=_decimal, parse_int=_integer, parse_constant=_refuse_constant
        )
    except NumberRefused as error:
        raise InvalidInstruction(f"a number in the body is out of range: {error}") from error
    except (ValueError, RecursionError) as error:
        raise InvalidInstruction(f"the body is not valid JSON: {error}") from error


def _decimal(text: str) -> Decimal:
    number = Decimal(text)
    exponent = number.as_tuple().exponent
    fast = (
        isinstance(exponent, int)
        and exponent >= -MAX_SCALE
        and number.adjusted() < MAX_WHOLE_DIGITS
    )
    if not (fast or fits_wire(number)):
        raise NumberRefused(
            f"{text[:40]} has more than {MAX_WHOLE_DIGITS} digits before the decimal point, is "
            f"smaller than 1e-{MAX_SCALE} or has too many digits"
        )
    return number


def _integer(text: str) -> int:
    if len(text) > 20 or abs(number := int(text)) > MAX_ID:
        raise NumberRefused(f"{text[:24]} is larger than any quantity, amount or id")
    return number


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


async def json_body(request: Request) -> Any:
    return parse_json(await request.body())
