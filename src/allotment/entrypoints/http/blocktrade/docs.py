"""What the block-trade route reads and answers, for the OpenAPI document.

Each answer is in the type content negotiation picked (`application/json`, `text/json`,
`application/xml` or `text/xml`), so every status is declared in all four: in JSON the result
list, the error result list or the vendor's Error Response (one JSON string); in XML the
vendor's DataContract documents (described, not modelled). The route writes the answers itself
(numbers exactly as received); these models only describe them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, RootModel, WithJsonSchema

from allotment.entrypoints.http.errors import IDEMPOTENCY_KEY

JSON_TYPES = ("application/json", "text/json")
XML_TYPES = ("application/xml", "text/xml")
SUPPORTED = JSON_TYPES + XML_TYPES

Number = Annotated[Decimal, WithJsonSchema({"type": "number"})]


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BlockAllocation(Answer):
    """A line of the request, echoed as it was read (absent numbers as 0, absent texts as
    null)."""

    ClientID: int
    Quantity: Number
    Price: Number
    TradeValue: Number
    NetAmount: Number
    CustomBrokerageFee: Number
    GSTValue: Number
    AllocationReference: str | None
    NotesForClient: str | None
    OtherFees: Number


class BlockTradeBlockAllocationResult(Answer):
    MasterReference: str
    AllocationReference: str
    BlockTradeAllocationID: int
    ParentBlockTradeAllocationID: int
    ClientID: int
    OrderID: int
    DatetimeCreated: str


class BlockTradeBlockAllocationErrorResult(Answer):
    BlockAllocation: BlockAllocation
    Errors: list[str]


class BlockTradeRefusal(RootModel[list[BlockTradeBlockAllocationErrorResult] | str]):
    """A 400 in JSON: the error result of each failing line, or, when the request as a whole
    cannot be read, the vendor's Error Response (one string)."""


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _content(json_schema: dict[str, Any], xml: str) -> dict[str, Any]:
    """The same JSON schema for both JSON types, and the XML document `xml` for both XML
    types."""
    content = {kind: {"schema": json_schema} for kind in JSON_TYPES}
    described = {"type": "string", "description": f"The vendor's DataContract XML: {xml}"}
    content.update({kind: {"schema": described} for kind in XML_TYPES})
    return content


_STRING = '<string xmlns="http://schemas.microsoft.com/2003/10/Serialization/">reason</string>'
_MESSAGE = {"type": "string", "description": "The vendor's Error Response: the reason"}
_ERRORS = {
    401: "No valid credentials (`WWW-Authenticate: Bearer, Basic`)",
    403: "Without the write scope",
    409: "A request with the same Idempotency-Key is still running, or a concurrent request "
    "took an AllocationReference first",
    413: "The body is over the size limit, or lists more lines than the batch limit",
    415: "A Content-Type other than JSON or XML",
    422: "The Idempotency-Key was used for another request",
}
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "model": list[BlockTradeBlockAllocationResult],
        "description": "One result per line, in request order",
        "content": _content(
            {"type": "array", "items": _ref("BlockTradeBlockAllocationResult")},
            "ArrayOfBlockTradeBlockAllocationResult",
        ),
    },
    400: {
        "model": BlockTradeRefusal,
        "description": "The failing lines and their errors (nothing is created), or one error "
        "string when the request cannot be read",
        "content": _content(
            _ref("BlockTradeRefusal"), f"ArrayOfBlockTradeBlockAllocationErrorResult, or {_STRING}"
        ),
    },
    **{
        status: {"description": text, "content": _content(_MESSAGE, _STRING)}
        for status, text in _ERRORS.items()
    },
}
"""The route's answers (the 200's and the 400's `model` register the schemas their JSON types
refer to)."""


