"""Saxo block orders after placement: the precheck of an order (`POST /trade/v2/orders/precheck`),
an open order as the portfolio service shows it (`GET /port/v1/orders/{ClientKey}/{OrderId}`)
and cancelling orders (`DELETE /trade/v2/orders/{OrderIds}`).

Saxo's portfolio service lists *open* orders only: a block order is open until it is completely
filled or cancelled. Cancelling an order cancels what is not filled yet; what was filled stays
allocated by the key, as booked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from allotment.domain.accounts import Account
from allotment.domain.errors import AllotmentError, NotFound, RuleViolation
from allotment.domain.identity import Scope
from allotment.domain.instruments import Instrument
from allotment.services.context import Context, record
from allotment.services.ports import BlockRecord, UnitOfWork
from allotment.services.saxo.accounts import master_client_key
from allotment.services.saxo.keys import key_view, repository
from allotment.services.saxo.orders import OrderDraft, check_block_order
from allotment.services.saxo.records import BlockOrder

OPEN_STATUSES = frozenset({"open"})
MAX_CANCEL = 100
"""Order ids one cancel may name."""


class OrderNotFound(NotFound):
    """Saxo's OrderNotFound: no open order with this id on this account."""

    code = "OrderNotFound"


@dataclass(frozen=True, slots=True)
class Precheck:
    """The precheck's verdict: None when the order can be placed, else the refusal."""

    refusal: AllotmentError | None
    currency: str | None = None
    estimated_cash: Decimal | None = None


def precheck(
    uow: UnitOfWork, ctx: Context, draft: OrderDraft, price: Decimal | None = None
) -> Precheck:
    """Run every check of placing the order, write nothing. With a price, the cash the order
    needs (Amount × price, in the instrument's currency) is estimated."""
    try:
        checked = check_block_order(uow, ctx, draft)
    except (RuleViolation, NotFound) as refusal:
        return Precheck(refusal)
    currency = checked.instrument.currency
    return Precheck(None, currency, draft.amount * price if price is not None else None)


@dataclass(frozen=True, slots=True)
class OpenOrder:
    block: BlockRecord
    order: BlockOrder
    account: Account
    instrument: Instrument
    client_key: str


def open_order(uow: UnitOfWork, ctx: Context, client_key: str, order_id: str) -> list[OpenOrder]:
    """The client's open order with this id: one row, or none when the id names no open
    block order of the client (Saxo answers an empty list then). Block orders are placed on
    the company's block trading accounts, which belong to the master client."""
    ctx.require(Scope.READ)
    master = master_client_key(ctx.company_id)
    if client_key != master:
        if uow.accounts.client_by_key(ctx.company_id, client_key) is None:
            raise NotFound(f"ClientKey {client_key} is unknown", client_key=client_key)
        return []
    found = _block_order(uow, ctx, order_id, lock=False)
    if found is None or found[0].status not in OPEN_STATUSES:
        return []
    block, order = found
    account = uow.accounts.account(block.account_id)
    instrument = uow.instruments.get(block.instrument_id)
    assert account is not None and instrument is not None
    return [OpenOrder(block, order, account, instrument, master)]


def cancel_orders(
    uow: UnitOfWork, ctx: Context, order_ids: Sequence[str], account_key: str
) -> list[str]:
    """Cancel these open block orders of the account, all or none; answers their ids."""
    ctx.require(Scope.WRITE)
    account = uow.accounts.account_by_key(account_key)
    if account is None or account.company_id != ctx.company_id:
        raise RuleViolation(
            f"AccountKey {account_key} is unknown",
            field="AccountKey",
            trading_error="IllegalAccount",
        )
    cancelled: list[str] = []
    for order_id in order_ids:
        found = _block_order(uow, ctx, order_id, lock=True)
        if found is None or found[0].account_id != account.id:
            raise OrderNotFound(f"no order {order_id} on account {account_key}", order_id=order_id)
        block = found[0]
        if block.status == "filled":
            raise RuleViolation(
                f"order {order_id} is filled: too late to cancel it",
                field="OrderIds",
                trading_error="TooLateToCancelOrder",
            )
        if block.status not in OPEN_STATUSES:
            raise OrderNotFound(f"order {order_id} is not open: it is {block.status}")
        before = block.status
        block.status = "cancelled"
        uow.blocks.update(block)
        record(
            uow,
            ctx,
            "block_order.cancelled",
            "block",
            block.id,
            before={"status": before, "filled_quantity": block.filled_quantity},
            after={"status": block.status},
        )
        cancelled.append(order_id)
    return cancelled


def _block_order(
    uow: UnitOfWork, ctx: Context, order_id: str, *, lock: bool
) -> tuple[BlockRecord, BlockOrder] | None:
    """A block order of the caller's company by its OrderId text, or None; Forbidden when the
    caller may not act for every participant of its key."""
    if not order_id.isdigit() or not 0 < int(order_id) < 2**62:
        return None
    block = uow.blocks.get(ctx.company_id, int(order_id), lock=lock)
    if block is None:
        return None
    order = repository(uow).block_order(int(order_id))
    if order is None:
        return None
    # As for placing: only a caller who may act for every participant of the order's key.
    key_view(uow, ctx, str(order.key_id), clients=False)
    return block, order
