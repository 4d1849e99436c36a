"""Average price, its reporting, the cash residue, and fees rounded at named points."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP, Decimal
from fractions import Fraction

from allotment.domain.allocation.exact import round_fraction
from allotment.domain.allocation.fees import FeeSchedule, Side, compute_fees
from allotment.domain.allocation.pricing import (
    Fill,
    average_price,
    cash_residue,
    price_block,
    report_price,
)


def test_the_average_price_is_exact_even_when_it_does_not_terminate() -> None:
    fills = [Fill(Decimal(1), Decimal("10.00")), Fill(Decimal(2), Decimal("10.01"))]
    assert average_price(fills) == Fraction("30.02") / 3


def test_the_reported_price_uses_the_named_rounding_mode() -> None:
    exact = Fraction("10.005")
    assert report_price(exact, 2, ROUND_HALF_UP) == Decimal("10.01")
    assert report_price(exact, 2, ROUND_HALF_EVEN) == Decimal("10.00")
    assert report_price(exact, 2, ROUND_DOWN) == Decimal("10.00")


def test_rounding_a_fraction_just_below_half_never_rounds_up() -> None:
    just_below = Fraction(1, 200) - Fraction(1, 10**40)
    assert round_fraction(just_below, 2, ROUND_HALF_UP) == Decimal("0.00")
    assert round_fraction(just_below, 2, ROUND_UP) == Decimal("0.01")
    assert round_fraction(-Fraction(1, 200), 2, ROUND_HALF_UP) == Decimal("-0.01")


def test_the_cash_residue_of_a_rounded_average_price_goes_to_the_error_account() -> None:
    fills = [Fill(Decimal(1), Decimal("10.00")), Fill(Decimal(2), Decimal("10.01"))]
    block = price_block(fills, [Decimal(1), Decimal(1), Decimal(1)], places=2)
    assert block.reported == Decimal("10.01")
    assert block.notional == Decimal("30.02")
    assert block.allocated_notional == Decimal("30.03")
    assert block.residue == Decimal("-0.01")
    assert cash_residue(fills, [Decimal(3)], block.reported) == block.residue


def test_a_percentage_commission_below_the_minimum_is_raised_to_the_minimum() -> None:
    schedule = FeeSchedule(commission_rate=Decimal("0.001"), commission_minimum=Decimal("9.95"))
    amounts = compute_fees(Side.BUY, Decimal(10), Decimal("5.00"), schedule)
    assert amounts.commission == Decimal("9.95")
    assert amounts.net_amount == Decimal("59.95")


def test_tax_is_charged_on_the_rounded_commission_and_other_fees_are_added() -> None:
    schedule = FeeSchedule(
        commission_per_share=Decimal("0.005"),
        tax_rate=Decimal("0.10"),
        other_fees=Decimal("1.50"),
    )
    amounts = compute_fees(Side.BUY, Decimal(101), Decimal(1), schedule)
    # 0.505 rounds half up to 0.51; GST on 0.51 is 0.051, rounded to 0.05.
    assert (amounts.commission, amounts.tax, amounts.other_fees) == (
        Decimal("0.51"),
        Decimal("0.05"),
        Decimal("1.50"),
    )
    assert amounts.fees == Decimal("2.06")
    assert amounts.net_amount == Decimal("103.06")


def test_no_quantity_means_no_commission_even_with_a_minimum() -> None:
    schedule = FeeSchedule(commission_minimum=Decimal("9.95"))
    amounts = compute_fees(Side.SELL, Decimal(0), Decimal("5.00"), schedule)
    assert amounts.commission == 0
    assert amounts.net_amount == 0
