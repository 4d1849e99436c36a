"""The ETNA dialect's wire format: SimpleAllocationRequest and MultilegAllocationRequest read
from JSON (numbers as exact decimals) into `services.etna` requests, with a message naming the
item and the field for anything that is not a valid request (422), and the models that document
the format in the OpenAPI document.

ETNA runs on ASP.NET Web API, whose Json.NET binds property names and enum names without regard
to case: `fromaccount`, `FROMACCOUNT` and `FromAccount` are one property, `buy` is `Buy`. A
property sent twice in different cases keeps the last value, as Json.NET sets it each time.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, Field, WithJsonSchema

from allotment.domain.accounts import AccountType
from allotment.domain.errors import Conflict, InvalidInstruction, RuleViolation
from allotment.domain.ledger import BookingCode
from allotment.domain.numbers import MAX_SCALE, exact_product, fits_storage
from allotment.services.etna import batches as etna

AccountKind = AccountType
EtnaAction = etna.Action
ACTIONS = {action.value.lower(): action for action in etna.Action}
ACCOUNT_TYPES = {kind.value.lower(): kind for kind in AccountType}
MAX_TEXT = 1000

COMMON_NAMES = ("FromAccount", "ToAccount", "AccountType", "Commission", "Comment", "Instructions")
LEG_NAMES = ("Symbol", "Quantity", "Price", "Action")
SIMPLE_NAMES = frozenset((*COMMON_NAMES, *LEG_NAMES))
MULTILEG_NAMES = frozenset((*COMMON_NAMES, "Legs"))
LEG_KEYS = frozenset(LEG_NAMES)
CANONICAL = {name.lower(): name for name in SIMPLE_NAMES | MULTILEG_NAMES}


def canonical(item: dict[str, Any], names: frozenset[str]) -> dict[str, Any]:
    """The object with its property names spelled as ETNA documents them, whatever their case
    (the last of two spellings wins); names ETNA does not know are kept as sent."""
    if item.keys() <= names:
        return item
    spelled: dict[str, Any] = {}
    for key, value in item.items():
        name = CANONICAL.get(key.lower(), key)
        spelled.pop(name, None)
        spelled[name] = value
    return spelled


def echo(item: Any, multileg: bool) -> Any:
    """The request as the answer's `Request` echoes it: its values as sent, under ETNA's
    property names (as Json.NET writes them back), so that a client reads `FromAccount` from
    the answer whatever case it sent."""
    if not isinstance(item, dict):
        return item
    spelled = canonical(item, MULTILEG_NAMES if multileg else SIMPLE_NAMES)
    legs = spelled.get("Legs")
    if multileg and isinstance(legs, list):
        spelled = {**spelled, "Legs": [echo_leg(leg) for leg in legs]}
    return spelled


def echo_leg(leg: Any) -> Any:
    return canonical(leg, LEG_KEYS) if isinstance(leg, dict) else leg


def _fields(item: Any, where: str, names: frozenset[str] = SIMPLE_NAMES) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise InvalidInstruction(f"{where or 'the body'} must be a JSON object")
    return canonical(item, names)


def _name(where: str, field: str) -> str:
    return f"{where}.{field}" if where else field


def _text(item: dict[str, Any], field: str, where: str, required: bool = True) -> str:
    value = item.get(field)
    if value is None:
        if required:
            raise InvalidInstruction(f"{_name(where, field)} is required")
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # numeric account ids are read as their text, as ETNA does
    if not isinstance(value, str):
        raise InvalidInstruction(f"{_name(where, field)} must be a string")
    if len(value) > MAX_TEXT:
        raise InvalidInstruction(f"{_name(where, field)} is longer than {MAX_TEXT} characters")
    return value


def _number(item: dict[str, Any], field: str, where: str, required: bool = True) -> Decimal:
    value = item.get(field)
    if value is None and not required:
        return Decimal(0)
    if value is None:
        raise InvalidInstruction(f"{_name(where, field)} is required")
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise InvalidInstruction(f"{_name(where, field)} must be a number")
    number = Decimal(value)
    if not _storable(number):
        raise InvalidInstruction(
            f"{_name(where, field)} has more than {MAX_WHOLE_DIGITS} digits before the decimal "
            f"point or more than {MAX_SCALE} after it"
        )
    return number


def _choice(
    item: dict[str, Any], field: str, where: str, choices: dict[str, Any], required: bool = True
) -> Any:
    """An enum name, in any case (Json.NET's StringEnumConverter reads `buy` as `Buy`)."""
    value = item.get(field)
    if value is None and not required:
        return None
    if value is None:
        raise InvalidInstruction(f"{_name(where, field)} is required")
    if not isinstance(value, str) or value.lower() not in choices:
        allowed = ", ".join(choice.value for choice in choices.values())
        raise InvalidInstruction(f"{_name(where, field)} must be one of {allowed}")
    return choices[value.lower()]


def _common(item: dict[str, Any], where: str) -> dict[str, Any]:
    instructions = item.get("Instructions")
    if instructions is not None and not (
        isinstance(instructions, dict)
        and all(not isinstance(v, dict | list) for v in instructions.values())
    ):
        raise InvalidInstruction(f"{_name(where, 'Instructions')} must be an object of strings")
    commission = _number(item, "Commission", where, required=False)
    if commission < 0:
        raise InvalidInstruction(f"{_name(where, 'Commission')} must not be negative")
    return {
        "from_account": _text(item, "FromAccount", where),
        "to_account": _text(item, "ToAccount", where),
        "account_type": _choice(item, "AccountType", where, ACCOUNT_TYPES, required=False),
        "commission": commission,
        "comment": _text(item, "Comment", where, required=False),
    }


def _leg(item: dict[str, Any], where: str, signed: bool) -> etna.Leg:
    quantity = _number(item, "Quantity", where)
    if quantity == 0 or (quantity < 0 and not signed):
        raise InvalidInstruction(f"{_name(where, 'Quantity')} must be greater than 0")
    price = _number(item, "Price", where)
    if price < 0:
        raise InvalidInstruction(f"{_name(where, 'Price')} must not be negative")
    if not _value_storable(quantity, price):
        raise InvalidInstruction(
            f"{_name(where, 'Quantity')} × {_name(where, 'Price')} has more than "
            f"{MAX_WHOLE_DIGITS} digits before the decimal point"
        )
    return etna.Leg(
        symbol=_text(item, "Symbol", where),
        quantity=quantity,
        price=price,
        action=_choice(item, "Action", where, ACTIONS),
    )


EXACT_ACTIONS = {action.value: action for action in etna.Action}
EXACT_ACCOUNT_TYPES = {kind.value: kind for kind in AccountType}
NUMBERS = (int, Decimal)
MAX_WHOLE_DIGITS = 15
"""As in the native API: amounts below 10**15, so that sums of many stay exact."""
LARGEST: int = 10**MAX_WHOLE_DIGITS


def _simple_fast(item: Any) -> etna.AllocationRequest | None:
    """The common case in one pass: every field with its exact type and spelling and in range.
    None sends the item through the full validation, which names what is wrong."""
    if item.__class__ is not dict or not item.keys() <= SIMPLE_NAMES:
        return None
    get = item.get
    source, target, symbol = get("FromAccount"), get("ToAccount"), get("Symbol")
    quantity, price, commission = get("Quantity"), get("Price"), get("Commission", 0)
    action, kind = get("Action"), get("AccountType")
    comment, instructions = get("Comment", ""), get("Instructions")
    if not (
        source.__class__ is str
        and target.__class__ is str
        and symbol.__class__ is str
        and comment.__class__ is str
        and action.__class__ is str
        and kind.__class__ is str
        and quantity.__class__ in NUMBERS
        and price.__class__ in NUMBERS
        and commission.__class__ in NUMBERS
        and (instructions is None or (instructions.__class__ is dict and not instructions))
        and max(len(source), len(target), len(symbol), len(comment)) <= MAX_TEXT
        and action in EXACT_ACTIONS
        and kind in EXACT_ACCOUNT_TYPES
        and quantity > 0
        and price >= 0
        and commission >= 0
        and _storable(quantity)
        and _storable(price)
        and _storable(commission)
        and _value_storable(quantity, price)
    ):
        return None
    leg = etna.Leg(symbol, Decimal(quantity), Decimal(price), EXACT_ACTIONS[action])
    return etna.AllocationRequest(
        source, target, EXACT_ACCOUNT_TYPES[kind], (leg,), Decimal(commission), comment
    )


def _value_storable(quantity: int | Decimal, price: int | Decimal) -> bool:
    """The trade value (quantity × price) keeps the bounds of a stored amount too."""
    value: Decimal = exact_product(Decimal(quantity), Decimal(price))
    return abs(value) < LARGEST


def _storable(number: int | Decimal) -> bool:
    if not -LARGEST < number < LARGEST:
        return False
    return number.__class__ is int or fits_storage(Decimal(number))


def parse_simple(item: Any, where: str) -> etna.AllocationRequest:
    """A SimpleAllocationRequest: one leg; Commission (0), AccountType (ToAccount's type),
    Comment and Instructions optional."""
    common = _simple_fast(item)
    if common is not None:
        return common
    fields = _fields(item, where)
    return etna.AllocationRequest(
        legs=(_leg(fields, where, signed=False),), **_common(fields, where)
    )


def parse_multileg(item: Any, where: str) -> etna.AllocationRequest:
    """A MultilegAllocationRequest: Legs of Symbol, Price, Quantity (a negative quantity
    reverses the leg's side, as ETNA's sample sells an option with Quantity -1), Action."""
    fields = _fields(item, where, MULTILEG_NAMES)
    legs = fields.get("Legs")
    if not isinstance(legs, list) or not legs:
        raise InvalidInstruction(f"{_name(where, 'Legs')} must be a non-empty array of legs")
    places = [f"{_name(where, 'Legs')}[{i}]" for i in range(len(legs))]
    parsed = tuple(
        _leg(_fields(leg, place, LEG_KEYS), place, True)
        for leg, place in zip(legs, places, strict=True)
    )
    return etna.AllocationRequest(legs=parsed, **_common(fields, where))


def _json_number(**bounds: int) -> WithJsonSchema:
    """A decimal as the wire has it: a JSON number (read from its text, never through float)."""
    return WithJsonSchema({"type": "number", **bounds})


Positive = Annotated[Decimal, _json_number(exclusiveMinimum=0)]
NonNegative = Annotated[Decimal, _json_number(minimum=0)]
NonZero = Annotated[Decimal, _json_number()]
OptionalNonNegative = Annotated[
    Decimal | None,
    WithJsonSchema({"anyOf": [{"type": "number", "minimum": 0}, {"type": "null"}]}),
]


class SimpleAllocationRequest(BaseModel):
    """ETNA's SimpleAllocationRequest (documentation of the wire format)."""

    FromAccount: str = Field(examples=["6687"], description="Source trading account")
    ToAccount: str = Field(examples=["6688"], description="Target trading account (the user's)")
    Symbol: str = Field(examples=["AAPL"])
    Quantity: Positive = Field(examples=[100])
    Price: NonNegative = Field(examples=[135.89])
    Commission: OptionalNonNegative = Field(default=None, examples=[1.36])
    Action: EtnaAction
    AccountType: AccountKind | None = Field(
        default=None, description="ToAccount's type (the default); another type is refused"
    )
    Comment: str | None = None
    Instructions: dict[str, str] | None = None


class AllocationLegInfo(BaseModel):
    Symbol: str
    Price: NonNegative
    Quantity: NonZero = Field(description="Non-zero; negative reverses the leg's side")
    Action: EtnaAction


class MultilegAllocationRequest(BaseModel):
    """ETNA's MultilegAllocationRequest (documentation of the wire format)."""

    FromAccount: str
    ToAccount: str
    AccountType: AccountKind | None = Field(
        default=None, description="ToAccount's type (the default); another type is refused"
    )
    Comment: str | None = None
    Commission: OptionalNonNegative = None
    Legs: list[AllocationLegInfo] = Field(min_length=1)
    Instructions: dict[str, str] | None = None


SESSION_CLOSED = "SessionClosed"
CONCURRENT_CHANGE = "ConcurrentChange"
REFUSAL_CODES = (SESSION_CLOSED, CONCURRENT_CHANGE)
"""The Descriptions of a batch refused as a whole, besides the per-request BookingCodes."""


def refusal_code(error: Conflict | RuleViolation) -> str:
    """The Description of every request of a batch refused as a whole: `SessionClosed` when the
    trade date's clearing session is closed, `ConcurrentChange` when the database refused a
    change made at the same time (nothing was booked: sending the batch again is safe)."""
    if type(error) in (Conflict, RuleViolation):
        return CONCURRENT_CHANGE
    return error.code


SEED_REQUEST: dict[str, Any] = {
    "FromAccount": "6687",
    "ToAccount": "6688",
    "Symbol": "AAPL",
    "Quantity": 100,
    "Price": 135.89,
    "Commission": 1.36,
    "Action": "Buy",
    "AccountType": "Cash",
    "Comment": "Sample transfer",
    "Instructions": {},
}
"""The seed's allocation request sample (books on the demo's accounts 6687 and 6688)."""


def _schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with its definitions inlined (for openapi_extra)."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return inline(definitions[node["$ref"].rsplit("/", 1)[-1]])
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(value) for value in node]
        return node

    inlined: dict[str, Any] = inline(schema)
    return inlined


