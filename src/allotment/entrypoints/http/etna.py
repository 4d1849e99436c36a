"""The ETNA dialect: ETNA Trader's allocation API (`/v{version}/allocations/...`).

Headers `Et-App-Key` (403 when missing, unknown or another company's) and `Authorization:
Bearer` (401 when missing, invalid, expired or without allocations-write). The body is parsed
with JSON numbers as Decimals and validated here (422 in ETNA's `{"error": ...}` shape); the
requests are booked by `services.etna.allocate`; each answer echoes its request exactly as sent.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse, Response

from allotment.domain.accounts import AccountType
from allotment.domain.errors import (
    Forbidden,
    InvalidInstruction,
    LimitExceeded,
    Unauthorized,
)
from allotment.domain.identity import Scope
from allotment.domain.ledger import BookingCode
from allotment.domain.numbers import MAX_SCALE, fits_storage
from allotment.entrypoints.http import errors
from allotment.entrypoints.http.bodies import parse_json
from allotment.entrypoints.http.deps import ContainerDep, resolve_principal
from allotment.services import auth, etna
from allotment.services.context import Context

DIALECT = "etna"
VERSIONS = ("1.0", "1")
"""`version` accepts 1 and 1.0 (SPEC §4.1); the seed's default is 1.0."""

router = APIRouter(tags=["ETNA dialect"])


# The wire format -------------------------------------------------------------------------------
AccountKind = AccountType
EtnaAction = etna.Action
ACTIONS = {action.value.lower(): action for action in etna.Action}
ACCOUNT_TYPES = {kind.value.lower(): kind for kind in AccountType}
MAX_TEXT = 1000


def _fields(item: Any, where: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise InvalidInstruction(f"{where or 'the body'} must be a JSON object")
    return item


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


def _choice(item: dict[str, Any], field: str, where: str, choices: dict[str, Any]) -> Any:
    value = item.get(field)
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
        "account_type": _choice(item, "AccountType", where, ACCOUNT_TYPES),
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
LARGEST = 10**MAX_WHOLE_DIGITS


def _simple_fast(item: Any) -> etna.AllocationRequest | None:
    """The common case in one pass: every field with its exact type and spelling and in range.
    None sends the item through the full validation, which names what is wrong."""
    if item.__class__ is not dict:
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
    ):
        return None
    leg = etna.Leg(symbol, Decimal(quantity), Decimal(price), EXACT_ACTIONS[action])
    return etna.AllocationRequest(
        source, target, EXACT_ACCOUNT_TYPES[kind], (leg,), Decimal(commission), comment
    )


def _storable(number: int | Decimal) -> bool:
    if not -LARGEST < number < LARGEST:
        return False
    return number.__class__ is int or fits_storage(Decimal(number))


def parse_simple(item: Any, where: str) -> etna.AllocationRequest:
    """A SimpleAllocationRequest: one leg; Commission, Comment and Instructions optional."""
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
    fields = _fields(item, where)
    legs = fields.get("Legs")
    if not isinstance(legs, list) or not legs:
        raise InvalidInstruction(f"{_name(where, 'Legs')} must be a non-empty array of legs")
    parsed = tuple(
        _leg(_fields(leg, f"{_name(where, 'Legs')}[{i}]"), f"{_name(where, 'Legs')}[{i}]", True)
        for i, leg in enumerate(legs)
    )
    return etna.AllocationRequest(legs=parsed, **_common(fields, where))


class SimpleAllocationRequest(BaseModel):
    """ETNA's SimpleAllocationRequest (documentation of the wire format)."""

    FromAccount: str = Field(examples=["6687"], description="Source trading account")
    ToAccount: str = Field(examples=["6688"], description="Target trading account (the user's)")
    Symbol: str = Field(examples=["AAPL"])
    Quantity: Decimal = Field(gt=0, examples=[100])
    Price: Decimal = Field(ge=0, examples=[135.89])
    Commission: Decimal | None = Field(default=None, ge=0, examples=[1.36])
    Action: EtnaAction
    AccountType: AccountKind = Field(description="Must be ToAccount's type")
    Comment: str | None = None
    Instructions: dict[str, str] | None = None


