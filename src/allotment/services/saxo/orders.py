"""Saxo block orders: an order placed on a block trading (average) account with an allocation
key (`POST /trade/v2/orders`), allocated to the key's participants as its fills arrive.

A block order is a block (services.blocks) plus the key's rules as they were when it was
placed and each participant's target: the engine's split of the ordered amount by the key. A
one-time key (OneTime, DeactivateAfterOrderPlacement) becomes Inactive once its order is placed.
Fills come through the native API (`POST /api/v1/blocks/{id}/fills`); `allocates_fills` is the
listener the entry points hand to services.blocks for each one.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import Any

from allotment.domain.accounts import Account, AccountRole
from allotment.domain.allocation.exact import fraction_text, round_fraction
from allotment.domain.allocation.model import RemainderPolicy
from allotment.domain.allocation.result import SplitResult
from allotment.domain.errors import InvalidInstruction, NotFound, RuleViolation
from allotment.domain.identity import Scope
from allotment.domain.instruments import Instrument
from allotment.services import blocks
from allotment.services.context import Context, record
from allotment.services.ports import BlockRecord, UnitOfWork
from allotment.services.saxo import fills as saxo_fills
from allotment.services.saxo.keys import (
    MAX_EXTERNAL_REFERENCE,
    AllocationKeyNotFound,
    deactivate,
    key_view,
    repository,
    split_key,
)
from allotment.services.saxo.records import (
    USABLE_STATUSES,
    AllocationKey,
    BlockOrder,
    Holder,
    KeyStatus,
    UnitType,
)

ONE_TIME_STATUSES = frozenset({KeyStatus.ONE_TIME, KeyStatus.DEACTIVATE_AFTER_ORDER})
UNIT_TOLERANCE = Decimal("1e-9")
DETAIL_ROWS = 1000
PLACES = 6


@dataclass(frozen=True, slots=True)
class OrderDraft:
    account_key: str
    uic: int
    asset_type: str
    buy_sell: str
    amount: Decimal
    order_type: str
    allocation_key_id: str
    external_reference: str | None = None


@dataclass(frozen=True, slots=True)
class CheckedOrder:
    """What an order names, found and checked: its block trading account, instrument and key."""

    account: Account
    instrument: Instrument
    key: AllocationKey


def check_block_order(
    uow: UnitOfWork, ctx: Context, draft: OrderDraft, *, lock: bool = False
) -> CheckedOrder:
    """Every check of a block order, nothing written (the precheck runs exactly these).

    A refusal carries Saxo's TradingErrorCode as `trading_error` where Saxo documents one
    (IllegalAccount, IllegalInstrumentId, AllocationKeyNotFound,
    AllocationKeyDoesNotMatchAccount, AmountLowerThanAllocationKeyUnits)."""
    ctx.require(Scope.WRITE)
    reference = draft.external_reference
    if reference is not None and len(reference) > MAX_EXTERNAL_REFERENCE:
        raise InvalidInstruction(
            f"ExternalReference may have at most {MAX_EXTERNAL_REFERENCE} characters",
            field="ExternalReference",
        )
    account = _block_trading_account(uow, ctx, draft.account_key)
    instrument = uow.instruments.by_uic(draft.uic, draft.asset_type)
    if instrument is None:
        raise RuleViolation(
            f"no instrument has Uic {draft.uic} and AssetType {draft.asset_type}",
            field="Uic",
            trading_error="IllegalInstrumentId",
        )
    try:
        view = key_view(uow, ctx, draft.allocation_key_id, lock=lock, clients=False)
    except AllocationKeyNotFound as error:
        raise RuleViolation(
            error.message, field="AllocationKeyId", trading_error="AllocationKeyNotFound"
        ) from error
    _check_key_fits(view.key, view.is_valid, account.id, instrument, draft.buy_sell)
    _check_units_fit(view.key, draft.amount)
    return CheckedOrder(account, instrument, view.key)


def _block_trading_account(uow: UnitOfWork, ctx: Context, account_key: str) -> Account:
    account = uow.accounts.account_by_key(account_key)
    if account is None or account.company_id != ctx.company_id:
        raise RuleViolation(
            f"AccountKey {account_key} is unknown",
            field="AccountKey",
            trading_error="IllegalAccount",
        )
    if account.role is not AccountRole.AVERAGE:
        raise RuleViolation(
            f"AccountKey {account_key} is not a block trading account: block orders are "
            "placed on the average account that owns the allocation key",
            field="AccountKey",
            trading_error="IllegalAccount",
        )
    return account


def _check_units_fit(key: AllocationKey, amount: Decimal) -> None:
    """Saxo's AmountLowerThanAllocationKeyUnits: a Unit key's units must fit in the order.
    Units sent as JSON floats (100003 / 3 as 33334.333333333336) may exceed the amount by float
    noise; within UNIT_TOLERANCE they fit."""
    if key.unit_type is not UnitType.UNIT:
        return
    if key.total_unit_values - amount > UNIT_TOLERANCE:
        raise RuleViolation(
            f"the order's Amount {amount} is lower than the {key.total_unit_values} units of "
            f"allocation key {key.id}",
            field="Amount",
            trading_error="AmountLowerThanAllocationKeyUnits",
        )


def place_block_order(uow: UnitOfWork, ctx: Context, draft: OrderDraft) -> BlockRecord:
    """Record the block order and its participants' targets; answers the block (OrderId)."""
    checked = check_block_order(uow, ctx, draft, lock=True)
    key = checked.key
    block = blocks.create_block(
        uow,
        ctx,
        account_id=checked.account.id,
        instrument=checked.instrument,
        side=draft.buy_sell,
        quantity=draft.amount,
        allocation_key_id=str(key.id),
        listeners=(),
    )
    attach(uow, ctx, block, key, checked.instrument, draft.order_type, draft.external_reference)
    if key.status in ONE_TIME_STATUSES:
        deactivate(uow, ctx, key, "allocation_key.deactivated")
    return block


