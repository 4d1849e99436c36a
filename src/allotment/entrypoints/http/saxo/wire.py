"""The Saxo dialect's wire format: request models, JSON numbers written from exact decimals,
and Saxo's error body `{"ErrorCode", "Message", "ModelState"}`.

Saxo sends and expects numbers (UnitValue 10, Amount 13, TotalUnitValues 100): requests are
read with `parse_json` (a JSON float becomes the Decimal of its text) and answers are written
by `encode`, which prints a Decimal's own digits, never through a float.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal, TypeVar
from urllib.parse import urlencode

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.responses import JSONResponse, Response

from allotment.domain import errors as e
from allotment.domain.allocation.errors import EngineError
from allotment.entrypoints.http.bodies import parse_json
from allotment.entrypoints.http.inputs import BoundedNumber, BoundedWeight
from allotment.services.saxo.keys import AllocationKeyNotFound

GATEWAY_BASE = "/openapi"
"""Saxo's gateway serves OpenAPI under this base path (https://gateway.saxobank.com/openapi)."""
INVALID_MODEL_STATE = "One or more properties of the request are invalid!"
MAX_UIC = 2**62
"""The largest Uic an instrument may have (as in the native API)."""
Model = TypeVar("Model", bound=BaseModel)


class ParticipantIn(BaseModel):
    """Saxo's AllocationKeyAccountInfo."""

    model_config = ConfigDict(extra="forbid")
    AcceptRemainderAmount: bool
    AccountKey: str | None = Field(default=None, min_length=1, max_length=100)
    AccountId: str | None = Field(default=None, min_length=1, max_length=50)
    Priority: int = Field(ge=1, le=2**31 - 1)
    UnitValue: BoundedWeight = Field(ge=0)


class KeyIn(BaseModel):
    """Saxo's AllocationKeyCreateRequest, plus the fields the key's details show."""

    model_config = ConfigDict(extra="forbid")
    AllocationKeyName: str = Field(min_length=1, max_length=200)
    AllocationUnitType: Literal["Percentage", "Unit", "CashAmount"]
    MarginHandling: Literal["Reduce", "Reject"]
    OneTime: bool
    OwnerAccountKey: str = Field(min_length=1, max_length=100)
    ParticipatingAccountsInfo: list[ParticipantIn] = Field(min_length=1)
    Uic: int | None = Field(default=None, ge=1, le=MAX_UIC)
    AssetType: str | None = Field(default=None, min_length=1, max_length=50)
    BuySell: Literal["Buy", "Sell"] | None = None
    ExternalReference: str | None = None
    ErrorAccount: str | None = Field(default=None, min_length=1, max_length=100)
    PartialFillPolicy: Literal["ProRata", "Priority"] = "ProRata"


class DurationIn(BaseModel):
    DurationType: str = "DayOrder"


class OrderIn(BaseModel):
    """The fields of Saxo's order request that a block order uses; the many others Saxo
    defines (OrderPrice, ManualOrder, OrderDuration, ...) are accepted and not used."""

    model_config = ConfigDict(extra="ignore")
    AccountKey: str = Field(min_length=1, max_length=100)
    Uic: int = Field(ge=1, le=MAX_UIC)
    AssetType: str = Field(min_length=1, max_length=50)
    BuySell: Literal["Buy", "Sell"]
    Amount: BoundedNumber = Field(gt=0)
    OrderType: str = Field(min_length=1, max_length=30)
    AllocationKeyId: str | None = Field(default=None, min_length=1, max_length=20)
    ExternalReference: str | None = None
    ManualOrder: bool | None = None
    OrderDuration: DurationIn | None = None
    OrderPrice: Decimal | None = Field(default=None, gt=0)


async def read_model(request: Request, model: type[Model]) -> Model:
    """The body as `model`, JSON floats read as decimals; a mismatch is InvalidModelState."""
    raw = await request.body()
    try:
        data = parse_json(raw)
    except e.InvalidInstruction as error:
        raise e.InvalidInstruction(
            error.message, model_state={"request": [error.message]}
        ) from error
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise e.InvalidInstruction(INVALID_MODEL_STATE, model_state=model_state(error)) from error


