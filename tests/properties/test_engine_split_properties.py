"""Properties of every split: exact sums, no negatives, whole increments, order independence,
and pro rata within one increment of the exact share."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from random import Random

from hypothesis import given, settings
from hypothesis import strategies as st

from allotment.domain.allocation.engine import Method, Participant, SplitRequest, split

INCREMENTS = [Decimal(1), Decimal("0.0001"), Decimal("0.01"), Decimal(100)]
PRO_RATA = [Method.RATIO, Method.NET_LIQUIDATION, Method.AVAILABLE_EQUITY, Method.EQUAL]


MAYBE_QUANTITY = st.none() | st.integers(0, 500).map(Decimal)
PERSON_WITH_RULES = st.tuples(
    st.integers(0, 10**7), st.integers(1, 3), st.booleans(), MAYBE_QUANTITY, MAYBE_QUANTITY
)
PERSON = st.tuples(st.integers(0, 10**7), st.integers(1, 3), st.just(False), st.none(), st.none())


@st.composite
def participants(draw: st.DrawFn, *, rules: bool) -> tuple[Participant, ...]:
    rows = draw(st.lists(PERSON_WITH_RULES if rules else PERSON, min_size=1, max_size=12))
    keys = draw(st.permutations([f"acc-{i:02d}" for i in range(len(rows))]))
    places = draw(st.integers(0, 4))
    # Zero weights are allowed, as long as one participant weighs something.
    return tuple(
        Participant(
            key,
            Decimal(max(weight, 1) if position == 0 else weight).scaleb(-places),
            priority,
            accepts,
            minimum,
            maximum,
        )
        for position, (key, (weight, priority, accepts, minimum, maximum)) in enumerate(
            zip(keys, rows, strict=True)
        )
    )


@st.composite
def requests(draw: st.DrawFn, *, rules: bool) -> SplitRequest:
    increment = draw(st.sampled_from(INCREMENTS))
    total = Decimal(draw(st.integers(0, 10**6))) * increment
    method = draw(st.sampled_from([*PRO_RATA, Method.UNIT] if rules else PRO_RATA))
    lot = increment * draw(st.sampled_from([1, 1, 10])) if rules else None
    return SplitRequest(total, draw(participants(rules=rules)), method, increment, round_lot=lot)


@settings(max_examples=300, deadline=None)
@given(requests(rules=True))
def test_parts_are_whole_lots_never_negative_within_bounds_and_add_up_to_the_total(
    request: SplitRequest,
) -> None:
    result = split(request)
    assert sum(result.quantities) == result.allocated
    assert result.allocated + result.remainder == request.total
    assert result.remainder >= 0
    lot = request.round_lot or request.increment
    for person, quantity in zip(request.participants, result.quantities, strict=True):
        assert quantity >= 0
        assert quantity % request.increment == 0
        assert quantity % lot == 0
        if person.maximum_quantity is not None:
            assert quantity <= person.maximum_quantity
        if person.minimum_quantity is not None:
            assert quantity == 0 or quantity >= person.minimum_quantity


@settings(max_examples=200, deadline=None)
@given(requests(rules=True), st.randoms(use_true_random=False))
def test_any_order_of_the_participants_gives_the_same_quantities(
    request: SplitRequest, random: Random
) -> None:
    shuffled = list(request.participants)
    random.shuffle(shuffled)
    reordered = SplitRequest(
        request.total, tuple(shuffled), request.method, request.increment, request.round_lot
    )
    first, second = split(request), split(reordered)
    assert first.by_key() == second.by_key()
    assert first.remainder == second.remainder


@settings(max_examples=200, deadline=None)
@given(requests(rules=False))
def test_pro_rata_without_rules_is_within_one_increment_of_the_exact_share(
    request: SplitRequest,
) -> None:
    result = split(request)
    assert result.remainder == 0
    weights = [
        Fraction(1) if request.method is Method.EQUAL else Fraction(p.weight)
        for p in request.participants
    ]
    for weight, quantity in zip(weights, result.quantities, strict=True):
        exact = Fraction(request.total) * weight / sum(weights)
        assert abs(Fraction(quantity) - exact) < Fraction(request.increment)


@settings(max_examples=150, deadline=None)
@given(requests(rules=False))
def test_with_acceptors_everyone_else_gets_the_floor_of_the_exact_share(
    request: SplitRequest,
) -> None:
    first = request.participants[0]
    people = (Participant(first.key, first.weight, first.priority, True), *request.participants[1:])
    accepting = SplitRequest(request.total, people, request.method, request.increment)
    result = split(accepting)
    weights = [
        Fraction(1) if request.method is Method.EQUAL else Fraction(p.weight) for p in people
    ]
    step = Fraction(request.increment)
    for weight, quantity in list(zip(weights, result.quantities, strict=True))[1:]:
        exact = Fraction(request.total) * weight / sum(weights)
        assert Fraction(quantity) == (exact // step) * step
    assert result.remainder == 0


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 40), st.integers(0, 10**8), st.sampled_from(INCREMENTS))
def test_thirds_and_fractional_increments_never_drift(
    count: int, total_steps: int, increment: Decimal
) -> None:
    # 100 / count to 17 significant digits, like a JSON float: 33.333333333333336 for thirds.
    share = Decimal(repr(100 / count))
    people = tuple(Participant(f"k{i}", share) for i in range(count))
    total = Decimal(total_steps) * increment
    result = split(SplitRequest(total, people, Method.PERCENTAGE, increment))
    assert sum(result.quantities) == total
    assert result.remainder == 0
