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
        where = _refused_at(raw)
        if where:
            raise InvalidInstruction(f"{where}: {error}", field=where) from error
        raise InvalidInstruction(str(error)) from error
    except (ValueError, RecursionError) as error:
        raise InvalidInstruction(f"the body is not valid JSON: {error}") from error


def _refused_at(raw: bytes) -> str | None:
    """Where the first refused number of a body stands (`page`, `[0].Quantity`), read again
    only once a number has been refused, so a refusal names its field as every other does."""
    try:
        document = json.loads(raw, parse_float=Decimal, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        return None
    return _first_refused(document, "")


def _first_refused(node: Any, where: str) -> str | None:
    if isinstance(node, dict):
        inside = (
            (f"{where}.{name}" if where else str(name), value) for name, value in node.items()
        )
    elif isinstance(node, list):
        inside = ((f"{where}[{index}]", value) for index, value in enumerate(node))
    elif isinstance(node, Decimal | int) and not isinstance(node, bool):
        try:
            (_integer if isinstance(node, int) else _decimal)(str(node))
        except NumberRefused:
            return where or None
        return None
    else:
        return None
    for path, value in inside:
        found = _first_refused(value, path)
        if found:
            return found
    return None


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
            f"{text[:40]} is out of range: more than {MAX_WHOLE_DIGITS} digits before the "
            f"decimal point, smaller than 1e-{MAX_SCALE} or too many digits"
        )
    return number


def _integer(text: str) -> int:
    if len(text) > 20 or abs(number := int(text)) > MAX_ID:
        raise NumberRefused(f"{text[:24]} is out of range: larger than any quantity, amount or id")
    return number


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


async def json_body(request: Request) -> Any:
    return parse_json(await request.body())