class AllocationLegInfo(BaseModel):
    Symbol: str
    Price: Decimal = Field(ge=0)
    Quantity: Decimal = Field(description="Non-zero; negative reverses the leg's side")
    Action: EtnaAction


class MultilegAllocationRequest(BaseModel):
    """ETNA's MultilegAllocationRequest (documentation of the wire format)."""

    FromAccount: str
    ToAccount: str
    AccountType: AccountKind
    Comment: str | None = None
    Commission: Decimal | None = Field(default=None, ge=0)
    Legs: list[AllocationLegInfo] = Field(min_length=1)
    Instructions: dict[str, str] | None = None


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
                "enum": [c.value for c in BookingCode if c.value != "Ok"],
            },
        },
    }
    schema = {"type": "array", "items": result} if array else result
    return {"application/json": {"schema": schema}}


def etna_error(
    request: Request,
    status: int,
    error: BaseException | None,
    detail: str,
    fields: list[dict[str, Any]],
) -> Response:
    """Every error under the ETNA paths has ETNA's shape: `{"error": "..."}`."""
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"error": detail}, status_code=status, headers=headers)


for _version in VERSIONS:
    errors.register_renderer(f"/v{_version}/", etna_error)


async def raw_body(request: Request) -> bytes:
    return await request.body()


RawBody = Annotated[bytes, Depends(raw_body)]


def _caller(scope: Scope) -> Callable[..., Context]:
    """Authenticate as ETNA does: the application key first (403), then the token (401)."""

    def dependency(
        request: Request,
        box: ContainerDep,
        app_key: Annotated[
            str | None, Header(alias="Et-App-Key", description="The application's key")
        ] = None,
        authorization: Annotated[
            str | None, Header(description="Bearer token from POST /token")
        ] = None,
    ) -> Context:
        with box.uow(write=False) as uow:
            app_company_id = auth.check_app_key(uow, app_key)
        if authorization is None:
            raise Unauthorized("Authorization has been denied for this request")
        principal = resolve_principal(request, box)
        if principal.company_id != app_company_id:
            raise Forbidden("Application key is not defined or does not exist")
        if not principal.has(scope):
            raise Unauthorized(
                f"the access level of the token is not sufficient: it needs {scope.value}"
            )
        return Context(principal=principal, dialect=DIALECT, now=box.clock.now())

    return dependency


Writer = Annotated[Context, Depends(_caller(Scope.WRITE))]
Admin = Annotated[Context, Depends(_caller(Scope.ADMIN))]
Atomic = Annotated[
    str | None,
    Query(description="true: book all requests or none (default: each on its own)"),
]


def _atomic(value: str | None) -> bool:
    if value is None or value.lower() in ("false", "0", ""):
        return False
    if value.lower() in ("true", "1"):
        return True
    raise InvalidInstruction(f"atomic must be true or false, not {value!r}")


def _batch(raw: bytes, limit: int) -> list[Any]:
    body = parse_json(raw)
    if not isinstance(body, list):
        raise InvalidInstruction("the body must be a JSON array of allocation requests")
    if len(body) > limit:
        raise LimitExceeded(
            f"the batch has {len(body)} requests; at most {limit} are accepted",
            items=len(body),
            limit=limit,
        )
    return body


def _book(
    box: ContainerDep,
    ctx: Context,
    items: Sequence[Any],
    requests: Sequence[etna.AllocationRequest],
    atomic: bool,
) -> tuple[int, list[dict[str, Any]]]:
    with box.uow() as uow:
        results = etna.allocate(uow, ctx, requests, atomic=atomic)
        uow.commit()
    answers = [_answer(item, result) for item, result in zip(items, results, strict=True)]
    status = 200 if all(result.booked for result in results) else 409
    return status, answers


def _answer(item: Any, result: etna.AllocationResult) -> dict[str, Any]:
    """AllocationResultInfo: the request as sent, IsSucceed and, on failure, a Description.

    In a refused atomic batch, requests that passed every check carry no Description.
    """
    answer: dict[str, Any] = {"Request": item, "IsSucceed": result.booked}
    if result.code is not BookingCode.OK:
        answer["Description"] = result.code.value
    return answer


