"""The issue's worked examples, one test each, with the figures a desk would check by hand."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from allotment.domain.allocation.engine import Method, Participant, SplitRequest, split
from allotment.domain.allocation.fees import FeeSchedule, Side, compute_fees
from allotment.domain.allocation.fills import allocate_fill, fill_targets
from allotment.domain.allocation.pricing import Fill, average_price, price_block, report_price


def quantities(total: str, method: Method, *participants: Participant) -> list[Decimal]:
    return list(split(SplitRequest(Decimal(total), participants, method)).quantities)


def weighted(*weights: str) -> list[Participant]:
    return [Participant(f"ACC{i}", Decimal(w)) for i, w in enumerate(weights, start=1)]


def test_an_equal_split_of_400_over_6_accounts_gives_67_67_67_67_66_66() -> None:
    accounts = [Participant(f"ACC{i}") for i in range(1, 7)]
    assert quantities("400", Method.EQUAL, *accounts) == [67, 67, 67, 67, 66, 66]


def test_net_liquidation_weights_25k_50k_100k_split_700_shares_as_100_200_400() -> None:
    accounts = weighted("25000", "50000", "100000")
    assert quantities("700", Method.NET_LIQUIDATION, *accounts) == [100, 200, 400]


def test_percentages_60_40_of_300_give_180_and_120() -> None:
    assert quantities("300", Method.PERCENTAGE, *weighted("60", "40")) == [180, 120]


def test_ratios_1_to_2_of_300_give_100_and_200() -> None:
    assert quantities("300", Method.RATIO, *weighted("1", "2")) == [100, 200]


def test_the_saxo_key_10_percent_accepting_the_remainder_and_90_percent_splits_15_as_2_and_13() -> (
    None
):
    key = [
        Participant("LZTc7DdejXODf", Decimal(10), accepts_remainder=True),
        Participant("8Jq2xKbXlTz", Decimal(90)),
    ]
    result = split(SplitRequest(Decimal(15), tuple(key), Method.PERCENTAGE))
    assert result.by_key() == {"LZTc7DdejXODf": 2, "8Jq2xKbXlTz": 13}
    assert result.remainder == 0


def test_thirds_sent_as_json_floats_split_100_as_34_33_33_by_priority() -> None:
    third = Decimal("33.333333333333336")
    accounts = [Participant(f"ACC{p}", third, priority=p) for p in (3, 1, 2)]
    result = split(SplitRequest(Decimal(100), tuple(accounts), Method.PERCENTAGE))
    assert result.by_key() == {"ACC1": 34, "ACC2": 33, "ACC3": 33}


def test_a_sale_of_25_shares_at_6_75_with_5_percent_brokerage_and_10_percent_gst() -> None:
    amounts = compute_fees(Side.SELL, Decimal(25), Decimal("6.75"), brokerage_and_gst())
    assert (amounts.trade_value, amounts.commission, amounts.tax, amounts.net_amount) == (
        Decimal("168.75"),
        Decimal("8.44"),
        Decimal("0.84"),
        Decimal("159.47"),
    )


def test_a_sale_of_75_shares_at_6_75_with_5_percent_brokerage_and_10_percent_gst() -> None:
    amounts = compute_fees(Side.SELL, Decimal(75), Decimal("6.75"), brokerage_and_gst())
    assert (amounts.trade_value, amounts.commission, amounts.tax, amounts.net_amount) == (
        Decimal("506.25"),
        Decimal("25.31"),
        Decimal("2.53"),
        Decimal("478.41"),
    )


def test_a_buy_of_600_at_10_02_with_one_cent_a_share_nets_6018() -> None:
    schedule = FeeSchedule(commission_per_share=Decimal("0.01"))
    amounts = compute_fees(Side.BUY, Decimal(600), Decimal("10.02"), schedule)
    assert amounts.net_amount == Decimal("6018.00")
    assert amounts.commission == Decimal("6.00")


def test_a_block_of_1000_on_the_10_90_key_filled_in_three_pieces_averages_10_06() -> None:
    key = (
        Participant("A", Decimal(10), accepts_remainder=True),
        Participant("B", Decimal(90)),
    )
    targets = fill_targets(split(SplitRequest(Decimal(1000), key, Method.PERCENTAGE)))
    fills = [
        Fill(Decimal(300), Decimal("10.00")),
        Fill(Decimal(500), Decimal("10.10")),
        Fill(Decimal(200), Decimal("10.05")),
    ]
    held: dict[str, Decimal] = {}
    filled = Decimal(0)
    for fill in fills:
        allocation = allocate_fill(targets, held, fill.quantity)
        held = {part.key: part.quantity for part in allocation.cumulative}
        filled += fill.quantity
        assert abs(held["A"] - filled * Decimal("0.1")) < 1
        assert abs(held["B"] - filled * Decimal("0.9")) < 1
    assert held == {"A": 100, "B": 900}
    assert average_price(fills) == Fraction("10.06")
    assert report_price(average_price(fills), 2) == Decimal("10.06")
    assert price_block(fills, held.values(), places=2).residue == 0


def brokerage_and_gst() -> FeeSchedule:
    return FeeSchedule(commission_rate=Decimal("0.05"), tax_rate=Decimal("0.10"))
