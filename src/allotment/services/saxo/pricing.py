"""Average pricing of a Saxo block order, fill by fill (see saxo_fills).

Each fill's parts are booked at the fill's price. Then every holder of the block (participants
and the error account) is brought to the block's running average price: its cash for the block
to `round(held × average)` (half-even, to the cent, the ledger's rounding point) and, on a buy,
its position's cost to `held × average` (the block's shares given back at their booked cost and
taken again at the average price, in the same entry). What rounding leaves between the block's
notional and what the holders paid is the residue: it moves between the average account and
the error account, so that the average account ends flat in cash for the block.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from operator import attrgetter

from allotment.domain.accounts import Account
from allotment.domain.instruments import Instrument
from allotment.domain.ledger import (
    COST_UNIT,
    AssetKind,
    BookingCode,
    JournalEntry,
    LedgerState,
    Posting,
    cash_key,
    security_key,
)
from allotment.domain.numbers import ZERO, round_money
from allotment.services.clearing import open_session
from allotment.services.context import Context
from allotment.services.journal import Journal
from allotment.services.ports import BlockRecord, UnitOfWork
from allotment.services.saxo.fill_plan import Pricing
from allotment.services.saxo.keys import repository
from allotment.services.saxo.records import BlockOrder, Holder

_PAID = attrgetter("paid_amount")


@dataclass(frozen=True, slots=True)
class Desk:
    """The accounts every booking of the fill touches besides the participants."""

    average: Account
    error: Account
    fee: Account
    instrument: Instrument


@dataclass(frozen=True, slots=True)
class _Target:
    """What one holder should have paid and what its block shares should cost."""

    holder: Holder
    owed: Decimal
    cost: Decimal

    @property
    def cash(self) -> Decimal:
        return self.owed - self.holder.paid_amount

    @property
    def restated(self) -> bool:
        return self.cost != self.holder.cost_amount


def adjust(
    uow: UnitOfWork,
    ctx: Context,
    block: BlockRecord,
    order: BlockOrder,
    desk: Desk,
    pricing: Pricing,
    holders: Sequence[Holder],
    journal: Journal,
) -> None:
    """Bring every holder to the running average price, then book the residue (see the module
    docstring). A holder whose adjustment a ledger rule refuses keeps what it paid; the
    residue then carries the difference to the error account."""
    sign = Decimal(1) if block.side == "Buy" else Decimal(-1)
    targets = [t for t in (_target(h, pricing, sign) for h in holders) if t]
    keys = {p.key for p in _residue_entry(desk, pricing, sign, Decimal(1)).postings}
    for target in targets:
        account_id = target.holder.account_id
        keys.add(cash_key(account_id, pricing.currency))
        if target.restated:
            keys.add(security_key(account_id, desk.instrument.id))
    state = journal.balances({desk.average.id: desk.average, desk.error.id: desk.error}, keys)
    written: list[JournalEntry] = []
    for target in targets:
        entry = _adjustment(target, desk, pricing, sign, state)
        if state.apply(entry) is BookingCode.OK:
            target.holder.paid_amount = target.owed
            target.holder.cost_amount = target.cost
            written.append(entry)
    residue = block.filled_notional - sum(map(_PAID, holders), ZERO)
    if residue != order.residue_amount:
        entry = _residue_entry(desk, pricing, sign, residue - order.residue_amount)
        state.force(entry)
        written.append(entry)
        repository(uow).set_residue(order.block_id, residue)
    if not written:
        return
    ctx = open_session(uow, ctx)
    uow.ledger.add_entries(
        ctx.company_id, written, ctx.today, ctx.now, ctx.principal.subject, ctx.dialect
    )


def _target(holder: Holder, pricing: Pricing, sign: Decimal) -> _Target | None:
    """None when the holder is at the average price already (or holds nothing)."""
    if not holder.held_quantity:
        return None
    average = pricing.average_price
    owed = round_money(holder.held_quantity * average)
    # A sale's proceeds change; the seller's remaining position keeps its cost.
    cost = holder.held_quantity * average if sign > 0 else holder.cost_amount
    if owed == holder.paid_amount and cost == holder.cost_amount:
        return None  # the common case, decided before building a target for it
    return _Target(holder, owed, cost)


def _adjustment(
    target: _Target, desk: Desk, pricing: Pricing, sign: Decimal, state: LedgerState
) -> JournalEntry:
    """The entry bringing one holder to the average price."""
    holder, cash = target.holder, target.cash
    currency, asset = pricing.currency, str(desk.instrument.id)
    postings: list[Posting] = []
    if cash:
        postings.append(Posting(holder.account_id, AssetKind.CASH, currency, -sign * cash))
        postings.append(Posting(desk.average.id, AssetKind.CASH, currency, sign * cash))
    if target.restated:
        postings.extend(_restatement(target, asset, state))
    return JournalEntry(
        "price_adjustment",
        tuple(postings),
        f"average price {pricing.average_price} of block {holder.block_id}",
    )


def _restatement(target: _Target, asset: str, state: LedgerState) -> list[Posting]:
    """The position given back and taken again at the price that makes its cost move by
    exactly what the block's shares' cost moves (the ledger keeps average costs). When the
    block's shares are the whole position, that price is the block's average price itself."""
    holder = target.holder
    position = state.balance(security_key(holder.account_id, int(asset)))
    whole = position.quantity
    if whole <= 0:
        return []
    if whole == holder.held_quantity:
        price = target.cost / whole
    else:
        new_cost = position.cost_amount + target.cost - holder.cost_amount
        price = (new_cost / whole).quantize(COST_UNIT, rounding=ROUND_HALF_EVEN)
    return [
        Posting(holder.account_id, AssetKind.SECURITY, asset, -whole),
        Posting(holder.account_id, AssetKind.SECURITY, asset, whole, price),
    ]


def _residue_entry(desk: Desk, pricing: Pricing, sign: Decimal, amount: Decimal) -> JournalEntry:
    currency = pricing.currency
    return JournalEntry(
        "price_residue",
        (
            Posting(desk.average.id, AssetKind.CASH, currency, sign * amount),
            Posting(desk.error.id, AssetKind.CASH, currency, -sign * amount),
        ),
        "cash residue of average pricing",
    )
