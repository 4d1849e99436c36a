"""After every partial fill, each participant is within one increment of its exact target."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from allotment.domain.allocation.fills import FillPolicy, FillTarget, allocate_fill

TARGET = st.tuples(st.integers(0, 300), st.integers(1, 3), st.booleans())


@st.composite
def block(draw: st.DrawFn) -> tuple[list[FillTarget], list[int], Decimal]:
    rows = draw(st.lists(TARGET, min_size=1, max_size=9))
    increment = draw(st.sampled_from([Decimal(1), Decimal("0.01")]))
    targets = [
        FillTarget(f"k{i}", Decimal(quantity) * increment, priority, accepts)
        for i, (quantity, priority, accepts) in enumerate(rows)
    ]
    total = sum(quantity for quantity, _, _ in rows)
    fills: list[int] = []
    while sum(fills) < total:
        fills.append(draw(st.integers(1, total - sum(fills))))
    return targets, fills, increment


@settings(max_examples=200, deadline=None)
@given(block())
def test_pro_rata_keeps_everyone_within_one_increment_after_every_fill(
    case: tuple[list[FillTarget], list[int], Decimal],
) -> None:
    targets, fills, increment = case
    target_total = sum(Fraction(t.quantity) for t in targets)
    held: dict[str, Decimal] = {}
    filled = Decimal(0)
    for fill in fills:
        quantity = fill * increment
        allocation = allocate_fill(targets, held, quantity, increment=increment)
        filled += quantity
        assert allocation.remainder == 0
        assert sum(part.quantity for part in allocation.parts) == quantity
        for target, part in zip(targets, allocation.cumulative, strict=True):
            assert part.quantity >= held.get(target.key, 0)
            exact = Fraction(filled) * Fraction(target.quantity) / target_total
            assert abs(Fraction(part.quantity) - exact) < Fraction(increment)
        held = {part.key: part.quantity for part in allocation.cumulative}
    assert held == {t.key: t.quantity for t in targets} or not fills


@settings(max_examples=120, deadline=None)
@given(block())
def test_the_priority_policy_never_serves_a_later_priority_before_an_earlier_one_is_full(
    case: tuple[list[FillTarget], list[int], Decimal],
) -> None:
    targets, fills, increment = case
    held: dict[str, Decimal] = {}
    for fill in fills:
        allocation = allocate_fill(
            targets, held, fill * increment, FillPolicy.PRIORITY, increment=increment
        )
        held = {part.key: part.quantity for part in allocation.cumulative}
        for later in targets:
            if held[later.key] > 0:
                assert all(
                    held[earlier.key] == earlier.quantity
                    for earlier in targets
                    if earlier.priority < later.priority
                )
    assert held == {t.key: t.quantity for t in targets} or not fills
