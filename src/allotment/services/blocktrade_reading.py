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


class RequestInvalid(InvalidInstruction):
    """The request as a whole cannot be read (answered with the vendor's plain error string)."""


@dataclass(frozen=True, slots=True)
class BlockAllocation:
    """One line of the request, as sent (echoed back in an error result)."""

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

    Absent line fields take the vendor's defaults (0 for numbers, null for texts); present ones
    must have the right type. Raises RequestInvalid, or LimitExceeded above `max_lines` lines.
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
    def number(name: str) -> Decimal:
        return _number(values.get(name, 0), f"{where}.{name}")

    return BlockAllocation(
        client_id=_integer(values.get("ClientID", 0), f"{where}.ClientID"),
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
