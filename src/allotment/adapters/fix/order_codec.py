"""Saxo's block order by FIX: a NewOrderSingle (35=D) read into services.fix_orders' values,
and the ExecutionReports (35=8) and acknowledgements (35=P) it is answered with.

Tags: AllocID (70), NoAllocs (78) with AllocAccount (79), AllocQty (80) or CashAllocQty
(12110, Saxo's), CancellationIfReduction (12108, Saxo's), the block trading account as Account
(1) or the Parties entry of PartyRole 38 (Saxo's way).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import quickfix44 as fix44

from allotment.adapters.fix.codec import DATE, FIX_SIDES, SIDES
from allotment.adapters.fix.codec import decimal as _decimal
from allotment.adapters.fix.codec import text as _text
from allotment.domain.numbers import ZERO, plain
from allotment.services.fix.checks import Refused
from allotment.services.fix.orders import NewOrder, OrderAnswer, OrderLine, OrderState
from allotment.services.fix.outbox import FillNews
from allotment.services.fix.values import AllocStatus, RejectCode

CANCELLATION_IF_REDUCTION = 12108
CASH_ALLOC_QTY = 12110
ACCOUNT_ROLE = "38"


def read_order(message: Any) -> NewOrder:
    """A NewOrderSingle (35=D) as a value; Refused when it asks what we do not do."""
    side = SIDES.get(str(message.getField(54)))
    if side is None:
        raise Refused(RejectCode.MISMATCHED_DATA, "Side must be 1 (buy) or 2 (sell)")
    quantity = _decimal(message, 38, "OrderQty")
    if quantity is None or quantity <= 0:
        raise Refused(RejectCode.INCORRECT_QUANTITY, "OrderQty must be given and positive")
    return NewOrder(
        cl_ord_id=str(message.getField(11)),
        alloc_id=_text(message, 70),
        account=_text(message, 1) or _party_account(message),
        side=side,
        quantity=quantity,
        order_type=str(message.getField(40)),
        lines=_lines(message),
        reject_if_reduced=_text(message, CANCELLATION_IF_REDUCTION) == "Y",
        cash_quantity=_decimal(message, 152, "CashOrderQty"),
        symbol=_text(message, 55),
        security_id=_text(message, 48),
        security_id_source=_text(message, 22),
    )


def _party_account(message: Any) -> str | None:
    count = int(message.getField(453)) if message.isSetField(453) else 0
    party = fix44.NewOrderSingle.NoPartyIDs()
    for index in range(1, count + 1):
        message.getGroup(index, party)
        if _text(party, 452) == ACCOUNT_ROLE:
            return _text(party, 448)
    return None


def _lines(message: Any) -> tuple[OrderLine, ...]:
    count = int(message.getField(78)) if message.isSetField(78) else 0
    group = fix44.NewOrderSingle.NoAllocs()
    lines = []
    for index in range(1, count + 1):
        message.getGroup(index, group)
        account = _text(group, 79)
        if account is None:
            raise Refused(RejectCode.UNKNOWN_ACCOUNT, f"allocation {index} has no AllocAccount")
        lines.append(
            OrderLine(
                account,
                _decimal(group, 80, "AllocQty"),
                _decimal(group, CASH_ALLOC_QTY, "CashAllocQty"),
            )
        )
    return tuple(lines)


def order_ack(answer: OrderAnswer, status: AllocStatus, now: datetime) -> Any:
    """The 35=P of the order's allocation: Received, then Accepted or Block level reject."""
    message = fix44.AllocationInstructionAck()
    message.setField(70, answer.alloc_id or answer.cl_ord_id)
    message.setField(60, _timestamp(now))
    message.setField(87, str(int(status)))
    if status is AllocStatus.BLOCK_LEVEL_REJECT:
        message.setField(88, str(int(answer.reject_code or RejectCode.OTHER)))
        if answer.text:
            message.setField(58, answer.text[:500])
    return message


def order_report(answer: OrderAnswer, now: datetime) -> Any:
    """The order's ExecutionReport: New (its OrderID our block id) or Rejected."""
    message = fix44.ExecutionReport()
    placed = answer.accepted and answer.block_id is not None
    message.setField(37, str(answer.block_id) if placed else "NONE")
    message.setField(11, answer.cl_ord_id)
    message.setField(17, f"{answer.block_id}-0" if placed else f"{answer.cl_ord_id}-rejected")
    message.setField(150, "0" if placed else "8")
    message.setField(39, "0" if placed else "8")
    if not placed:
        message.setField(103, "99")  # OrdRejReason: other
        message.setField(58, answer.text[:500])
    message.setField(54, FIX_SIDES[answer.side])
    message.setField(55, answer.symbol or "[N/A]")
    message.setField(38, plain(answer.quantity))
    message.setField(151, plain(answer.quantity) if placed else "0")
    message.setField(14, "0")
    message.setField(6, "0")
    message.setField(60, _timestamp(now))
    return message


@dataclass(frozen=True, slots=True)
class CancelReject:
    cl_ord_id: str
    original: str
    """OrigClOrdID (41): the order the request names."""
    replace: bool
    state: OrderState | None
    failed: bool = False
    """We could not look the order up (a failure of ours)."""


UNKNOWN_ORDER, BROKER_OPTION, OTHER = "1", "2", "99"
"""CxlRejReason (102)."""


def cancel_reject(reject: CancelReject) -> Any:
    """An OrderCancelReject (35=9): a block order placed by FIX is neither cancelled nor
    replaced by FIX; an order we do not know is said to be unknown."""
    message = fix44.OrderCancelReject()
    state = reject.state
    known = state is not None and state.block_id is not None
    message.setField(37, str(state.block_id) if state is not None and known else "NONE")
    message.setField(11, reject.cl_ord_id)
    message.setField(41, reject.original)
    message.setField(39, state.status if state is not None else "8")
    message.setField(434, "2" if reject.replace else "1")
    if reject.failed:
        reason, text = OTHER, "not processed (a failure of ours): send it again"
    elif state is None:
        reason, text = UNKNOWN_ORDER, f"no block order has ClOrdID {reject.original}"
    else:
        asked = "replaced" if reject.replace else "cancelled"
        reason = BROKER_OPTION
        text = f"a block order placed by FIX is not {asked} by FIX (ClOrdID {reject.original})"
    message.setField(102, reason)
    message.setField(58, text[:500])
    return message


def fill_report(news: FillNews) -> Any:
    """A fill's ExecutionReport: Trade, the order partially filled or filled."""
    message = fix44.ExecutionReport()
    leaves = max(news.order_quantity - news.cumulative, ZERO)
    message.setField(37, str(news.block_id))
    message.setField(11, news.cl_ord_id)
    message.setField(17, str(news.fill_id))
    message.setField(150, "F")
    message.setField(39, "2" if leaves == 0 else "1")
    message.setField(54, FIX_SIDES[news.side])
    message.setField(55, news.symbol)
    message.setField(38, plain(news.order_quantity))
    message.setField(32, plain(news.quantity))
    message.setField(31, plain(news.price))
    message.setField(151, plain(leaves))
    message.setField(14, plain(news.cumulative))
    message.setField(6, plain(news.average_price))
    message.setField(75, news.executed_at.strftime(DATE))
    message.setField(60, _timestamp(news.executed_at))
    return message


def _timestamp(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y%m%d-%H:%M:%S")
