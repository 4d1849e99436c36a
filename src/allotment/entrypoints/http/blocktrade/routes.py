"""The block-trade dialect (Third Party Platform): `POST api/orders/blockTrade/block-allocations`.

JSON (`application/json`, `text/json`) and XML (`application/xml`, `text/xml`) in and out: the
request's `Content-Type` picks the parser, `Accept` picks the answer's format (falling back to
the request's format, as ASP.NET Web API's content negotiation does). Errors under
`/api/orders/` answer the vendor's Error Response: one JSON string, or a serialised XML string.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from allotment.domain.errors import IdempotencyKeyReused
from allotment.domain.numbers import plain
from allotment.entrypoints.http import errors
from allotment.entrypoints.http.blocktrade import codec as blocktrade_xml
from allotment.entrypoints.http.blocktrade import docs
from allotment.entrypoints.http.blocktrade.docs import JSON_TYPES, SUPPORTED, XML_TYPES
from allotment.entrypoints.http.bodies import parse_json
from allotment.entrypoints.http.deps import ContainerDep, context_for
from allotment.services.blocktrade import children as blocktrade
from allotment.services.blocktrade.children import LineError, Outcome
from allotment.services.blocktrade.reading import (
    REQUIRED_NUMBERS,
    BlockAllocation,
    BlockTradeBlockAllocation,
    RequestInvalid,
    read_request,
)
from allotment.services.context import Context
from allotment.services.desk.records import block_trade_items, record_apart

PREFIX = "/api/orders/"
PATH = "/api/orders/blockTrade/block-allocations"

router = APIRouter(tags=["Block trade"])
BlockTradeContext = Annotated[Context, Depends(context_for("blocktrade", allow_basic=True))]


# --- content negotiation --------------------------------------------------------------------


def _media_type(header: str | None) -> str:
    return (header or "").split(";", 1)[0].strip().lower()


def answer_type(request: Request) -> str:
    """The best supported type in Accept (by q), else the request's own type, else JSON."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((request.headers.get("accept") or "").split(",")):
        media, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media.lower() in SUPPORTED and quality > 0:
            ranked.append((-quality, position, media.lower()))
    if ranked:
        return min(ranked)[2]
    own = _media_type(request.headers.get("content-type"))
    return own if own in SUPPORTED else JSON_TYPES[0]


def _respond(
    kind: str, status: int, body: bytes, headers: dict[str, str] | None = None
) -> Response:
    return Response(body, status, headers=headers, media_type=f"{kind}; charset=utf-8")


# --- JSON -----------------------------------------------------------------------------------