def _check_key_fits(
    key: AllocationKey, is_valid: bool, account_id: str, instrument: Instrument, side: str
) -> None:
    if key.status not in USABLE_STATUSES:
        raise RuleViolation(
            f"allocation key {key.id} is {key.status.value}",
            field="AllocationKeyId",
            trading_error="AllocationKeyNotFound",
        )
    if not is_valid:
        raise RuleViolation(
            f"allocation key {key.id} is not valid: one of its participant accounts is closed",
            field="AllocationKeyId",
        )
    if key.owner_account_id != account_id:
        raise RuleViolation(
            f"allocation key {key.id} belongs to another account than the order's",
            error_code="AllocationKeyDoesNotMatchAccount",
            field="AccountKey",
        )
    if key.uic is not None and (key.uic, key.asset_type or instrument.asset_type) != (
        instrument.uic,
        instrument.asset_type,
    ):
        raise RuleViolation(
            f"allocation key {key.id} is for Uic {key.uic} ({key.asset_type}), not for the "
            f"order's Uic {instrument.uic} ({instrument.asset_type})",
            field="Uic",
        )
    if key.buy_sell is not None and key.buy_sell != side:
        raise RuleViolation(
            f"allocation key {key.id} is for {key.buy_sell} orders, not {side}", field="BuySell"
        )


def attach(
    uow: UnitOfWork,
    ctx: Context,
    block: BlockRecord,
    key: AllocationKey,
    instrument: Instrument,
    order_type: str,
    external_reference: str | None,
) -> BlockOrder:
    """The block becomes a block order of the key: each participant's target is the engine's
    split of the ordered quantity by the key."""
    assert block.id is not None and key.id is not None
    targets = split_key(key, block.ordered_quantity, instrument.quantity_increment)
    exact = _exact_texts(targets, instrument.quantity_increment)
    holders = [
        Holder(
            block_id=block.id,
            account_id=participant.account_id,
            position=position,
            target_quantity=quantity,
            priority=participant.priority,
            accepts_remainder=participant.accepts_remainder,
            exact_target=exact[position],
            is_new=True,
        )
        for position, (participant, quantity) in enumerate(
            zip(key.participants, targets.quantities, strict=True)
        )
    ]
    policy = key.remainder_policy
    if block.remainder_policy is not None:
        policy = RemainderPolicy(block.remainder_policy)
    order = BlockOrder(
        block_id=block.id,
        company_id=ctx.company_id,
        key_id=key.id,
        margin_handling=key.margin_handling,
        fill_policy=key.fill_policy,
        error_account_id=key.error_account_id,
        order_type=order_type,
        external_reference=external_reference,
        remainder_policy=policy,
    )
    repository(uow).add_block_order(order, holders)
    record(
        uow,
        ctx,
        "block_order.placed",
        "block",
        block.id,
        after={
            "allocation_key_id": key.id,
            "order_type": order_type,
            "participants": len(holders),
            "remainder_policy": policy.value,
        },
    )
    return order


