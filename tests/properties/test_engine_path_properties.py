"""The NumPy path and the pure-Python path give identical splits, ties and overflow included."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from allotment.domain.allocation.engine import Method, Participant, SplitRequest, split
from allotment.domain.allocation.errors import NegativeWeight
from allotment.domain.allocation.splitting import largest_remainder, proportional_floors
from allotment.domain.allocation.vectorized import HASH_PRIME, scaled_integers
from allotment.domain.allocation.weights import integer_weights

# Few distinct weights and priorities make many equal remainders, the hard case for ties.
WEIGHTS = st.sampled_from([0, 1, 2, 3, 7, 10, 10**6, 10**9 + 7])


@st.composite
def large_requests(draw: st.DrawFn) -> SplitRequest:
    count = draw(st.integers(1, 300))
    weights = draw(st.lists(WEIGHTS, min_size=count, max_size=count))
    weights[0] = max(weights[0], 1)
    priorities = draw(st.lists(st.integers(1, 3), min_size=count, max_size=count))
    accepting = draw(st.booleans())
    people = tuple(
        Participant(
            f"{(i * 7919) % 1000:03d}-{i}",
            Decimal(weight),
            priority,
            accepts_remainder=accepting and i % 50 == 0,
        )
        for i, (weight, priority) in enumerate(zip(weights, priorities, strict=True))
    )
    method = draw(st.sampled_from([Method.RATIO, Method.EQUAL, Method.NET_LIQUIDATION]))
    total = Decimal(draw(st.integers(0, 10**7)))
    return SplitRequest(total, people, method)


@settings(max_examples=100, deadline=None)
@given(large_requests())
def test_the_numpy_path_gives_exactly_the_pure_path_split(request: SplitRequest) -> None:
    vectorized = split(request, vectorize=True)
    pure = split(request, vectorize=False)
    assert vectorized.increments == pure.increments
    assert vectorized.remainder == pure.remainder


@settings(max_examples=150, deadline=None)
@given(
    st.integers(0, 2**70),
    st.lists(st.integers(0, 2**62), min_size=1, max_size=60).filter(any),
)
@example(2**64 - 2, [1, 1])  # each part fits int64, their sum does not
def test_the_integer_core_falls_back_to_python_ints_when_int64_could_overflow(
    total: int, weights: list[int]
) -> None:
    def tie_key(index: int) -> int:
        return -index

    pure = largest_remainder(total, weights, tie_key, vectorize=False)
    assert largest_remainder(total, weights, tie_key, vectorize=True) == pure
    assert sum(pure) == total
    floors = proportional_floors(total, weights, vectorize=False)
    assert proportional_floors(total, weights, vectorize=True) == floors


# Decimals around the edges of the bulk conversion: zero and negative zero, negatives, values
# whose scaled integer is a multiple of the hash prime (a negative one hashes to zero), values
# just below and above the prime, and cents, tenths and whole numbers mixed.
DECIMALS = st.one_of(
    st.sampled_from(
        [
            Decimal(0),
            Decimal("-0"),
            Decimal("0.00"),
            Decimal(HASH_PRIME),
            Decimal(-HASH_PRIME),
            Decimal(HASH_PRIME - 1),
            Decimal(HASH_PRIME + 1),
            Decimal(HASH_PRIME).scaleb(-2),
            Decimal(-HASH_PRIME).scaleb(-2),
            Decimal(2**63),
        ]
    ),
    st.integers(-(10**20), 10**20).flatmap(
        lambda n: st.integers(0, 9).map(lambda places: Decimal(n).scaleb(-places))
    ),
    st.integers(0, 10**12).map(lambda n: Decimal(n).scaleb(-2)),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(DECIMALS, min_size=1, max_size=40))
@example([Decimal(HASH_PRIME + 5), Decimal(-HASH_PRIME)])  # residues 5 and 0 add up to the total
@example([Decimal("7.5"), Decimal(3), Decimal("0.25")])
def test_weights_converted_in_bulk_are_the_weights_multiplied_out_or_none(
    weights: list[Decimal],
) -> None:
    def key_of(index: int) -> str:
        return f"P{index}"

    try:
        exact = integer_weights(weights, key_of)
    except NegativeWeight:
        with pytest.raises(NegativeWeight):
            integer_weights(weights, key_of, in_bulk=True)
        return
    bulk = integer_weights(weights, key_of, in_bulk=True)
    assert list(bulk.values) == list(exact.values)
    assert (bulk.places, bulk.total) == (exact.places, exact.total)
    converted = scaled_integers(weights, exact.places, exact.total)
    if converted is not None:
        assert converted.tolist() == exact.values
    elif all(weight >= 0 for weight in weights):
        assert exact.total >= HASH_PRIME  # the one reason to decline non-negative weights


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 10**11), min_size=64, max_size=200).filter(any), st.data())
def test_a_split_of_decimal_weights_is_the_same_on_either_path(
    cents: list[int], data: st.DataObject
) -> None:
    people = tuple(
        Participant(f"K{i:03d}", Decimal(c).scaleb(-data.draw(st.integers(0, 3))), i % 3 + 1)
        for i, c in enumerate(cents)
    )
    request = SplitRequest(Decimal(data.draw(st.integers(0, 10**6))), people, Method.RATIO)
    vectorized = split(request, vectorize=True)
    pure = split(request, vectorize=False)
    assert vectorized.increments == pure.increments
    assert vectorized.explanation == pure.explanation