def _result_content(model: type[BaseModel], array: bool) -> dict[str, Any]:
    result = {
        "type": "object",
        "properties": {
            "Request": _schema(model),
            "IsSucceed": {"type": "boolean"},
            "Description": {
                "type": "string",
                "enum": [c.value for c in BookingCode if c.value != "Ok"] + list(REFUSAL_CODES),
            },
        },
    }
    schema = {"type": "array", "items": result} if array else result
    return {"application/json": {"schema": schema}}


def responses(model: type[BaseModel], array: bool) -> dict[int | str, dict[str, Any]]:
    return {
        200: {"description": "Booked", "content": _result_content(model, array)},
        401: {
            "description": "Token missing, invalid, expired or without the needed scope: "
            '`{"Message": "Authorization has been denied for this request."}`'
        },
        403: {"description": "Application key is not defined or does not exist"},
        409: {
            "description": "Failed (with every result; a batch refused as a whole gives each "
            "request the refusal's code: SessionClosed, ConcurrentChange)",
            "content": _result_content(model, array),
        },
        413: {"description": "More requests than the batch limit"},
        422: {"description": "The body is not a valid request (or array of requests)"},
    }


def body_doc(model: type[BaseModel], array: bool) -> dict[str, Any]:
    """The request body; a simple request carries the seed's sample as its example."""
    schema = _schema(model)
    example: Any = SEED_REQUEST if model is SimpleAllocationRequest else None
    if array:
        schema = {"type": "array", "items": schema}
        example = None if example is None else [example]
    media: dict[str, Any] = {"schema": schema}
    if example is not None:
        media["example"] = example
    content = {"application/json": media, "text/json": media}
    return {"requestBody": {"required": True, "content": content}}
