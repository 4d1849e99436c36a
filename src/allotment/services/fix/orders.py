"""Saxo's block order by FIX: a NewOrderSingle (35=D) with an AllocID and up to 2,500 NoAllocs
entries is a block order on the block trading account, allocated as Saxo's REST block orders
are (services.saxo_orders): its NoAllocs become a one-time allocation key (AllocQty as units,
CashAllocQty as cash amounts) whose MarginHandling is CancellationIfReduction's (tag 12108: Y is
Reject, N or absent Reduce), and every fill reported for the block is allocated by that key.

A ClOrdID is the order's idempotency reference: a 35=D seen before (a resend, a PossDup) is
answered as the first time and places nothing. A refused order is remembered too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from allotment.domain.errors import AllotmentError
from allotment.domain.identity import Scope
from allotment.domain.instruments import Instrument
from allotment.domain.numbers import ZERO, plain
from allotment.services.context import Context, record
from allotment.services.fix.checks import ISIN, Refused
from allotment.services.fix.values import AllocStatus, Origin, RejectCode
from allotment.services.ports import UnitOfWork, UnitOfWorkFactory
from allotment.services.saxo import keys as saxo
from allotment.services.saxo import orders as saxo_orders
from allotment.services.saxo.records import MarginHandling, UnitType

MAX_ALLOCATIONS = 2500
"""Saxo's limit of accounts in one NewOrderSingle's allocation."""
ORDER_TYPES = {"1": "Market", "2": "Limit"}


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One NoAllocs entry: AllocAccount and AllocQty or CashAllocQty (12110)."""

    account: str
    quantity: Decimal | None = None
    cash: Decimal | None = None


@dataclass(frozen=True, slots=True)
class NewOrder:
    cl_ord_id: str
    alloc_id: str | None
    account: str | None
    """Account (1), or the Parties entry of PartyRole 38: the block trading account."""
    side: str
    quantity: Decimal
    order_type: str
    """OrdType (40), FIX's code."""
    lines: tuple[OrderLine, ...]
    reject_if_reduced: bool = False
    """CancellationIfReduction (12108) Y."""
    cash_quantity: Decimal | None = None
    symbol: str | None = None
    security_id: str | None = None
    security_id_source: str | None = None


