"""The block-trade dialect's XML: the vendor's WCF DataContract shape, in and out.

Reading is namespace-agnostic (elements are matched by local name, so any prefixes and either
of the vendor's namespace layouts are read) and order-agnostic, and it goes through defusedxml
with DTDs forbidden: no external entities, no entity expansion. Writing reproduces the vendor's
samples exactly: the same namespaces and prefixes, elements in DataContract (alphabetical)
order, `i:nil="true"` for null strings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from xml.etree.ElementTree import Element, ParseError
from xml.sax.saxutils import escape

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from allotment.domain.numbers import plain
from allotment.services.blocktrade.children import ChildAllocation, LineError, format_datetime
from allotment.services.blocktrade.reading import (
    BlockAllocation,
    BlockTradeBlockAllocation,
    RequestInvalid,
    read_request,
)

XSI = "http://www.w3.org/2001/XMLSchema-instance"
CONTRACT = "http://schemas.datacontract.org/2004/07/TPP.B2B.Webservices2.Contract.Order"
SERVICES = "http://schemas.datacontract.org/2004/07/TPP.Contracts.Services.Order"
ARRAYS = "http://schemas.microsoft.com/2003/10/Serialization/Arrays"
SERIALIZATION = "http://schemas.microsoft.com/2003/10/Serialization/"
_ROOT_ATTRIBUTES = f'xmlns:i="{XSI}" xmlns="{CONTRACT}"'
_NOT_XML_CHARS = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


# --- reading --------------------------------------------------------------------------------


def parse_request(raw: bytes, max_lines: int) -> BlockTradeBlockAllocation:
    """A BlockTradeBlockAllocation document; RequestInvalid when it cannot be read."""
    root = _document(raw)
    if _local(root.tag) != "BlockTradeBlockAllocation":
        raise RequestInvalid(
            f"the XML root element must be BlockTradeBlockAllocation, not {_local(root.tag)}"
        )
    fields: dict[str, object] = {}
    lines: list[dict[str, object]] | None = None
    for child in root:
        name = _local(child.tag)
        if name == "AllocationDetails":
            lines = None if _is_nil(child) else _lines(child)
        else:
            fields[name] = _value(child)
    return read_request(fields, lines, max_lines)


def _document(raw: bytes) -> Element:
    try:
        root: Element = fromstring(raw, forbid_dtd=True)
    except DefusedXmlException:
        raise RequestInvalid(
            "the XML body is refused: document type declarations and entities are not allowed"
        ) from None
    except ParseError as error:
        raise RequestInvalid(f"the body is not well-formed XML: {error}") from None
    return root


def _lines(details: Element) -> list[dict[str, object]]:
    lines: list[dict[str, object]] = []
    for item in details:
        if _local(item.tag) != "BlockAllocation":
            raise RequestInvalid(
                f"AllocationDetails may only hold BlockAllocation elements, not {_local(item.tag)}"
            )
        lines.append({_local(field.tag): _value(field) for field in item})
    return lines


def _local(tag: object) -> str:
    text = tag if isinstance(tag, str) else ""
    return text.rpartition("}")[2]


def _is_nil(element: Element) -> bool:
    return element.get(f"{{{XSI}}}nil", "").strip() in ("true", "1")


def _value(element: Element) -> str | None:
    return None if _is_nil(element) else element.text or ""


# --- writing --------------------------------------------------------------------------------


def results_document(results: Sequence[ChildAllocation]) -> bytes:
    """ArrayOfBlockTradeBlockAllocationResult."""
    return _array("ArrayOfBlockTradeBlockAllocationResult", (_result(r) for r in results))


def errors_document(errors: Sequence[LineError]) -> bytes:
    """ArrayOfBlockTradeBlockAllocationErrorResult."""
    return _array("ArrayOfBlockTradeBlockAllocationErrorResult", (_error(e) for e in errors))


def message_document(message: str) -> bytes:
    """The vendor's Error Response: one serialised string."""
    return f'<string xmlns="{SERIALIZATION}">{_text(message)}</string>'.encode()


def _array(name: str, items: Iterable[list[str]]) -> bytes:
    lines = [f"<{name} {_ROOT_ATTRIBUTES}>"]
    for item in items:
        lines.extend(item)
    lines.append(f"</{name}>")
    return "\n".join(lines).encode()


def _result(result: ChildAllocation) -> list[str]:
    return [
        "<BlockTradeBlockAllocationResult>",
        _element("AllocationReference", _text(result.allocation_reference)),
        _element("BlockTradeAllocationID", str(result.block_trade_allocation_id)),
        _element("ClientID", str(result.client_id)),
        _element("DatetimeCreated", format_datetime(result.datetime_created)),
        _element("MasterReference", _text(result.master_reference)),
        _element("OrderID", str(result.order_id)),
        _element("ParentBlockTradeAllocationID", str(result.parent_block_trade_allocation_id)),
        "</BlockTradeBlockAllocationResult>",
    ]


def _error(error: LineError) -> list[str]:
    line = error.block_allocation
    return [
        "<BlockTradeBlockAllocationErrorResult>",
        f'<BlockAllocation xmlns:d3p1="{SERVICES}">',
        *_allocation_fields(line, "d3p1:"),
        "</BlockAllocation>",
        f'<Errors xmlns:d3p1="{ARRAYS}">',
        *(_element("d3p1:string", _text(message)) for message in error.errors),
        "</Errors>",
        "</BlockTradeBlockAllocationErrorResult>",
    ]


def _allocation_fields(line: BlockAllocation, prefix: str) -> list[str]:
    """BlockAllocation's members in DataContract order (alphabetical)."""
    numbers: list[tuple[str, Decimal | int]] = [
        ("ClientID", line.client_id),
        ("CustomBrokerageFee", line.custom_brokerage_fee),
        ("GSTValue", line.gst_value),
        ("NetAmount", line.net_amount),
    ]
    later: list[tuple[str, Decimal | int]] = [
        ("OtherFees", line.other_fees),
        ("Price", line.price),
        ("Quantity", line.quantity),
        ("TradeValue", line.trade_value),
    ]
    return [
        _optional(prefix + "AllocationReference", line.allocation_reference),
        *(_element(prefix + name, _number(value)) for name, value in numbers),
        _optional(prefix + "NotesForClient", line.notes_for_client),
        *(_element(prefix + name, _number(value)) for name, value in later),
    ]


def _optional(name: str, value: str | None) -> str:
    if value is None:
        return f'<{name} i:nil="true" />'
    return _element(name, _text(value))


def _element(name: str, content: str) -> str:
    return f"<{name}>{content}</{name}>"


def _number(value: Decimal | int) -> str:
    return str(value) if isinstance(value, int) else plain(value)


def _text(value: str) -> str:
    """Escaped character data; characters XML 1.0 cannot carry become U+FFFD."""
    return escape(_NOT_XML_CHARS.sub("\ufffd", value))
