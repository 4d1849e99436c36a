"""The NumPy path and the pure-Python path give identical splits, ties and overflow included."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from allotment.domain.allocation.engine import Method, Participant, SplitRequest, split
from allotment.domain.allocation.splitting import largest_remainder, proportional_floors

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
