"""Reading request bodies exactly: JSON numbers become Decimals from their text, never floats."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from fastapi import Request

from allotment.domain.errors import InvalidInstruction


def parse_json(raw: bytes) -> Any:
    """JSON with floats read as Decimal (the decimal text the client sent, not a double)."""
    try:
        return json.loads(raw, parse_float=Decimal, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as error:
        raise InvalidInstruction(f"the body is not valid JSON: {error}") from error


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


async def json_body(request: Request) -> Any:
    return parse_json(await request.body())
