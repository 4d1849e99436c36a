"""FIX 4.4 messages to and from the FIX door's plain values (services/fix/values).

Only the tags are known here: what they mean is decided by the services. The engine has
already checked every inbound message against the data dictionary (required fields, types,
enums, groups), so what is read here is well formed; what is read but not supported (a side
other than buy or sell, a commission type other than absolute) is a block level refusal.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import quickfix44 as fix44

from allotment.domain.numbers import ZERO, plain
from allotment.services.fix.checks import Refused
from allotment.services.fix.values import (
    AllocLine,
    AllocStatus,
    Answer,
    Instruction,
    RejectCode,
    Report,
    TransType,
)

SIDES = {"1": "Buy", "2": "Sell"}
FIX_SIDES = {name: code for code, name in SIDES.items()}
ABSOLUTE = "3"
"""CommType 3: the Commission is an amount (the only kind we book as given)."""
TAX_FEE_TYPES = {"2", "9"}
"""MiscFeeType 2 (tax) and 9 (consumption tax) are booked as tax; every other as other fees."""
DATE = "%Y%m%d"
NoOrders = fix44.AllocationInstruction.NoOrders
NoExecs = fix44.AllocationInstruction.NoExecs


def header(message: Any, tag: int) -> str:
    return str(message.getHeader().getField(tag))


def text(message: Any, tag: int) -> str | None:
    """The field's text, or None when the message (or group) has no such field."""
    return str(message.getField(tag)) if message.isSetField(tag) else None


_text = text


def decimal(message: Any, tag: int, name: str) -> Decimal | None:
    """The field as a finite number, or None when absent; Refused when it is not one."""
    text = _text(message, tag)
    if text is None:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation as error:  # the dictionary checked the type; belt and braces
        raise Refused(RejectCode.MISMATCHED_DATA, f"{name} is not a number") from error
    if not value.is_finite():
        raise Refused(RejectCode.MISMATCHED_DATA, f"{name} is not a number")
    return value


_decimal = decimal


def _date(message: Any, tag: int, name: str) -> date | None:
    text = _text(message, tag)
    if text is None:
        return None
    try:
        return datetime.strptime(text, DATE).date()
    except ValueError as error:
        raise Refused(RejectCode.MISMATCHED_DATA, f"{name} is not a date YYYYMMDD") from error


def identity(message: Any) -> tuple[str, TransType, str | None]:
    """AllocID, AllocTransType and RefAllocID: read first, to answer even a refusal."""
    return str(message.getField(70)), TransType(message.getField(71)), _text(message, 72)


def read_instruction(message: Any) -> Instruction:
    """An AllocationInstruction (35=J) as a value; Refused when it asks what we do not do."""
    alloc_id, trans_type, ref_alloc_id = identity(message)
    side = SIDES.get(str(message.getField(54)))
    if side is None:
        raise Refused(RejectCode.MISMATCHED_DATA, "Side must be 1 (buy) or 2 (sell)")
    alloc_type = str(message.getField(626))
    if alloc_type not in ("1", "2"):
        raise Refused(RejectCode.OTHER, "AllocType must be 1 (calculated) or 2 (preliminary)")
    quantity = _decimal(message, 53, "Quantity")
    average_price = _decimal(message, 6, "AvgPx")
    trade_date = _date(message, 75, "TradeDate")
    assert quantity is not None and average_price is not None and trade_date is not None
    return Instruction(
        alloc_id=alloc_id,
        trans_type=trans_type,
        side=side,
        quantity=quantity,
        average_price=average_price,
        trade_date=trade_date,
        lines=_lines(message),
        preliminary=alloc_type == "2",
        ref_alloc_id=ref_alloc_id,
        symbol=_text(message, 55),
        security_id=_text(message, 48),
        security_id_source=_text(message, 22),
        settlement_date=_date(message, 64, "SettlDate"),
        **_orders(message),
        exec_ids=tuple(
            value for value in _group_values(message, NoExecs(), 124, 17) if value is not None
        ),
    )


def _orders(message: Any) -> dict[str, tuple[str, ...]]:
    """Each NoOrders entry names the block by its OrderID (37) when it has one, else by its
    ClOrdID (11; every entry has one, it is the group's first field)."""
    order_ids = _group_values(message, NoOrders(), 73, 37)
    cl_ord_ids = _group_values(message, NoOrders(), 73, 11)
    return {
        "order_ids": tuple(o for o in order_ids if o is not None),
        "cl_ord_ids": tuple(
            c for o, c in zip(order_ids, cl_ord_ids, strict=True) if o is None and c is not None
        ),
    }