@dataclass(frozen=True, slots=True)
class OrderAnswer:
    """What the order is answered: 35=P Accepted or Block level reject, and a 35=8 New or
    Rejected."""

    cl_ord_id: str
    alloc_id: str
    status: AllocStatus
    side: str
    quantity: Decimal
    symbol: str = ""
    block_id: int | None = None
    reject_code: RejectCode | None = None
    text: str = ""

    @property
    def accepted(self) -> bool:
        return self.status is AllocStatus.ACCEPTED

    def as_json(self) -> dict[str, Any]:
        return {
            "cl_ord_id": self.cl_ord_id,
            "alloc_id": self.alloc_id,
            "status": int(self.status),
            "side": self.side,
            "quantity": plain(self.quantity),
            "symbol": self.symbol,
            "block_id": self.block_id,
            "reject_code": None if self.reject_code is None else int(self.reject_code),
            "text": self.text,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OrderAnswer:
        code = data["reject_code"]
        return cls(
            cl_ord_id=data["cl_ord_id"],
            alloc_id=data["alloc_id"],
            status=AllocStatus(data["status"]),
            side=data["side"],
            quantity=Decimal(data["quantity"]),
            symbol=data["symbol"],
            block_id=data["block_id"],
            reject_code=None if code is None else RejectCode(code),
            text=data["text"],
        )


@dataclass(frozen=True, slots=True)
class StoredOrder:
    company_id: int
    cl_ord_id: str
    session: str
    msg_seq_num: int
    answer: str
    created_at: datetime
    created_by: str
    alloc_id: str | None = None
    block_id: int | None = None
    id: int | None = None


class FixOrderRepository(Protocol):
    def add_order(self, stored: StoredOrder) -> int: ...
    def order(self, company_id: int, cl_ord_id: str) -> StoredOrder | None: ...


def _repository(uow: UnitOfWork) -> FixOrderRepository:
    return uow.fix


def handle(
    uows: UnitOfWorkFactory, ctx: Context, order: NewOrder, origin: Origin
) -> tuple[OrderAnswer, bool]:
    """The answer to a block order and whether it repeats a ClOrdID seen before. A placed
    order is committed; a refused one is rolled back whole, then remembered."""
    with uows() as uow:
        previous = _repository(uow).order(ctx.company_id, order.cl_ord_id)
        if previous is not None:
            return OrderAnswer.from_json(json.loads(previous.answer)), True
        try:
            answer = _place(uow, ctx, order)
        except Refused as refused:
            answer = _refusal(order, refused.code, refused.text)
        except AllotmentError as error:
            answer = _refusal(order, RejectCode.OTHER, error.message)
        if answer.accepted:
            _remember(uow, ctx, origin, order, answer)
            uow.commit()
            return answer, False
    with uows() as uow:
        _remember(uow, ctx, origin, order, answer)
        record(uow, ctx, "fix.order.refused", "fix_order", order.cl_ord_id, after=answer.as_json())
        uow.commit()
    return answer, False


def _refusal(order: NewOrder, code: RejectCode, text: str) -> OrderAnswer:
    return OrderAnswer(
        order.cl_ord_id,
        order.alloc_id or "",
        AllocStatus.BLOCK_LEVEL_REJECT,
        order.side,
        order.quantity,
        symbol=order.symbol or order.security_id or "",
        reject_code=code,
        text=text,
    )


def _place(uow: UnitOfWork, ctx: Context, order: NewOrder) -> OrderAnswer:
    if not ctx.principal.has(Scope.WRITE):
        raise Refused(RejectCode.OTHER, "the session's user may not place orders")
    unit_type = _check_shape(order)
    owner = _owner(uow, ctx, order.account)
    instrument = _instrument(uow, order)
    key = saxo.create_key(
        uow,
        ctx,
        saxo.KeyDraft(
            name=f"FIX {order.cl_ord_id}"[:100],
            unit_type=unit_type,
            margin_handling=MarginHandling.REJECT
            if order.reject_if_reduced
            else MarginHandling.REDUCE,
            one_time=True,
            owner_account_key=owner,
            participants=[
                saxo.ParticipantDraft(
                    unit_value=line.quantity if line.quantity is not None else _cash(line),
                    priority=position,
                    accepts_remainder=True,
                    account_id=line.account,
                )
                for position, line in enumerate(order.lines, start=1)
            ],
            uic=instrument.uic,
            asset_type=instrument.asset_type,
            buy_sell=order.side,
        ),
    )
    block = saxo_orders.place_block_order(
        uow,
        ctx,
        saxo_orders.OrderDraft(
            account_key=owner,
            uic=instrument.uic,
            asset_type=instrument.asset_type,
            buy_sell=order.side,
            amount=order.quantity,
            order_type=ORDER_TYPES.get(order.order_type, "Market"),
            allocation_key_id=str(key.id),
            external_reference=order.cl_ord_id[: saxo.MAX_EXTERNAL_REFERENCE],
        ),
    )
    return OrderAnswer(
        order.cl_ord_id,
        order.alloc_id or "",
        AllocStatus.ACCEPTED,
        order.side,
        order.quantity,
        symbol=instrument.symbol,
        block_id=block.id,
    )


def _cash(line: OrderLine) -> Decimal:
    assert line.cash is not None
    return line.cash


def _check_shape(order: NewOrder) -> UnitType:
    """Saxo's initial validation: an AllocID, 1 to 2,500 accounts, every one with AllocQty
    (summing to OrderQty) or every one with CashAllocQty (summing to CashOrderQty if given)."""
    if order.alloc_id is None or not order.lines:
        raise Refused(RejectCode.OTHER, "a block order needs an AllocID and NoAllocs")
    if len(order.lines) > MAX_ALLOCATIONS:
        raise Refused(RejectCode.OTHER, f"at most {MAX_ALLOCATIONS} allocations in one order")
    if order.order_type not in ORDER_TYPES:
        raise Refused(RejectCode.OTHER, "OrdType must be 1 (market) or 2 (limit)")
    by_quantity = [line.quantity is not None and line.cash is None for line in order.lines]
    by_cash = [line.cash is not None and line.quantity is None for line in order.lines]
    if all(by_quantity):
        total = sum((line.quantity or ZERO for line in order.lines), ZERO)
        if total != order.quantity:
            raise Refused(
                RejectCode.INCORRECT_ALLOCATED_QUANTITY,
                f"the AllocQty sum to {plain(total)}, not the OrderQty {plain(order.quantity)}",
            )
        return UnitType.UNIT
    if all(by_cash):
        cash = sum((line.cash or ZERO for line in order.lines), ZERO)
        if order.cash_quantity is not None and cash != order.cash_quantity:
            raise Refused(
                RejectCode.INCORRECT_ALLOCATED_QUANTITY,
                f"the CashAllocQty sum to {plain(cash)}, not the CashOrderQty "
                f"{plain(order.cash_quantity)}",
            )
        return UnitType.CASH_AMOUNT
    raise Refused(
        RejectCode.INCORRECT_ALLOCATED_QUANTITY,
        "every allocation gives AllocQty, or every one CashAllocQty (12110), not both",
    )


def _owner(uow: UnitOfWork, ctx: Context, named: str | None) -> str:
    """The block trading account's key, the account named by its id or its key."""
    if named is None:
        raise Refused(RejectCode.UNKNOWN_ACCOUNT, "name the block trading account (Account)")
    account = uow.accounts.account(named) or uow.accounts.account_by_key(named)
    if account is None or account.company_id != ctx.company_id:
        raise Refused(RejectCode.UNKNOWN_ACCOUNT, f"unknown account {named}")
    return account.account_key


def _instrument(uow: UnitOfWork, order: NewOrder) -> Instrument:
    if order.security_id is not None and order.security_id_source == ISIN:
        found = next((i for i in uow.instruments.list() if i.isin == order.security_id), None)
    else:
        found = uow.instruments.by_symbol(order.symbol or order.security_id or "")
    if found is None:
        raise Refused(RejectCode.MISMATCHED_DATA, "unknown instrument")
    return found


def _remember(
    uow: UnitOfWork, ctx: Context, origin: Origin, order: NewOrder, answer: OrderAnswer
) -> None:
    _repository(uow).add_order(
        StoredOrder(
            company_id=ctx.company_id,
            cl_ord_id=order.cl_ord_id,
            session=origin.session,
            msg_seq_num=origin.msg_seq_num,
            answer=json.dumps(answer.as_json()),
            created_at=ctx.now,
            created_by=ctx.principal.subject,
            alloc_id=order.alloc_id,
            block_id=answer.block_id,
        )
    )


@dataclass(frozen=True, slots=True)
class OrderState:
    """A block order as an OrderCancelReject (35=9) tells it: its OrderID (our block id, None
    when it was refused) and FIX's OrdStatus (39)."""

    block_id: int | None
    status: str


def order_state(uow: UnitOfWork, ctx: Context, cl_ord_id: str) -> OrderState | None:
    """The block order placed with this ClOrdID: New (0), Partially filled (1), Filled (2),
    Canceled (4) or, refused when it came, Rejected (8); None when no order has it."""
    stored = _repository(uow).order(ctx.company_id, cl_ord_id)
    if stored is None:
        return None
    block = None if stored.block_id is None else uow.blocks.get(ctx.company_id, stored.block_id)
    if block is None:
        return OrderState(None, "8")
    if block.status == "cancelled":
        return OrderState(block.id, "4")
    filled = block.filled_quantity
    status = "0" if not filled else "2" if filled >= block.ordered_quantity else "1"
    return OrderState(block.id, status)
