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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from allotment.domain.accounts import Account
from allotment.domain.instruments import Instrument
from allotment.domain.ledger import (
    AssetKind,
    BookingCode,
    JournalEntry,
    LedgerState,
    Posting,
    keys_of,
)
from allotment.domain.numbers import ZERO, round_money
from allotment.services.clearing import ensure_open
from allotment.services.context import Context
from allotment.services.ports import BlockRecord, UnitOfWork
from allotment.services.saxo import repository
from allotment.services.saxo_fill_plan import Pricing
from allotment.services.saxo_records import BlockOrder, Holder


@dataclass(frozen=True, slots=True)
class Desk:
    """The accounts every booking of the fill touches besides the participants."""

    average: Account
    error: Account
    fee: Account
    instrument: Instrument


def adjust(
    uow: UnitOfWork,
    ctx: Context,
    block: BlockRecord,
    order: BlockOrder,
    desk: Desk,
    pricing: Pricing,
    holders: Sequence[Holder],
    accounts: Mapping[str, Account],
) -> None:
    """Bring every holder to the running average price, then book the residue (see the module
    docstring). A holder whose adjustment a ledger rule refuses keeps what it paid; the
    residue then carries the difference to the error account."""
    sign = Decimal(1) if block.side == "Buy" else Decimal(-1)
    planned = [p for p in (_adjustment(h, desk, pricing, sign) for h in holders) if p]
    residue_keys = _residue_entry(desk, pricing, sign, Decimal(1)).postings
    every = {**accounts, desk.average.id: desk.average, desk.error.id: desk.error}
    keys = keys_of([entry for _, entry, _, _ in planned]) | {p.key for p in residue_keys}
    state = LedgerState(every, uow.ledger.lock_balances(sorted(keys)))
    written: list[JournalEntry] = []
    for holder, entry, owed, cost in planned:
        if state.apply(entry) is BookingCode.OK:
            holder.paid_amount = owed
            holder.cost_amount = cost
            written.append(entry)
    residue = block.filled_notional - sum((h.paid_amount for h in holders), ZERO)
    if residue != order.residue_amount:
        entry = _residue_entry(desk, pricing, sign, residue - order.residue_amount)
        state.force(entry)
        written.append(entry)
        repository(uow).set_residue(order.block_id, residue)
    if not written:
        return
    ensure_open(uow, ctx.company_id, ctx.today)
    uow.ledger.add_entries(
        ctx.company_id, written, ctx.today, ctx.now, ctx.principal.subject, ctx.dialect
    )
    uow.ledger.write_balances({key: state.balances[key] for key in state.touched})


def _adjustment(
    holder: Holder, desk: Desk, pricing: Pricing, sign: Decimal
) -> tuple[Holder, JournalEntry, Decimal, Decimal] | None:
    """The entry bringing one holder to the average price, with its new paid and cost."""
    if not holder.held_quantity:
        return None
    average = pricing.average_price
    owed = round_money(holder.held_quantity * average)
    cost = holder.held_quantity * average if sign > 0 else holder.cost_amount
    cash = owed - holder.paid_amount
    if not cash and cost == holder.cost_amount:
        return None
    currency, asset = pricing.currency, str(desk.instrument.id)
    postings: list[Posting] = []
    if cash:
        postings.append(Posting(holder.account_id, AssetKind.CASH, currency, -sign * cash))
        postings.append(Posting(desk.average.id, AssetKind.CASH, currency, sign * cash))
    if cost != holder.cost_amount:
        # The block's shares given back at their booked cost and taken again at the average.
        held = holder.held_quantity
        postings.append(Posting(holder.account_id, AssetKind.SECURITY, asset, -held))
        postings.append(Posting(holder.account_id, AssetKind.SECURITY, asset, held, average))
    entry = JournalEntry(
        "price_adjustment",
        tuple(postings),
        f"average price {average} of block {holder.block_id}",
    )
    return holder, entry, owed, cost


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
