"""The engine's rules beyond the worked examples: remainder, lots, caps, minimums, methods."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from allotment.domain.allocation.engine import (
    Method,
    Participant,
    Reason,
    SplitRequest,
    SplitResult,
    split,
)


def run(total: str, method: Method, *participants: Participant, **options: Decimal) -> SplitResult:
    return split(SplitRequest(Decimal(total), participants, method, **options))


def p(key: str, weight: str = "1", **options: object) -> Participant:
    return Participant(key, Decimal(weight), **options)  # type: ignore[arg-type]


def test_equal_remainders_go_to_the_better_priority_then_the_smaller_key() -> None:
    result = run("5", Method.EQUAL, p("b", priority=2), p("c", priority=1), p("a", priority=2))
    assert result.by_key() == {"c": 2, "a": 2, "b": 1}


def test_only_remainder_acceptors_take_leftover_even_with_a_smaller_remainder() -> None:
    # 0.4 / 0.6 floors to 0 / 0 with one left over: the acceptor takes it despite 0.4 < 0.6.
    result = run("1", Method.RATIO, p("small", "2", accepts_remainder=True), p("large", "3"))
    assert result.by_key() == {"small": 1, "large": 0}


def test_several_acceptors_take_leftover_one_at_a_time_in_priority_order() -> None:
    acceptors = [p(f"x{i}", priority=i, accepts_remainder=True) for i in (2, 1, 3)]
    result = run("11", Method.EQUAL, *acceptors, p("y"), p("z"))
    # 11 / 5 = 2 each with 1 left over; priority 1 among the acceptors takes it.
    assert result.by_key() == {"x2": 2, "x1": 3, "x3": 2, "y": 2, "z": 2}


def test_a_unit_key_gives_each_its_units_and_the_rest_to_the_acceptor() -> None:
    result = run(
        "100", Method.UNIT, p("a", "10"), p("b", "20", accepts_remainder=True), p("c", "30")
    )
    assert result.by_key() == {"a": 10, "b": 60, "c": 30}
    assert result.remainder == 0


def test_a_unit_key_without_an_acceptor_reports_the_rest_as_remainder() -> None:
    result = run("100", Method.UNIT, p("a", "10"), p("b", "20"))
    assert result.by_key() == {"a": 10, "b": 20}
    assert result.remainder == 70


def test_units_that_exceed_the_total_are_cut_pro_rata_to_the_units() -> None:
    result = run("50", Method.UNIT, p("a", "10"), p("b", "20"), p("c", "30"))
    # Exact 8.33 / 16.67 / 25: Hamilton gives the leftover share to b.
    assert result.by_key() == {"a": 8, "b": 17, "c": 25}


def test_cash_buys_what_each_amount_affords_and_the_rest_is_remainder() -> None:
    result = run(
        "100",
        Method.CASH,
        p("a", "500.00"),
        p("b", "250.50"),
        price=Decimal("10.02"),
    )
    # 500 / 10.02 = 49.9 -> 49; 250.50 / 10.02 = 25 exactly.
    assert result.by_key() == {"a": 49, "b": 25}
    assert result.remainder == 26


def test_cash_demand_above_the_total_is_cut_pro_rata_to_the_amounts() -> None:
    result = run("10", Method.CASH, p("a", "1000"), p("b", "3000"), price=Decimal(1))
    # Exact 2.5 / 7.5: equal remainders, equal priorities, so the smaller key takes the share.
    assert result.by_key() == {"a": 3, "b": 7}


def test_round_lots_split_whole_lots_and_report_the_odd_lot_as_remainder() -> None:
    result = run("1050", Method.EQUAL, p("a"), p("b"), p("c"), round_lot=Decimal(100))
    assert result.by_key() == {"a": 400, "b": 300, "c": 300}
    assert result.remainder == 50


def test_a_participant_below_the_minimum_gets_nothing_and_its_share_is_re_split() -> None:
    result = run("100", Method.RATIO, p("a", "95"), p("b", "5"), minimum_quantity=Decimal(10))
    assert result.by_key() == {"a": 100, "b": 0}
    assert result.explanation.participants[1].reason is Reason.BELOW_MINIMUM


def test_minimums_drop_the_furthest_below_first_so_others_can_reach_theirs() -> None:
    # Four equal shares of 6.25 are below 10; dropping one at a time stops at two of 12.5.
    people = [p(f"k{i}", minimum_quantity=Decimal(10)) for i in range(4)]
    result = run("25", Method.EQUAL, *people)
    # Equally short: the lowest precedence (here the largest key) is dropped first.
    assert result.by_key() == {"k0": 13, "k1": 12, "k2": 0, "k3": 0}


def test_a_capped_participant_keeps_its_maximum_and_the_excess_is_re_split() -> None:
    result = run(
        "100",
        Method.RATIO,
        p("investor", "3", maximum_quantity=Decimal(20)),
        p("x", "1"),
        p("y", "1"),
    )
    assert result.by_key() == {"investor": 20, "x": 40, "y": 40}
    assert result.explanation.participants[0].reason is Reason.AT_CAP


def test_when_every_participant_is_capped_the_excess_is_remainder() -> None:
    result = run(
        "100",
        Method.EQUAL,
        p("a", maximum_quantity=Decimal(30)),
        p("b", maximum_quantity=Decimal(20)),
    )
    assert result.by_key() == {"a": 30, "b": 20}
    assert result.remainder == 50


def test_the_same_participants_in_any_order_get_the_same_quantities() -> None:
    people = [p("m", "7"), p("a", "7"), p("z", "7", priority=2), p("q", "3")]
    forward = run("23", Method.RATIO, *people).by_key()
    backward = run("23", Method.RATIO, *reversed(people)).by_key()
    assert forward == backward


def test_thirds_over_fractional_increments_add_up_exactly() -> None:
    third = Decimal("33.333333333333336")
    people = [p(f"k{i}", str(third)) for i in range(3)]
    result = run("1000.0001", Method.PERCENTAGE, *people, increment=Decimal("0.0001"))
    assert sum(result.quantities) == Decimal("1000.0001")
    assert result.by_key() == {
        "k0": Decimal("333.3334"),
        "k1": Decimal("333.3334"),
        "k2": Decimal("333.3333"),
    }
    for row in result.explanation.participants:
        assert row.target_quantity == Fraction("1000.0001") / 3
        assert abs(row.deviation_increments) < 1


def test_the_explanation_gives_the_exact_target_and_the_deviation_in_increments() -> None:
    result = run("100", Method.EQUAL, p("a"), p("b"), p("c"))
    first = result.explanation.participants[0]
    assert first.target_text() == "100/3"
    assert first.target_decimal(4) == Decimal("33.3333")
    assert first.deviation_increments == Fraction(2, 3)
    assert result.explanation.lines()[0] == "a: 34 (target 33.333333, +2/3 increments, ProRata)"


def test_a_participant_can_be_looked_up_by_key() -> None:
    result = run("10", Method.EQUAL, p("a"), p("b"))
    assert result.quantity_of("b") == 5
    assert [part.key for part in result.parts] == ["a", "b"]


def test_a_total_of_zero_gives_everyone_zero() -> None:
    result = run("0", Method.RATIO, p("a"), p("b"))
    assert list(result.quantities) == [0, 0]
    assert result.remainder == 0


def test_thousands_of_participants_take_the_numpy_path_and_match_the_pure_one() -> None:
    people = [p(f"acc-{i:05d}", str(i % 97 + 1), priority=i % 3 + 1) for i in range(5_000)]
    request = SplitRequest(Decimal(123_457), tuple(people), Method.NET_LIQUIDATION)
    fast, pure = split(request), split(request, vectorize=False)
    assert fast.increments == pure.increments
    assert fast.allocated == 123_457
