"""The exact numbers and strict models that the HTTP API and the command line both read and
print (the native API's decimals as strings, a preview's request and answer)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    WithJsonSchema,
    model_validator,
)

from allotment.domain.numbers import (
    AMOUNT_LIMIT,
    MAX_SCALE,
    MAX_WHOLE_DIGITS,
    NotANumber,
    scale_of,
    to_decimal,
)

LARGEST = AMOUNT_LIMIT
"""The bound of every amount a client sends (`domain.numbers`, decision 0023)."""


def _exact(value: Any) -> Decimal:
    try:
        number = to_decimal(value)
    except NotANumber as error:
        raise ValueError(f'{error}; send decimals as strings, e.g. "12.50"') from error
    if scale_of(number) > MAX_SCALE:
        raise ValueError(f"{format(number, 'f')} has more than {MAX_SCALE} decimals")
    if abs(number) >= LARGEST:
        raise ValueError(f"at most {MAX_WHOLE_DIGITS} digits before the decimal point")
    return number


DecimalStr = Annotated[
    Decimal,
    BeforeValidator(_exact),
    PlainSerializer(lambda value: format(value, "f"), return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": rf"^-?\d{{1,{MAX_WHOLE_DIGITS}}}(\.\d{{1,{MAX_SCALE}}})?$",
            "examples": ["12.50"],
        },
        mode="validation",
    ),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+(\.\d+)?$"}, mode="serialization"),
]
"""An exact decimal sent as a JSON string (a JSON float is refused: its binary value is not the
number the client meant), within the bounds of `domain.numbers`."""

DecimalOut = Annotated[
    Decimal,
    PlainSerializer(lambda value: format(value, "f"), return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+(\.\d+)?$"}),
]
"""An exact decimal answered as a JSON string. Answers hold what the ledger stores and computes
(sums of many amounts, trade values), which the bounds of an input need not hold: an answer is
never refused by its own model (decision 0023)."""


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _whole_numbers_are_integers(cls, data: Any) -> Any:
        """A whole-number field takes a JSON integer, never a JSON float: the float has already
        lost digits (1e-400 arrives as 0.0, 1e30 as the double next to it; decision 0023)."""
        if isinstance(data, dict):
            for name, value in data.items():
                field = cls.model_fields.get(name)
                if isinstance(value, float) and field is not None and _is_int(field.annotation):
                    raise ValueError(f"{name} must be a JSON integer, not {value!r}")
        return data


def _is_int(annotation: Any) -> bool:
    return annotation is int or (int in get_args(annotation) and float not in get_args(annotation))
