"""Partial fills: the cumulative allocation tracks the target split and nothing is taken back."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from allotment.domain.allocation.engine import Method, Participant, SplitRequest, split
from allotment.domain.allocation.errors import NoFills
from allotment.domain.allocation.fills import (
    FillPolicy,
    FillTarget,
    allocate_fill,
    allocate_fills,
    fill_targets,
)


def run_fills(
    targets: list[FillTarget],
    fills: list[int],
    policy: FillPolicy = FillPolicy.PRO_RATA,
) -> list[dict[str, Decimal]]:
    held: dict[str, Decimal] = {}
    history = []
    for fill in fills:
        allocation = allocate_fill(targets, held, Decimal(fill), policy)
        new = {part.key: part.quantity for part in allocation.cumulative}
        assert all(new[key] >= held.get(key, 0) for key in new), "nothing is taken back"
        held = new
        history.append(held)
    return history


def within_one(targets: list[FillTarget], held: dict[str, Decimal]) -> bool:
    total = sum(t.quantity for t in targets)
    filled = sum(held.values())
    return all(
        abs(Fraction(held[t.key]) - Fraction(filled * t.quantity) / Fraction(total)) < 1
        for t in targets
    )


def test_a_sequence_that_defeats_largest_deficit_first_stays_within_one_share() -> None:
    # Giving each fill's shares to the largest deficits leaves the last participant 1.07
    # shares behind after the eighth fill (5 against 6.07); due-first allocation does not.
    targets = [FillTarget(f"k{i}", Decimal(t)) for i, t in enumerate([3, 1, 3, 10, 1, 10])]
    for held in run_fills(targets, [5, 2, 1, 4, 2, 1, 1, 1, 11]):
        assert within_one(targets, held)
    assert held == {t.key: t.quantity for t in targets}


def test_the_saxo_key_of_15_shares_filled_one_by_one_ends_at_2_and_13() -> None:
    key = (
        Participant("A", Decimal(10), accepts_remainder=True),
        Participant("B", Decimal(90)),
    )
    targets = list(fill_targets(split(SplitRequest(Decimal(15), key, Method.PERCENTAGE))))
    history = run_fills(targets, [1] * 15)
    assert all(within_one(targets, held) for held in history)
    assert history[-1] == {"A": 2, "B": 13}


def test_an_over_fill_beyond_every_target_is_remainder() -> None:
    targets = [FillTarget("a", Decimal(3)), FillTarget("b", Decimal(1))]
    allocation = allocate_fill(targets, {"a": Decimal(2)}, Decimal(5))
    assert {part.key: part.quantity for part in allocation.cumulative} == {"a": 3, "b": 1}
    assert allocation.remainder == 3


def test_the_priority_policy_fills_priority_1_to_its_target_first() -> None:
    targets = [
        FillTarget("second", Decimal(50), priority=2),
        FillTarget("first", Decimal(30), priority=1),
        FillTarget("also_second", Decimal(50), priority=2),
    ]
    history = run_fills(targets, [20, 20, 40, 50], FillPolicy.PRIORITY)
    assert history[0] == {"second": 0, "first": 20, "also_second": 0}
    assert history[1] == {"second": 5, "first": 30, "also_second": 5}
    assert history[2] == {"second": 25, "first": 30, "also_second": 25}
    assert history[3] == {"second": 50, "first": 30, "also_second": 50}


def test_fills_in_fractional_increments_allocate_fractional_quantities() -> None:
    targets = [FillTarget("a", Decimal("1.0000")), FillTarget("b", Decimal("2.0000"))]
    allocation = allocate_fill(targets, {}, Decimal("1.0001"), increment=Decimal("0.0001"))
    parts = {part.key: part.quantity for part in allocation.parts}
    assert parts == {"a": Decimal("0.3334"), "b": Decimal("0.6667")}
    assert allocation.remainder == 0


def test_a_fill_only_reports_what_it_gives_this_time() -> None:
    targets = [FillTarget("a", Decimal(10)), FillTarget("b", Decimal(10))]
    allocation = allocate_fill(targets, {"a": Decimal(3), "b": Decimal(3)}, Decimal(4))
    assert {part.key: part.quantity for part in allocation.parts} == {"a": 2, "b": 2}


def test_allocating_all_fills_at_once_gives_what_one_fill_at_a_time_gives() -> None:
    targets = [
        FillTarget("A", Decimal(3)),
        FillTarget("B", Decimal(1)),
        FillTarget("C", Decimal(3)),
        FillTarget("D", Decimal(10), accepts_remainder=True),
    ]
    fills = [Decimal(q) for q in (5, 2, 1, 4, 2, 1)]
    held: dict[str, Decimal] = {}
    over = Decimal(0)
    for quantity in fills:
        one = allocate_fill(targets, held, quantity)
        held = {part.key: part.quantity for part in one.cumulative}
        over += one.remainder
    together = allocate_fills(targets, fills)
    assert {part.key: part.quantity for part in together.cumulative} == held
    assert together.parts == one.parts
    assert together.remainder == over == 0
    with pytest.raises(NoFills):
        allocate_fills(targets, [])
