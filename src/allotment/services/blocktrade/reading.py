"""Block-trade dialect: reading a request (SPEC §4.3).

Both wire formats (JSON, and the vendor's DataContract XML in `adapters.blocktrade_xml`) hand
over plain values: JSON values, or XML element texts. This module turns them into the typed
request, with the vendor's defaults for absent line fields, or refuses the request as a whole
(RequestInvalid, answered with the vendor's plain error string).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from allotment.domain.errors import InvalidInstruction, LimitExceeded
from allotment.domain.numbers import NotANumber, to_decimal

MAX_REFERENCE_LENGTH = 16
MAX_ID = 2**63 - 1
REQUIRED_NUMBERS = (
    "ClientID",
    "Quantity",
    "Price",
    "TradeValue",
    "NetAmount",
    "CustomBrokerageFee",
    "GSTValue",
    "OtherFees",
)
"""The numbers (and ClientID) among the BlockAllocation members the vendor marks Required."""
REQUIRED_FIELDS = (*REQUIRED_NUMBERS[:7], "AllocationReference", "OtherFees")
"""Every Required BlockAllocation member, in the vendor's resource model's order."""


class RequestInvalid(InvalidInstruction):
    """The request as a whole cannot be read (answered with the vendor's plain error string)."""


@dataclass(frozen=True, slots=True)
class BlockAllocation:
    """One line of the request, as sent (echoed back in an error result). A required number
    left out is echoed as 0, as the vendor's model binding leaves it, and named in `missing`:
    such a line is refused, never booked with a 0."""

    client_id: int
    quantity: Decimal
    price: Decimal
    trade_value: Decimal
    net_amount: Decimal
    custom_brokerage_fee: Decimal
    gst_value: Decimal
    allocation_reference: str | None
    notes_for_client: str | None
    other_fees: Decimal
    missing: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BlockTradeBlockAllocation:
    block_trade_allocation_id: int
    master_reference: str
    allocation_details: tuple[BlockAllocation, ...]


def read_request(
    fields: Mapping[str, object],
    lines: Sequence[Mapping[str, object]] | None,
    max_lines: int,
) -> BlockTradeBlockAllocation:
    """Build the request from the values a codec read (JSON values, or XML element texts).

    Absent texts are null; absent (or null) required numbers are 0 and named in the line's
    `missing`; present fields must have the right type. Raises RequestInvalid, or
    LimitExceeded above `max_lines` lines.
    """
    block_id = fields.get("BlockTradeAllocationID")
    if block_id is None:
        raise RequestInvalid("BlockTradeAllocationID is required")
    master_reference = _text(fields.get("MasterReference"), "MasterReference")
    if not master_reference:
        raise RequestInvalid("MasterReference is required")
    if len(master_reference) > MAX_REFERENCE_LENGTH:
        raise RequestInvalid(
            f"MasterReference must be at most {MAX_REFERENCE_LENGTH} characters long"
        )
    if not lines:
        raise RequestInvalid("AllocationDetails must list at least one BlockAllocation")
    if len(lines) > max_lines:
        raise LimitExceeded(
            f"AllocationDetails lists {len(lines)} allocations; at most {max_lines} are accepted"
        )
    return BlockTradeBlockAllocation(
        block_trade_allocation_id=_integer(block_id, "BlockTradeAllocationID"),
        master_reference=master_reference,
        allocation_details=tuple(
            _line(line, f"AllocationDetails[{index}]") for index, line in enumerate(lines)
        ),
    )


def _line(values: Mapping[str, object], where: str) -> BlockAllocation:
    missing = tuple(name for name in REQUIRED_NUMBERS if values.get(name) is None)

    def number(name: str) -> Decimal:
        value = values.get(name)
        return Decimal(0) if value is None else _number(value, f"{where}.{name}")

    client_id = values.get("ClientID")
    return BlockAllocation(
        client_id=0 if client_id is None else _integer(client_id, f"{where}.ClientID"),
        quantity=number("Quantity"),
        price=number("Price"),
        trade_value=number("TradeValue"),
        net_amount=number("NetAmount"),
        custom_brokerage_fee=number("CustomBrokerageFee"),
        gst_value=number("GSTValue"),
        allocation_reference=_text(
            values.get("AllocationReference"), f"{where}.AllocationReference"
        ),
        notes_for_client=_text(values.get("NotesForClient"), f"{where}.NotesForClient"),
        other_fees=number("OtherFees"),
        missing=missing,
    )


def _integer(value: object, name: str) -> int:
    try:
        number = to_decimal(value)
    except NotANumber:
        raise RequestInvalid(f"{name} must be an integer") from None
    if number != number.to_integral_value() or abs(number) > MAX_ID:
        raise RequestInvalid(f"{name} must be an integer")
    return int(number)


def _number(value: object, name: str) -> Decimal:
    try:
        return to_decimal(value)
    except NotANumber:
        raise RequestInvalid(f"{name} must be a number") from None


def _text(value: object, name: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise RequestInvalid(f"{name} must be a string")