def _exact_texts(targets: SplitResult, increment: Decimal) -> list[str]:
    """Each participant's exact target of the split as fraction text; participants sharing a
    pro rata weight share a target, worked out once."""
    plan, step = targets.plan, Fraction(increment)
    known: dict[int, str] = {}
    texts = []
    for index in range(len(targets.increments)):
        pooled = index not in plan.dropped and index not in plan.fixed_lots
        weight = int(plan.weights[index]) if pooled else -1
        text = known.get(weight) if pooled else None
        if text is None:
            text = fraction_text(plan.target_increments(index) * step)
            if pooled:
                known[weight] = text
        texts.append(text)
    return texts


def allocates_fills(
    uow: UnitOfWork, ctx: Context, block: BlockRecord
) -> saxo_fills.SaxoFill | None:
    """A fill listener (services.blocks): a block placed with an allocation key is allocated
    fill by fill; a native block naming a key becomes a block order at its first fill."""
    if block.allocation_key_id is None or block.id is None:
        return None
    order = repository(uow).block_order(block.id)
    if order is None:
        order = _attach_native_block(uow, ctx, block)
    return saxo_fills.prepare(uow, ctx, block, order)


def _attach_native_block(uow: UnitOfWork, ctx: Context, block: BlockRecord) -> BlockOrder:
    """A block created through the native API with an allocation key id becomes a block order
    at its first fill, under the same checks as an order placed through the Saxo API."""
    assert block.allocation_key_id is not None
    try:
        view = key_view(uow, ctx, block.allocation_key_id, lock=True, clients=False)
    except NotFound as error:
        raise RuleViolation(
            f"block {block.id} names allocation key {block.allocation_key_id}, which does not "
            "exist",
            field="allocation_key_id",
        ) from error
    instrument = uow.instruments.get(block.instrument_id)
    assert instrument is not None
    _check_key_fits(view.key, view.is_valid, block.account_id, instrument, block.side)
    order = attach(uow, ctx, block, view.key, instrument, "Market", None)
    if view.key.status in ONE_TIME_STATUSES:
        deactivate(uow, ctx, view.key, "allocation_key.deactivated")
    return order


def block_details(uow: UnitOfWork, ctx: Context, block: BlockRecord) -> dict[str, Any]:
    """Per participant of a block order: target, allocated so far, deviation from the exact
    pro rata share of what has been allocated, average price paid (for GET /blocks/{id})."""
    if block.id is None or block.allocation_key_id is None:
        return {}
    order = repository(uow).block_order(block.id)
    if order is None:
        return {}
    holders = repository(uow).holders(block.id)
    participants = [h for h in holders if not h.is_error_account]
    target_total = sum((h.target_quantity for h in participants), Decimal(0))
    allocated_total = sum((h.allocated_quantity for h in participants), Decimal(0))
    error = next((h for h in holders if h.is_error_account), None)
    return {
        "saxo": {
            "allocation_key_id": str(order.key_id),
            "margin_handling": order.margin_handling.value,
            "fill_policy": order.fill_policy.value,
            "remainder_policy": order.remainder_policy.value,
            "error_account_id": order.error_account_id,
            "error_account_quantity": _text(error.held_quantity if error else Decimal(0)),
            "residue_amount": _text(order.residue_amount),
            "participant_count": len(participants),
            "participants": [
                _participant(h, allocated_total, target_total) for h in participants[:DETAIL_ROWS]
            ],
        }
    }


def _participant(holder: Holder, allocated_total: Decimal, target_total: Decimal) -> dict[str, Any]:
    exact = (
        Fraction(allocated_total) * Fraction(holder.target_quantity) / Fraction(target_total)
        if target_total
        else Fraction(0)
    )
    deviation = Fraction(holder.allocated_quantity) - exact
    average = (
        round_fraction(
            Fraction(holder.paid_amount) / Fraction(holder.held_quantity), PLACES, ROUND_HALF_EVEN
        )
        if holder.held_quantity
        else None
    )
    return {
        "account_id": holder.account_id,
        "target_quantity": _text(holder.target_quantity),
        "allocated_quantity": _text(holder.allocated_quantity),
        "held_quantity": _text(holder.held_quantity),
        "deviation": _text(round_fraction(deviation, PLACES, ROUND_HALF_EVEN)),
        "average_price": _text(average) if average is not None else None,
        "paid_amount": _text(holder.paid_amount),
        "commission": _text(holder.commission),
        "tax": _text(holder.tax),
        "other_fees": _text(holder.other_fees),
    }


def _text(value: Decimal) -> str:
    return format(value, "f")
