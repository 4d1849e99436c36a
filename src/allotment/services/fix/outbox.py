"""What the FIX acceptor still has to tell a session: an ExecutionReport (35=8) for each fill
reported for its block orders (fills come through the native API, by another process), and an
AllocationReport (35=AS) for each allocation booked on them, or on any block of its company
when the session subscribes to its company's allocations.

Each session keeps two cursors in the database, the last fill and the last allocation it was
sent; the acceptor reads what lies past them, sends it, then moves them, so that a restarted
acceptor carries on where it stopped and sends nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Protocol

from allotment.domain.numbers import ZERO
from allotment.services.fix.sessions import FixSession
from allotment.services.fix.values import Report
from allotment.services.ports import AllocationRow, FillRecord, UnitOfWork

BATCH = 5000
"""At most this many fills, and this many allocations, per session and poll."""
PRICE_PLACES = Decimal("0.000001")


@dataclass(frozen=True, slots=True)
class OrderOf:
    """A FIX block order: the block, and the ClOrdID and AllocID the session gave it."""

    block_id: int
    cl_ord_id: str
    alloc_id: str


@dataclass(frozen=True, slots=True)
class FillNews:
    """One fill, as its ExecutionReport tells it."""

    fill_id: int
    block_id: int
    cl_ord_id: str
    side: str
    symbol: str
    order_quantity: Decimal
    quantity: Decimal
    price: Decimal
    cumulative: Decimal
    average_price: Decimal
    executed_at: datetime


@dataclass(frozen=True, slots=True)
class AllocationNews:
    """One booked allocation, as its AllocationReport tells it."""

    alloc_id: str
    side: str
    symbol: str
    trade_date: date
    settlement_date: date | None
    report: Report


@dataclass(frozen=True, slots=True)
class Outbox:
    session_id: int
    fills: tuple[FillNews, ...]
    allocations: tuple[AllocationNews, ...]
    last_fill_id: int
    last_allocation_id: int

    @property
    def empty(self) -> bool:
        return not self.fills and not self.allocations


class FixOutboxRepository(Protocol):
    def session(self, sender_comp_id: str, target_comp_id: str) -> FixSession | None: ...
    def orders_of_session(self, session: str, block_ids: set[int] | None) -> list[OrderOf]: ...
    def fills_after(self, session: str, after_id: int, limit: int) -> list[FillRecord]: ...
    def allocations_after(
        self, company_id: int, session: str | None, after_id: int, limit: int
    ) -> list[tuple[int, AllocationRow]]: ...
    def advance(self, session_id: int, last_fill_id: int, last_allocation_id: int) -> None: ...


def _repository(uow: UnitOfWork) -> FixOutboxRepository:
    return uow.fix


def outbox(uow: UnitOfWork, sender_comp_id: str, target_comp_id: str) -> Outbox | None:
    """What the session has not been told yet (None for a session that is not configured)."""
    repository = _repository(uow)
    session = repository.session(sender_comp_id, target_comp_id)
    if session is None or session.id is None:
        return None
    fills = repository.fills_after(session.name, session.last_fill_id, BATCH)
    rows = repository.allocations_after(
        session.company_id,
        None if session.subscribe_allocations else session.name,
        session.last_allocation_id,
        BATCH,
    )
    blocks = {fill.block_id for fill in fills} | {
        row.block_id for _, row in rows if row.block_id is not None
    }
    orders = {o.block_id: o for o in repository.orders_of_session(session.name, blocks)}
    return Outbox(
        session.id,
        tuple(_fill_news(uow, session.company_id, fill, orders[fill.block_id]) for fill in fills),
        tuple(_allocation_news(uow, allocation_id, row, orders) for allocation_id, row in rows),
        max((fill.id or 0 for fill in fills), default=session.last_fill_id),
        max((allocation_id for allocation_id, _ in rows), default=session.last_allocation_id),
    )


def sent(uow: UnitOfWork, box: Outbox) -> None:
    """The session was sent what the outbox holds: its cursors move past it."""
    _repository(uow).advance(box.session_id, box.last_fill_id, box.last_allocation_id)


def _fill_news(uow: UnitOfWork, company_id: int, fill: FillRecord, order: OrderOf) -> FillNews:
    block = uow.blocks.get(company_id, fill.block_id)
    assert block is not None and fill.id is not None
    instrument = uow.instruments.get(block.instrument_id)
    assert instrument is not None
    earlier = [f for f in uow.blocks.fills(fill.block_id) if f.sequence <= fill.sequence]
    quantity = sum((f.quantity for f in earlier), ZERO)
    notional = sum((f.quantity * f.price for f in earlier), ZERO)
    average = (notional / quantity).quantize(PRICE_PLACES, ROUND_HALF_EVEN) if quantity else ZERO
    return FillNews(
        fill_id=fill.id,
        block_id=fill.block_id,
        cl_ord_id=order.cl_ord_id,
        side=block.side,
        symbol=instrument.symbol,
        order_quantity=block.ordered_quantity,
        quantity=fill.quantity,
        price=fill.price,
        cumulative=quantity,
        average_price=average,
        executed_at=fill.executed_at,
    )


def _allocation_news(
    uow: UnitOfWork, allocation_id: int, row: AllocationRow, orders: dict[int, OrderOf]
) -> AllocationNews:
    """An allocation of a FIX block order carries the order's AllocID; any other allocation
    (a subscribed session's) its block's id, or its own id when it has no block."""
    order = orders.get(row.block_id) if row.block_id is not None else None
    instrument = uow.instruments.get(row.instrument_id)
    assert instrument is not None
    alloc_id = order.alloc_id if order else str(row.block_id or allocation_id)
    return AllocationNews(
        alloc_id=alloc_id,
        side=row.side,
        symbol=instrument.symbol,
        trade_date=row.trade_date,
        settlement_date=row.settlement_date,
        report=Report(
            allocation_id,
            row.account_id,
            row.quantity,
            row.price,
            row.commission,
            row.tax,
            row.other_fees,
            row.net_amount,
            settlement_date=row.settlement_date,
        ),
    )