def body_schema(model: type[BaseModel], example: Mapping[str, Any]) -> dict[str, Any]:
    """OpenAPI's request body for a route that reads its body itself (to keep JSON floats
    exact): the model's JSON schema with its definitions inlined, and an example."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return inline(definitions[ref.rsplit("/", 1)[1]])
            return {name: inline(value) for name, value in node.items()}
        if isinstance(node, list):
            return [inline(value) for value in node]
        return node

    content = {"application/json": {"schema": inline(schema), "example": dict(example)}}
    return {"requestBody": {"required": True, "content": content}}


def model_state(error: ValidationError) -> dict[str, list[str]]:
    state: dict[str, list[str]] = {}
    for item in error.errors():
        name = _path(item.get("loc", ()))
        state.setdefault(name or "request", []).append(_message(item, name))
    return state


def _path(location: Sequence[Any]) -> str:
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _message(item: Mapping[str, Any], name: str) -> str:
    field = name.rsplit(".", 1)[-1] or "request"
    if item.get("type") == "missing":
        return f"The {field} field is required."
    if item.get("type") == "extra_forbidden":
        return f"{field} is not a field of this request."
    return f"{field}: {item.get('msg', 'invalid value')}"


# Answers ---------------------------------------------------------------------------------------
class SaxoJSON(JSONResponse):
    """JSON written by `encode` (a JSONResponse only so that the OpenAPI document shows the
    declared answer models as they are)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return encode(content).encode("utf-8")


def encode(value: Any) -> str:
    """JSON with Decimals written as numbers from their own digits, and UTC times with Z."""
    if value is None or isinstance(value, bool | int | str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Decimal):
        return number(value)
    if isinstance(value, datetime):
        return json.dumps(utc_text(value))
    if isinstance(value, Mapping):
        items = (f"{json.dumps(str(k))}:{encode(v)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(encode(item) for item in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as Saxo JSON")


def number(value: Decimal) -> str:
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def next_link(request: Request, skip: int, top: int) -> str:
    """The feed's next page, as Saxo's gateway writes it: an absolute URL (the scheme, host and
    base path the request came in on) with the same query, `$skip` and `$top` moved on."""
    query = {**request.query_params, "$skip": str(skip), "$top": str(top)}
    return str(request.url.replace(query=urlencode(query, safe="$,")))


def utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def render_error(
    request: Request,
    status: int,
    error: BaseException | None,
    detail: str,
    fields: list[dict[str, Any]],
) -> Response:
    """Saxo's error body for everything under /trade/ and /port/."""
    status, code, message, state = _classify(status, error, detail, fields)
    body: dict[str, Any] = {"ErrorCode": code, "Message": message}
    if state:
        body["ModelState"] = state
    if _is_order_path(request.url.path) and code != "InvalidModelState":
        # Trade v2 orders answer a refused order as {"ErrorInfo": {"ErrorCode", "Message"}}
        # with Saxo's TradingErrorCode (what Saxo's samples read first).
        trading = getattr(error, "facts", {}).get("trading_error") or code
        body["ErrorInfo"] = {"ErrorCode": trading, "Message": message}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return SaxoJSON(body, status_code=status, headers=headers)


ORDER_PATHS = ("/trade/v2/orders", "/openapi/trade/v2/orders")


def _is_order_path(path: str) -> bool:
    return path.startswith(ORDER_PATHS)


def _classify(
    status: int, error: BaseException | None, detail: str, fields: list[dict[str, Any]]
) -> tuple[int, str, str, dict[str, list[str]]]:
    if fields:  # the framework's validation of query and path parameters
        state: dict[str, list[str]] = {}
        for item in fields:
            name = str(item["field"]).split(".", 1)[-1]
            state.setdefault(name, []).append(str(item["message"]))
        return 400, "InvalidModelState", INVALID_MODEL_STATE, state
    if isinstance(error, e.AllotmentError):
        return _domain(status, error)
    names = {401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed"}
    names |= {413: "RequestTooLarge", 415: "UnsupportedMediaType", 500: "InternalServerError"}
    return status, names.get(status, "InvalidRequest"), detail, {}


def _domain(status: int, error: e.AllotmentError) -> tuple[int, str, str, dict[str, list[str]]]:
    facts = error.facts
    state: dict[str, list[str]] = dict(facts.get("model_state") or {})
    if "field" in facts and not state:
        state = {str(facts["field"]): [error.message]}
    if isinstance(error, AllocationKeyNotFound):
        return 404, "AllocationKeyNotFound", error.message, {}
    if isinstance(error, EngineError):  # the engine refused a split no service turned into words
        return 400, "DomainValidationError", error.message, {}
    if isinstance(error, e.IdempotencyKeyReused | e.LimitExceeded):
        return status, error.code, error.message, {}
    if isinstance(error, e.InvalidInstruction):
        if facts.get("model_state") is not None or "field" in facts:
            return 400, "InvalidModelState", INVALID_MODEL_STATE, state
        return 400, "InvalidRequest", error.message, {}
    if isinstance(error, e.RuleViolation):
        return 400, str(facts.get("error_code", "DomainValidationError")), error.message, state
    return status, error.code, error.message, {}