def _group_values(message: Any, group: Any, count_tag: int, tag: int) -> list[str | None]:
    count = int(message.getField(count_tag)) if message.isSetField(count_tag) else 0
    values = []
    for index in range(1, count + 1):
        message.getGroup(index, group)
        values.append(_text(group, tag))
    return values


def _lines(message: Any) -> tuple[AllocLine, ...]:
    count = int(message.getField(78)) if message.isSetField(78) else 0
    group = fix44.AllocationInstruction.NoAllocs()
    lines = []
    for index in range(1, count + 1):
        message.getGroup(index, group)
        account = _text(group, 79)
        if account is None:
            raise Refused(RejectCode.UNKNOWN_ACCOUNT, f"allocation {index} has no AllocAccount")
        tax, other = _misc_fees(group)
        lines.append(
            AllocLine(
                account=account,
                quantity=_decimal(group, 80, "AllocQty"),
                price=_decimal(group, 366, "AllocPrice"),
                commission=_commission(group),
                tax=tax,
                other_fees=other,
            )
        )
    return tuple(lines)


def _commission(group: Any) -> Decimal:
    commission = _decimal(group, 12, "Commission")
    if commission is None:
        return ZERO
    if (_text(group, 13) or ABSOLUTE) != ABSOLUTE:
        raise Refused(RejectCode.COMMISSION_DIFFERENCE, "CommType must be 3 (absolute)")
    return commission


def _misc_fees(group: Any) -> tuple[Decimal, Decimal]:
    count = int(group.getField(136)) if group.isSetField(136) else 0
    fee = fix44.AllocationInstruction.NoAllocs.NoMiscFees()
    tax, other = ZERO, ZERO
    for index in range(1, count + 1):
        group.getGroup(index, fee)
        amount = _decimal(fee, 137, "MiscFeeAmt") or ZERO
        if _text(fee, 139) in TAX_FEE_TYPES:
            tax += amount
        else:
            other += amount
    return tax, other


def ack(answer: Answer, status: AllocStatus, now: datetime) -> Any:
    """An AllocationInstructionAck (35=P): Received at once, then the answer's status."""
    message = fix44.AllocationInstructionAck()
    message.setField(70, answer.alloc_id)
    message.setField(60, _timestamp(now))
    message.setField(87, str(int(status)))
    if status is not AllocStatus.RECEIVED:
        if answer.reject_code is not None:
            message.setField(88, str(int(answer.reject_code)))
        if answer.text:
            message.setField(58, answer.text[:500])
        for refusal in answer.refusals:
            entry = fix44.AllocationInstructionAck.NoAllocs()
            entry.setField(79, refusal.account)
            entry.setField(776, str(int(refusal.code)))
            entry.setField(161, refusal.text[:200])
            message.addGroup(entry)
    return message


def report(answer: Answer, item: Report) -> Any:
    """An AllocationReport (35=AS) for one booked allocation (one account)."""
    message = fix44.AllocationReport()
    message.setField(755, str(item.allocation_id))
    message.setField(70, answer.alloc_id)
    message.setField(71, TransType.NEW.value)
    message.setField(794, "3" if answer.preliminary else "4")
    message.setField(87, str(int(AllocStatus.ACCEPTED)))
    message.setField(857, "0")
    message.setField(54, FIX_SIDES[answer.side])
    message.setField(55, answer.symbol)
    message.setField(53, plain(item.quantity))
    message.setField(6, plain(answer.average_price))
    assert answer.trade_date is not None
    message.setField(75, answer.trade_date.strftime(DATE))
    settlement_date = item.settlement_date or answer.settlement_date
    if settlement_date is not None:
        message.setField(64, settlement_date.strftime(DATE))
    entry = fix44.AllocationReport.NoAllocs()
    entry.setField(79, item.account)
    entry.setField(366, plain(item.price))
    entry.setField(80, plain(item.quantity))
    entry.setField(467, str(item.allocation_id))
    entry.setField(12, plain(item.commission))
    entry.setField(13, ABSOLUTE)
    entry.setField(154, plain(item.net_money))
    for fee_type, amount in (("2", item.tax), ("7", item.other_fees)):
        if amount:
            fee = fix44.AllocationReport.NoAllocs.NoMiscFees()
            fee.setField(137, plain(amount))
            fee.setField(139, fee_type)
            entry.addGroup(fee)
    message.addGroup(entry)
    return message


def _timestamp(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y%m%d-%H:%M:%S")


def is_possible_duplicate(message: Any) -> bool:
    head = message.getHeader()
    return bool(head.isSetField(43) and head.getField(43) == "Y")