def render(content: Any, status: int, request: Request) -> Response:
    """JSON with every Decimal written back as the number the client sent (135.89, not
    "135.89"): Decimals are encoded as marked strings, then unquoted."""
    marker = f"@{secrets.token_hex(8)}@"

    def number(value: object) -> str:
        if isinstance(value, Decimal):
            return marker + str(value)
        raise TypeError(f"{type(value).__name__} is not JSON serializable")

    text = json.dumps(content, default=number, separators=(",", ":"))
    text = re.sub(f'"{re.escape(marker)}([^"]*)"', r"\1", text)
    return Response(text.encode(), status_code=status, media_type=_media_type(request))


def _media_type(request: Request) -> str:
    accept = request.headers.get("accept", "")
    if "text/json" in accept and "application/json" not in accept:
        return "text/json"
    return "application/json"


def _responses(model: type[BaseModel], array: bool) -> dict[int | str, dict[str, Any]]:
    return {
        200: {"description": "Booked", "content": _result_content(model, array)},
        401: {"description": "Token missing, invalid, expired or without the needed scope"},
        403: {"description": "Application key is not defined or does not exist"},
        409: {
            "description": "Failed (with every result)",
            "content": _result_content(model, array),
        },
        413: {"description": "More requests than the batch limit"},
        422: {"description": "The body is not a valid request (or array of requests)"},
    }


def _body_doc(model: type[BaseModel], array: bool) -> dict[str, Any]:
    schema = _schema(model)
    if array:
        schema = {"type": "array", "items": schema}
    content = {"application/json": {"schema": schema}, "text/json": {"schema": schema}}
    return {"requestBody": {"required": True, "content": content}}


def simple_batch(
    ctx: Writer, box: ContainerDep, body: RawBody, request: Request, atomic: Atomic = None
) -> Response:
    """Create batch allocation requests: each transfers securities between two trading
    accounts at the given price, the commission charged to ToAccount."""
    items = _batch(body, box.settings.max_batch_items)
    requests = [parse_simple(item, f"[{index}]") for index, item in enumerate(items)]
    status, answers = _book(box, ctx, items, requests, _atomic(atomic))
    return render(answers, status, request)


def simple_single(ctx: Writer, box: ContainerDep, body: RawBody, request: Request) -> Response:
    """Create one allocation request."""
    item = parse_json(body)
    status, answers = _book(box, ctx, [item], [parse_simple(item, "")], False)
    return render(answers[0], status, request)


def multileg_batch(
    ctx: Admin, box: ContainerDep, body: RawBody, request: Request, atomic: Atomic = None
) -> Response:
    """Create batch multi-leg allocation requests (needs an admin token): the legs of one
    request are booked all or none, its commission charged once."""
    items = _batch(body, box.settings.max_batch_items)
    requests = [parse_multileg(item, f"[{index}]") for index, item in enumerate(items)]
    status, answers = _book(box, ctx, items, requests, _atomic(atomic))
    return render(answers, status, request)


def multileg_single(ctx: Writer, box: ContainerDep, body: RawBody, request: Request) -> Response:
    """Create one multi-leg allocation request."""
    item = parse_json(body)
    status, answers = _book(box, ctx, [item], [parse_multileg(item, "")], False)
    return render(answers[0], status, request)


ROUTES: list[tuple[str, str, Callable[..., Response], type[BaseModel], bool]] = [
    ("simple", "POST", simple_batch, SimpleAllocationRequest, True),
    ("simple", "PUT", simple_single, SimpleAllocationRequest, False),
    ("multileg", "POST", multileg_batch, MultilegAllocationRequest, True),
    ("multileg", "PUT", multileg_single, MultilegAllocationRequest, False),
]

for _version in VERSIONS:
    for _kind, _method, _endpoint, _model, _array in ROUTES:
        router.add_api_route(
            f"/v{_version}/allocations/{_kind}",
            _endpoint,
            methods=[_method],
            include_in_schema=_version == "1.0",
            operation_id=f"etna_{_kind}_{'batch' if _array else 'single'}_v{_version}",
            responses=_responses(_model, _array),
            openapi_extra=_body_doc(_model, _array),
            response_class=Response,
        )
