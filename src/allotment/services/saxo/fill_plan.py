"""What each participant takes of one fill of a Saxo block order, decided in memory.

The engine's partial-fill allocation says what each participant should get; this module checks
what each can take. A participant's part of a fill is paid at the block's running average price
(the cash it owes is `round(held × average) - paid so far` plus the fees of its allocation so
far, see saxo_fills); an account that cannot pay for all of it (a buy) or does not hold the
shares (a sale) is a margin case:

* `Reduce`: the participant gets the largest quantity it can pay for (found by bisection, the
  cost growing with the quantity); the rest goes to the key's error account.
* `Reject`: the whole fill is refused (SPEC §4.2: "Reject refuses the whole fill").

A closed or unknown account is not a margin case: its part goes to the error account whatever
the rule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from allotment.domain.accounts import Account
from allotment.domain.allocation.exact import floor_steps, in_steps, steps_to_decimal
from allotment.domain.allocation.fees import FeeSchedule, Side, TradeAmounts, compute_fees
from allotment.domain.errors import RuleViolation
from allotment.domain.ledger import BookingCode
from allotment.domain.numbers import ZERO, round_money
from allotment.services.journal.requests import FairnessNote
from allotment.services.saxo.fees import charges_nothing
from allotment.services.saxo.records import Holder, MarginHandling

REDUCED = "Reduced"


@dataclass(frozen=True, slots=True)
class Pricing:
    side: str
    fill_price: Decimal
    average_price: Decimal
    """The block's average price after this fill (6 decimals, blocks.average_price)."""
    increment: Decimal
    currency: str


@dataclass(slots=True)
class Part:
    """One participant's share of this fill."""

    holder: Holder
    wanted: Decimal
    quantity: Decimal
    commission: Decimal = ZERO
    tax: Decimal = ZERO
    other_fees: Decimal = ZERO
    reason: str = ""
    """Why (some of) the part went to the error account: Reduced or a booking code."""
    fairness: FairnessNote | None = None
    """The part's exact pro rata target of the fill, for the fairness ledger."""

    @property
    def diverted(self) -> Decimal:
        return self.wanted - self.quantity


def plan_parts(
    pricing: Pricing,
    wanted: Sequence[tuple[Holder, Decimal]],
    accounts: Mapping[str, Account],
    available: Mapping[str, Decimal],
    schedules: Mapping[int, FeeSchedule],
    margin: MarginHandling,
) -> list[Part]:
    """Each participant's part of the fill; raises RuleViolation when `Reject` refuses it.

    `available` is, per account, the cash above its floor (a buy) or the position (a sale).
    """
    parts: list[Part] = []
    fees = _FeeCache(pricing)
    for holder, quantity in wanted:
        account = accounts.get(holder.account_id)
        if account is None or not account.is_open:
            parts.append(Part(holder, quantity, ZERO, reason=BookingCode.ACCOUNT_CLOSED.value))
            continue
        schedule = schedules.get(account.client_id) if account.client_id is not None else None
        if schedule is not None and charges_nothing(schedule):
            schedule = None
        part = _affordable(
            pricing, holder, quantity, available.get(account.id, ZERO), schedule, fees
        )
        if part.diverted and margin is MarginHandling.REJECT:
            raise RuleViolation(
                f"MarginHandling Reject: account {account.id} cannot take its {quantity} of "
                "this fill, so the whole fill is refused and nothing is booked",
                account_id=account.id,
                wanted=quantity,
                affordable=part.quantity,
            )
        parts.append(part)
    return parts


class _FeeCache:
    """The engine's fees of an allocation, computed once per (schedule, quantity): the
    participants of a block mostly share a schedule and often a quantity."""

    def __init__(self, pricing: Pricing) -> None:
        self.side = Side(pricing.side)
        self.price = pricing.average_price
        self.known: dict[tuple[int, Decimal], TradeAmounts] = {}
        """By schedule identity (hashing a schedule, a frozen dataclass, is a call into Python
        for every participant); the schedules outlive the cache in `plan_parts`' mapping."""

    def __call__(self, schedule: FeeSchedule, quantity: Decimal) -> TradeAmounts:
        key = (id(schedule), quantity)
        found = self.known.get(key)
        if found is None:
            found = compute_fees(self.side, quantity, self.price, schedule)
            self.known[key] = found
        return found


def _affordable(
    pricing: Pricing,
    holder: Holder,
    quantity: Decimal,
    available: Decimal,
    schedule: FeeSchedule | None,
    fees: _FeeCache,
) -> Part:
    if pricing.side == Side.SELL:
        held = max(ZERO, available)
        can = (
            quantity
            if held >= quantity
            else steps_to_decimal(floor_steps(held, pricing.increment), pricing.increment)
        )
        return _priced(holder, quantity, can, schedule, fees)
    full = _priced(holder, quantity, quantity, schedule, fees)
    if need(pricing, holder, full) <= available:
        return full
    steps = in_steps(quantity, pricing.increment) or 0
    low, high = 0, steps
    while low < high:
        middle = (low + high + 1) // 2
        trial = _priced(
            holder, quantity, steps_to_decimal(middle, pricing.increment), schedule, fees
        )
        if need(pricing, holder, trial) <= available:
            low = middle
        else:
            high = middle - 1
    return _priced(holder, quantity, steps_to_decimal(low, pricing.increment), schedule, fees)


def _priced(
    holder: Holder,
    wanted: Decimal,
    quantity: Decimal,
    schedule: FeeSchedule | None,
    fees: _FeeCache,
) -> Part:
    """The part with the fees it adds: the fees of the participant's whole allocation so far
    (at the average price) less what earlier fills charged, never negative."""
    part = Part(holder, wanted, quantity, reason=REDUCED if quantity < wanted else "")
    if schedule is None or quantity == 0:
        return part
    amounts = fees(schedule, holder.held_quantity + quantity)
    part.commission = max(ZERO, amounts.commission - holder.commission)
    part.tax = max(ZERO, amounts.tax - holder.tax)
    part.other_fees = max(ZERO, amounts.other_fees - holder.other_fees)
    return part


def need(pricing: Pricing, holder: Holder, part: Part) -> Decimal:
    """Cash the buyer pays for this fill: its allocation so far at the average price less
    what it paid before, plus the fees this part adds."""
    owed = round_money((holder.held_quantity + part.quantity) * pricing.average_price)
    return owed - holder.paid_amount + part.commission + part.tax + part.other_fees
