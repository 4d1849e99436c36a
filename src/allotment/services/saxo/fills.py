"""Allocating each fill of a Saxo block order as it arrives, booked in bulk on the ledger.

Per fill, in one unit of work (the fill's own):

1. The engine's partial-fill allocation (`allocate_fill`, ProRata or the key's Priority) gives
   each participant its part, against what earlier fills gave it.
2. `saxo/fill_plan` checks what each can take (MarginHandling Reduce or Reject).
3. One `booking.book` call books every part at the fill's price, with each client's fees;
   what a participant could not take, what a failed booking left, and any over-fill go to the
   key's error account (a second call only if a booking failed).
4. Average pricing: every holder's cash for the block is brought to `round(held × average
   price)` and its position's cost to `held × average price` by one adjustment entry (cash
   between the holder and the average account; on a buy, the shares restated at the average
   price). What rounding leaves between the block's notional and what the holders paid moves
   between the average account and the error account (the residue). So after each fill every
   participant has paid the block's running average price, to the cent, and the average
   account is flat in cash for the block.

Every step decides on the fill's journal (services.journal): the accounts are locked once,
with the fill's own, and the balances written once, when the fill is done (services.blocks).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from fractions import Fraction

from allotment.domain.accounts import Account, AccountRole
from allotment.domain.allocation.fillcore import priority_fill, pro_rata_fill
from allotment.domain.allocation.fills import FillPolicy
from allotment.domain.allocation.model import RemainderPolicy
from allotment.domain.errors import RuleViolation
from allotment.domain.instruments import Instrument
from allotment.domain.ledger import BookingCode, cash_key, security_key
from allotment.domain.numbers import ZERO, round_money
from allotment.services import blocks, fairness
from allotment.services.context import Context, record
from allotment.services.fairness.intent import record_adjustments
from allotment.services.journal import Journal
from allotment.services.journal.book import book
from allotment.services.journal.requests import BookingRequest, FairnessNote
from allotment.services.ports import BlockRecord, FillRecord, UnitOfWork
from allotment.services.registry import house_account
from allotment.services.saxo.fair_fill import fair_fill, fill_notes, policy_used
from allotment.services.saxo.fees import schedules_for
from allotment.services.saxo.fill_plan import Part, Pricing, plan_parts
from allotment.services.saxo.keys import repository
from allotment.services.saxo.pricing import Desk, adjust
from allotment.services.saxo.records import BlockOrder, Holder

DIALECT = "saxo"


@dataclass(frozen=True, slots=True)
class SaxoFill:
    """One fill of a block order about to be allocated: what was read before the locks."""

    uow: UnitOfWork
    ctx: Context
    block: BlockRecord
    order: BlockOrder
    desk: Desk
    holders: list[Holder]

    @property
    def account_ids(self) -> list[str]:
        """Every account the allocation books on (locked with the fill's, in one statement)."""
        desk = self.desk
        return [
            *(holder.account_id for holder in self.holders),
            desk.average.id,
            desk.error.id,
            desk.fee.id,
        ]

    def allocate(
        self, journal: Journal, fill: FillRecord, remainder_policy: RemainderPolicy | None = None
    ) -> None:
        """Allocate and book the fill on the journal's balances (see the module docstring);
        `remainder_policy`, the fill request's, overrides the order's."""
        _allocate(self, journal, fill, policy_used(self.order, remainder_policy))


def prepare(uow: UnitOfWork, ctx: Context, block: BlockRecord, order: BlockOrder) -> SaxoFill:
    """Read what allocating a fill of the block order needs, before anything is locked."""
    assert block.id is not None
    ctx = replace(ctx, dialect=DIALECT)
    return SaxoFill(
        uow, ctx, block, order, _desk(uow, ctx, block, order), repository(uow).holders(block.id)
    )


def _allocate(work: SaxoFill, journal: Journal, fill: FillRecord, policy: RemainderPolicy) -> None:
    uow, ctx, block, order, desk = work.uow, work.ctx, work.block, work.order, work.desk
    assert block.id is not None
    buying = block.side == "Buy"
    holders = work.holders
    accounts, balances = _fill_state(journal, holders, desk, buying)
    error_holder = _error_holder(holders, order)
    participants = [h for h in holders if not h.is_error_account]
    average_price = blocks.average_price(block)
    assert average_price is not None
    pricing = Pricing(
        block.side,
        fill.price,
        average_price,
        desk.instrument.quantity_increment,
        desk.instrument.currency,
    )
    wanted, overfill = _engine_parts(work, participants, fill, policy)
    clients = {accounts[h.account_id].client_id for h, _ in wanted}
    parts = plan_parts(
        pricing,
        wanted,
        accounts,
        _available(buying, [h.account_id for h, _ in wanted], accounts, balances),
        schedules_for(uow, ctx.company_id, {c for c in clients if c is not None}),
        order.margin_handling,
    )
    notes = _note_targets(parts, participants, fill, order, policy)
    to_error = _book_parts(work, journal, fill, parts, overfill, error_holder, accounts)
    _record_nothing_given(uow, ctx, (desk.instrument, fill.price, block.id), parts, notes)
    record_adjustments(uow, ctx, fill, parts, (overfill, order.error_account_id))
    holding = [*participants, error_holder] if error_holder.held_quantity else participants
    adjust(uow, ctx, block, order, desk, pricing, holding, journal)
    # The holders before the block: on PostgreSQL their rows join the writes still queued,
    # and the block's small update is the first statement to wait for them all.
    repository(uow).save_holders(holding)
    block.allocated_quantity += fill.quantity
    uow.blocks.update(block)
    record(
        uow,
        ctx,
        "block.fill_allocated",
        "block",
        block.id,
        after={
            "fill": fill.sequence,
            "quantity": fill.quantity,
            "price": fill.price,
            "average_price": average_price,
            "remainder_policy": policy.value,
            "participants_booked": sum(1 for part in parts if part.quantity),
            "to_error_account": to_error,
            "reduced": sum(1 for part in parts if part.diverted),
        },
    )


def _note_targets(
    parts: Sequence[Part],
    participants: Sequence[Holder],
    fill: FillRecord,
    order: BlockOrder,
    policy: RemainderPolicy,
) -> dict[str, FairnessNote]:
    """Each participant's exact target of this fill, for the fairness ledger: the fill pro
    rata to the exact targets of the key's split (`fair_fill.fill_notes`), with the policy
    used. Set on each part, booked with it."""
    notes = fill_notes(participants, Fraction(fill.quantity), order, policy)
    for part in parts:
        part.fairness = notes.get(part.holder.account_id)
    return notes


def _record_nothing_given(
    uow: UnitOfWork,
    ctx: Context,
    allocation: tuple[Instrument, Decimal, int | None],
    parts: Sequence[Part],
    notes: Mapping[str, FairnessNote],
) -> None:
    """The participants with a target whose part of the fill was nothing (too small to split,
    reduced to nothing, or refused by the ledger) are recorded as given nothing."""
    booked = {part.holder.account_id for part in parts if part.quantity}
    missing = [(account_id, note) for account_id, note in notes.items() if account_id not in booked]
    fairness.record_nothing_given(uow, ctx, allocation, missing)


def _fill_state(
    journal: Journal, holders: Sequence[Holder], desk: Desk, buying: bool
) -> tuple[Mapping[str, Account], dict[str, Decimal]]:
    """The accounts (locked by the fill, with the desk's) and what each holder holds of what
    the fill takes from it (cash on a buy, the position on a sale), from the journal's
    balances: the booking decides on the same ones, and the desk's are read with them."""
    instrument = desk.instrument
    account_ids = [holder.account_id for holder in holders]
    keys = (
        [cash_key(account_id, instrument.currency) for account_id in account_ids]
        if buying
        else [security_key(account_id, instrument.id) for account_id in account_ids]
    )
    desk_ids = [desk.average.id, desk.error.id, desk.fee.id]
    desk_keys = [cash_key(account_id, instrument.currency) for account_id in desk_ids]
    found = journal.balances(journal.accounts, [*keys, *desk_keys]).balances
    return (
        journal.accounts,
        {key.account_id: found[key].quantity for key in keys if key in found},
    )


def _desk(uow: UnitOfWork, ctx: Context, block: BlockRecord, order: BlockOrder) -> Desk:
    instrument = uow.instruments.get(block.instrument_id)
    assert instrument is not None
    found = uow.accounts.accounts_by_ids([block.account_id, order.error_account_id])
    return Desk(
        average=found[block.account_id],
        error=found[order.error_account_id],
        fee=house_account(uow, ctx.company_id, AccountRole.FEE),
        instrument=instrument,
    )


def _error_holder(holders: Sequence[Holder], order: BlockOrder) -> Holder:
    for holder in holders:
        if holder.is_error_account:
            return holder
    return Holder(
        block_id=order.block_id,
        account_id=order.error_account_id,
        position=len(holders),
        target_quantity=ZERO,
        is_error_account=True,
        is_new=True,
    )


def _engine_parts(
    work: SaxoFill, participants: Sequence[Holder], fill: FillRecord, policy: RemainderPolicy
) -> tuple[list[tuple[Holder, Decimal]], Decimal]:
    """The engine's part of this fill for each participant (non-zero ones), and the over-fill.

    This is `fills.allocate_fill` on the engine's integer core directly: the quantities are
    whole increments already (targets come from the engine's split, allocations are sums of
    its parts), and converting 100,000 of them through Fractions would cost a second. Under
    `Fair` what the whole targets can take is shared by `fair_fill` instead.
    """
    order, instrument = work.order, work.desk.instrument
    increment = instrument.quantity_increment
    targets = [_steps(h.target_quantity, increment) for h in participants]
    held = [_steps(h.allocated_quantity, increment) for h in participants]
    fill_steps = _steps(fill.quantity, increment)

    def tie_key(index: int) -> tuple[int, int, str]:
        holder = participants[index]
        return (0 if holder.accepts_remainder else 1, holder.priority, holder.account_id)

    if order.fill_policy is FillPolicy.PRIORITY:
        priorities = [h.priority for h in participants]
        given, over = priority_fill(targets, held, fill_steps, priorities, tie_key)
    elif policy is RemainderPolicy.FAIR:
        usable = max(0, min(fill_steps, sum(targets) - sum(held)))
        context = (work.ctx.company_id, instrument.id, str(order.key_id))
        given = fair_fill(work.uow, context, participants, usable, tie_key)
        over = fill_steps - usable
    else:
        given, over = pro_rata_fill(targets, held, fill_steps, tie_key)
    wanted = [
        (holder, Decimal(count) * increment)
        for holder, count in zip(participants, given, strict=True)
        if count
    ]
    return wanted, Decimal(over) * increment


def _steps(quantity: Decimal, increment: Decimal) -> int:
    count = quantity if increment == 1 else quantity / increment
    steps = int(count) if count.is_finite() else None
    if steps is None or count != steps:
        raise RuleViolation(f"{quantity} is not a whole number of increments of {increment}")
    return steps


def _available(
    buying: bool,
    account_ids: Sequence[str],
    accounts: Mapping[str, Account],
    balances: Mapping[str, Decimal],
) -> dict[str, Decimal]:
    """Cash above each account's floor (a buy) or its position (a sale), as read under lock:
    the booking decides on the same balances, so a part planned as affordable is booked, and
    a refusal (its part going to the error account) stays a safeguard."""
    available: dict[str, Decimal] = {}
    for account_id in account_ids:
        amount = balances.get(account_id, ZERO)
        available[account_id] = amount - accounts[account_id].cash_floor if buying else amount
    return available


def _book_parts(
    work: SaxoFill,
    journal: Journal,
    fill: FillRecord,
    parts: Sequence[Part],
    overfill: Decimal,
    error_holder: Holder,
    accounts: Mapping[str, Account],
) -> Decimal:
    """Book the parts in one call, the error account's share with them; returns what went to
    the error account."""
    uow, ctx, block, desk = work.uow, work.ctx, work.block, work.desk
    taking = [part for part in parts if part.quantity]
    to_error = sum((part.diverted for part in parts), overfill)
    comment = f"Saxo block order {block.id}, fill {fill.sequence}"
    requests = [
        _request(block, fill, desk, accounts[part.holder.account_id], part, comment)
        for part in taking
    ]
    if to_error:
        requests.append(_error_request(block, fill, desk, to_error))
    outcomes = book(uow, ctx, requests, journal=journal)
    refused = ZERO
    for part, outcome in zip(taking, outcomes, strict=False):
        if outcome.code is BookingCode.OK:
            _took(part.holder, part.quantity, fill.price, part)
        else:
            part.reason = outcome.code.value
            refused += part.quantity
            part.quantity = ZERO
    for part in parts:
        part.holder.allocated_quantity += part.wanted
    if to_error:
        _require_booked(outcomes[-1].code, desk, to_error)
    if refused:
        # A participant whose booking failed (SPEC §4.2): its part goes to the error account.
        [outcome] = book(uow, ctx, [_error_request(block, fill, desk, refused)], journal=journal)
        _require_booked(outcome.code, desk, refused)
    if to_error + refused:
        _took(error_holder, to_error + refused, fill.price, None)
        error_holder.allocated_quantity += to_error + refused
    return to_error + refused


def _request(
    block: BlockRecord, fill: FillRecord, desk: Desk, account: Account, part: Part, comment: str
) -> BookingRequest:
    return BookingRequest(
        client=account,
        counterparty=desk.average,
        instrument=desk.instrument,
        side=block.side,
        quantity=part.quantity,
        price=fill.price,
        commission=part.commission,
        tax=part.tax,
        other_fees=part.other_fees,
        fee_account=desk.fee,
        comment=comment,
        block_id=block.id,
        fairness=part.fairness,
    )


def _error_request(
    block: BlockRecord, fill: FillRecord, desk: Desk, quantity: Decimal
) -> BookingRequest:
    return BookingRequest(
        client=desk.error,
        counterparty=desk.average,
        instrument=desk.instrument,
        side=block.side,
        quantity=quantity,
        price=fill.price,
        comment=f"Saxo block order {block.id}, fill {fill.sequence}: to the error account",
        block_id=block.id,
    )


def _require_booked(code: BookingCode, desk: Desk, quantity: Decimal) -> None:
    if code is not BookingCode.OK:
        raise RuleViolation(
            f"the fill cannot be allocated: booking {quantity} to the error account "
            f"{desk.error.id} was refused ({code.value})",
            result=code.value,
        )


def _took(holder: Holder, quantity: Decimal, price: Decimal, part: Part | None) -> None:
    holder.held_quantity += quantity
    holder.paid_amount += round_money(quantity * price)
    holder.cost_amount += quantity * price
    if part is not None:
        holder.commission += part.commission
        holder.tax += part.tax
        holder.other_fees += part.other_fees
