"""Commission, tax on commission, other fees and the net amount of one allocation.

Money is rounded to cents, ROUND_HALF_UP, at four named points, each on the figure the
client sees: the trade value, the commission, the tax (computed on the rounded commission,
as an Australian contract note states GST on the brokerage shown) and the other fees. The
net amount is then exact: trade value + fees for a buy, trade value - fees for a sale (FIX
``AllocNetMoney``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from allotment.domain.allocation.errors import InvalidPrice, InvalidQuantity
from allotment.domain.allocation.exact import ROUNDING, minus, plus, times

CENT = Decimal("0.01")


class Side(StrEnum):
    BUY = "Buy"
    SELL = "Sell"


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """A company's or a client's fees. Rates are fractions: 0.05 is 5 %."""

    commission_per_share: Decimal = Decimal(0)
    commission_rate: Decimal = Decimal(0)  # of the trade value
    commission_minimum: Decimal = Decimal(0)  # per allocation, when the commission is lower
    tax_rate: Decimal = Decimal(0)  # on the commission (GST, e.g. 0.10)
    other_fees: Decimal = Decimal(0)  # flat, per allocation


@dataclass(frozen=True, slots=True)
class TradeAmounts:
    trade_value: Decimal
    commission: Decimal
    tax: Decimal
    other_fees: Decimal
    net_amount: Decimal

    @property
    def fees(self) -> Decimal:
        return plus(plus(self.commission, self.tax), self.other_fees)


def compute_fees(
    side: Side, quantity: Decimal, price: Decimal, schedule: FeeSchedule
) -> TradeAmounts:
    """The amounts of one allocation of ``quantity`` at ``price`` under ``schedule``."""
    _check(quantity, price, schedule)
    trade_value = round_trade_value(times(quantity, price))
    commission = round_commission(_commission(quantity, trade_value, schedule))
    tax = round_tax(times(commission, schedule.tax_rate))
    other_fees = round_other_fees(schedule.other_fees)
    fees = plus(plus(commission, tax), other_fees)
    net = plus(trade_value, fees) if side is Side.BUY else minus(trade_value, fees)
    return TradeAmounts(trade_value, commission, tax, other_fees, net)


def _commission(quantity: Decimal, trade_value: Decimal, schedule: FeeSchedule) -> Decimal:
    if quantity == 0:
        return Decimal(0)
    per_share = times(schedule.commission_per_share, quantity)
    on_value = times(schedule.commission_rate, trade_value)
    return max(plus(per_share, on_value), schedule.commission_minimum)


def _to_cent(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP, context=ROUNDING)


# The named rounding points: one function each, so a change of rule has one place to go.
round_trade_value = _to_cent
round_commission = _to_cent
round_tax = _to_cent
round_other_fees = _to_cent


def _check(quantity: Decimal, price: Decimal, schedule: FeeSchedule) -> None:
    if not quantity.is_finite() or quantity < 0:
        raise InvalidQuantity("quantity", quantity, "a non-negative quantity")
    if not price.is_finite() or price < 0:
        raise InvalidPrice("price", price, "a non-negative price")
    for name in (
        "commission_per_share",
        "commission_rate",
        "commission_minimum",
        "tax_rate",
        "other_fees",
    ):
        value: Decimal = getattr(schedule, name)
        if not value.is_finite() or value < 0:
            raise InvalidQuantity(name, value, "a non-negative amount or rate")