def _json_text(value: Any) -> str:
    """JSON with Decimals written as numbers, exactly as held (6.75, 0.0), never via float."""
    if isinstance(value, Decimal):
        return plain(value)
    if isinstance(value, dict):
        members = (f"{json.dumps(k)}:{_json_text(v)}" for k, v in value.items())
        return "{" + ",".join(members) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_json_text(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def _json_request(raw: bytes, max_lines: int) -> BlockTradeBlockAllocation:
    document = parse_json(raw, bounded=False)  # each line's numbers are checked in its answer
    if not isinstance(document, dict):
        raise RequestInvalid("the body must be a BlockTradeBlockAllocation object")
    document = _members(document, _REQUEST_MEMBERS)
    lines = document.get("AllocationDetails")
    if lines is not None and not isinstance(lines, list):
        raise RequestInvalid("AllocationDetails must be a list of BlockAllocation")
    for index, line in enumerate(lines or []):
        if not isinstance(line, dict):
            raise RequestInvalid(f"AllocationDetails[{index}] must be a BlockAllocation object")
    lines = [_members(line, _LINE_MEMBERS) for line in lines or []] if lines else lines
    return read_request(document, lines, max_lines)


_REQUEST_MEMBERS = ("BlockTradeAllocationID", "MasterReference", "AllocationDetails")
_LINE_MEMBERS = (*REQUIRED_NUMBERS, "AllocationReference", "NotesForClient")


def _members(document: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """JSON members under their documented names whatever their letter case, as Json.NET
    binds them (an exact match first, then one that differs only in case: `clientId`)."""
    spelled = {name.lower(): name for name in names}
    bound = {name: document[name] for name in names if name in document}
    for key, value in document.items():
        name = spelled.get(key.lower())
        if name is not None and name not in bound:
            bound[name] = value
    return bound


def _json_allocation(line: BlockAllocation) -> dict[str, Any]:
    return {
        "ClientID": line.client_id,
        "Quantity": line.quantity,
        "Price": line.price,
        "TradeValue": line.trade_value,
        "NetAmount": line.net_amount,
        "CustomBrokerageFee": line.custom_brokerage_fee,
        "GSTValue": line.gst_value,
        "AllocationReference": line.allocation_reference,
        "NotesForClient": line.notes_for_client,
        "OtherFees": line.other_fees,
    }


def json_document(outcome: Outcome) -> bytes:
    """The answer in JSON: the result list, or the error result list."""
    if not outcome.accepted:
        return _json_errors(outcome.errors)
    return _json_text(
        [
            {
                "MasterReference": r.master_reference,
                "AllocationReference": r.allocation_reference,
                "BlockTradeAllocationID": r.block_trade_allocation_id,
                "ParentBlockTradeAllocationID": r.parent_block_trade_allocation_id,
                "ClientID": r.client_id,
                "OrderID": r.order_id,
                "DatetimeCreated": blocktrade.format_datetime(r.datetime_created),
            }
            for r in outcome.results
        ]
    ).encode()


def _json_errors(errors: tuple[LineError, ...]) -> bytes:
    return _json_text(
        [
            {"BlockAllocation": _json_allocation(e.block_allocation), "Errors": list(e.errors)}
            for e in errors
        ]
    ).encode()


# --- errors under /api/orders/ --------------------------------------------------------------


def message_response(kind: str, status: int, message: str) -> Response:
    """The vendor's Error Response: a JSON string or a serialised XML string."""
    if kind in XML_TYPES:
        body = blocktrade_xml.message_document(message)
    else:
        body = json.dumps(message, ensure_ascii=False).encode()
    headers = {"WWW-Authenticate": 'Bearer, Basic realm="allotment"'} if status == 401 else None
    return _respond(kind, status, body, headers)


def render_error(
    request: Request,
    status: int,
    error: BaseException | None,
    detail: str,
    fields: list[dict[str, Any]],
) -> Response:
    """Invalid input answers 400, as the vendor's ASP.NET service does (a reused
    Idempotency-Key keeps the 422 of SPEC §3)."""
    if status == 422 and not isinstance(error, IdempotencyKeyReused):
        status = 400
    return message_response(answer_type(request), status, detail)


RENDERERS: tuple[tuple[str, errors.Renderer], ...] = ((PREFIX, render_error),)


# --- the route ------------------------------------------------------------------------------


async def raw_body(request: Request) -> bytes:
    return await request.body()


@router.post(
    PATH,
    summary="Create child Block Trade allocations on a master",
    description=docs.DESCRIPTION,
    responses=docs.RESPONSES,
    openapi_extra=docs.REQUEST_BODY,
)
def create_block_allocations(
    request: Request,
    ctx: BlockTradeContext,
    box: ContainerDep,
    body: Annotated[bytes, Depends(raw_body)],
) -> Response:
    own = _media_type(request.headers.get("content-type"))
    answer = answer_type(request)
    if own not in SUPPORTED:
        return message_response(
            answer, 415, f"Content-Type must be one of {', '.join(SUPPORTED)}, not {own or 'none'}"
        )
    max_lines = box.settings.max_batch_items
    if own in XML_TYPES:
        parsed = blocktrade_xml.parse_request(body, max_lines)
    else:
        parsed = _json_request(body, max_lines)
    with box.uow() as uow:
        outcome = blocktrade.allocate(uow, ctx, parsed)
        if outcome.accepted:
            uow.commit()
    if not outcome.accepted:
        refused = block_trade_items(outcome.errors, parsed.block_trade_allocation_id)
        record_apart(box.uow, ctx, parsed.master_reference, refused)
    if answer in XML_TYPES:
        xml = (
            blocktrade_xml.results_document(outcome.results)
            if outcome.accepted
            else blocktrade_xml.errors_document(outcome.errors)
        )
        return _respond(answer, 200 if outcome.accepted else 400, xml)
    return _respond(answer, 200 if outcome.accepted else 400, json_document(outcome))