DESCRIPTION = """\
Create a set of child Block Trade allocations on an existing master (a block with fills created
through `POST /api/v1/blocks`; its id is the BlockTradeAllocationID). All or nothing: 200 with
one result per line, or 400 with an error result for each failing line and nothing created.
Authentication: `Authorization: Bearer` (either token endpoint) or HTTP Basic.

Line errors: `<member> is required` (every BlockAllocation member but NotesForClient, left out
or null; the line's other rules are then not checked); `Invalid client:<id>` (unknown client,
or no active account in the instrument's currency);
`Not authorised to create order allocation for this client #<id>`;
`Invalid block trade allocation:<id>`; `Block trade allocation <id> is cancelled`;
`MasterReference <ref> does not match block trade allocation <id>`;
`Quantity must be a whole number greater than zero`;
`Quantity <q> exceeds the unallocated quantity of block trade allocation <id>: ...` (the lines
of the request count together); `Price <p> does not equal the average price <avg> of block
trade allocation <id>`; `TradeValue <v> does not equal Quantity × Price = <x> (within 0.01)`;
`GSTValue <g> does not equal the GST rate <r> × CustomBrokerageFee = <x> (within 0.01)`;
`NetAmount <n> does not equal TradeValue − fees = <x> for a sale (within 0.01)` (`+ fees` for a
purchase); `<fee> must not be negative`; `<fee> must be in whole cents`;
`AllocationReference is required`; `AllocationReference must be at most 16 characters long`;
`AllocationReference <ref> is repeated in this request`; `AllocationReference <ref> is already
used on block trade allocation <id>`; `<field> is out of range`; ledger refusals
(`Insufficient position: ...`, `Insufficient funds: ...`).

Request errors (400, a single string): malformed JSON or XML, XML with a DTD or entities, a
missing BlockTradeAllocationID or MasterReference, a MasterReference over 16 characters, an
empty AllocationDetails, a field of the wrong type. 401 without valid credentials, 403 without
the write scope, 413 for an oversize body or too many lines, 415 for another Content-Type;
409 and 422 for an Idempotency-Key still in use or used for another request.

As on the vendor's ASP.NET service, the path matches in any letter case
(`/API/Orders/BlockTrade/Block-Allocations`).
"""

_LINE_SCHEMA = {
    "type": "object",
    "description": "Every member but NotesForClient is Required (the vendor's resource model); "
    "JSON members bind whatever their letter case.",
    "required": [
        "ClientID",
        "Quantity",
        "Price",
        "TradeValue",
        "NetAmount",
        "CustomBrokerageFee",
        "GSTValue",
        "AllocationReference",
        "OtherFees",
    ],
    "properties": {
        "ClientID": {"type": "integer"},
        "Quantity": {"type": "number"},
        "Price": {"type": "number"},
        "TradeValue": {"type": "number"},
        "NetAmount": {"type": "number"},
        "CustomBrokerageFee": {"type": "number"},
        "GSTValue": {"type": "number"},
        "AllocationReference": {"type": "string", "minLength": 1, "maxLength": 16},
        "NotesForClient": {"type": ["string", "null"]},
        "OtherFees": {"type": "number"},
    },
}
_REQUEST_SCHEMA = {
    "type": "object",
    "required": ["BlockTradeAllocationID", "MasterReference", "AllocationDetails"],
    "properties": {
        "BlockTradeAllocationID": {"type": "integer"},
        "MasterReference": {"type": "string", "minLength": 1, "maxLength": 16},
        "AllocationDetails": {"type": "array", "minItems": 1, "items": _LINE_SCHEMA},
    },
}
_REQUEST_XML = {
    "type": "string",
    "description": "A BlockTradeBlockAllocation document in the vendor's DataContract XML",
}


EXAMPLE: dict[str, Any] = {
    "BlockTradeAllocationID": 195,
    "MasterReference": "XCCMa3aR573uzw",
    "AllocationDetails": [
        {
            "ClientID": 1574444,
            "Quantity": 25,
            "Price": 6.75,
            "TradeValue": 168.75,
            "NetAmount": 159.47,
            "CustomBrokerageFee": 8.44,
            "GSTValue": 0.84,
            "AllocationReference": "1358233558943267",
            "NotesForClient": "Block Allocation as per email and meeting",
            "OtherFees": 0.0,
        },
        {
            "ClientID": 987558,
            "Quantity": 75,
            "Price": 6.75,
            "TradeValue": 506.25,
            "NetAmount": 478.41,
            "CustomBrokerageFee": 25.31,
            "GSTValue": 2.53,
            "AllocationReference": "316358044331848E",
            "NotesForClient": "Block Allocation as per email and meeting",
            "OtherFees": 0.0,
        },
    ],
}
"""The seed's request (on the demo's master 195)."""

REQUEST_BODY: dict[str, Any] = {
    "parameters": [IDEMPOTENCY_KEY],
    "requestBody": {
        "required": True,
        "content": {
            **{kind: {"schema": _REQUEST_SCHEMA, "example": EXAMPLE} for kind in JSON_TYPES},
            **{kind: {"schema": _REQUEST_XML} for kind in XML_TYPES},
        },
    },
}
