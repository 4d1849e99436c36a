"""Properties of the automatic distribution of a tranche."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from allotment.domain.bookbuilding import (
    Indication,
    InvestorAccount,
    Tranche,
    ValueType,
    distribute,
)

NOW = datetime(2026, 1, 2, tzinfo=UTC)
PRICE = Decimal("20.00")

investor_specs = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=5_000_000),  # demand in shares
        st.booleans(),  # restricted under FINRA 5130
        st.sampled_from([None, "19.99", "20.00", "25"]),  # limit price
        st.integers(min_value=1, max_value=3),  # priority tier
    ),
    min_size=1,
    max_size=25,
)


def _book(
    specs: list[tuple[int, bool, str | None, int]], tiers: bool
) -> tuple[list[Indication], dict[str, InvestorAccount]]:
    indications, investors = [], {}
    for index, (demand, restricted, limit, tier) in enumerate(specs):
        key = f"I{index:03d}"
        investors[key] = InvestorAccount(key, 1, key, restricted, False, NOW, "t")
        indications.append(
            Indication(
                key,
                1,
                "D",
                "T",
                key,
                ValueType.QUANTITY,
                Decimal(demand),
                None if limit is None else Decimal(limit),
                tier if tiers else 1,
                NOW,
                "t",
            )
        )
    return indications, investors


def _eligible(indication: Indication, investors: dict[str, InvestorAccount]) -> bool:
    limit = indication.limit_price
    return not investors[indication.id].finra_5130 and (limit is None or limit >= PRICE)


@settings(max_examples=200, deadline=None)
@given(size=st.integers(min_value=1, max_value=10_000_000), specs=investor_specs)
def test_one_tier_never_exceeds_the_tranche_nor_demand_and_stays_within_a_share_of_pro_rata(
    size: int, specs: list[tuple[int, bool, str | None, int]]
) -> None:
    indications, investors = _book(specs, tiers=False)
    tranche = Tranche("T", 1, "D", "t", Decimal(size), PRICE, "USD", Decimal(0), NOW, "t")
    result = distribute(tranche, indications, investors, [])
    given_by_id = {share.indication.id: share.quantity for share in result.shares}
    assert result.allocated == sum(given_by_id.values())
    assert result.allocated <= size
    eligible = [i for i in indications if _eligible(i, investors)]
    assert set(given_by_id) == {i.id for i in eligible}
    assert {e.indication.id for e in result.excluded} == {
        i.id for i in indications if not _eligible(i, investors)
    }
    demand_total = sum(int(i.demand_amount) for i in eligible)
    for indication in eligible:
        demand = int(indication.demand_amount)
        quantity = given_by_id[indication.id]
        assert 0 <= quantity <= demand
        pro_rata = min(Fraction(demand), Fraction(size * demand, demand_total))
        assert abs(Fraction(quantity) - pro_rata) < 1


@settings(max_examples=100, deadline=None)
@given(size=st.integers(min_value=1, max_value=10_000_000), specs=investor_specs)
def test_with_tiers_a_lower_tier_gets_shares_only_once_every_higher_tier_is_filled(
    size: int, specs: list[tuple[int, bool, str | None, int]]
) -> None:
    indications, investors = _book(specs, tiers=True)
    tranche = Tranche("T", 1, "D", "t", Decimal(size), PRICE, "USD", Decimal(0), NOW, "t")
    result = distribute(tranche, indications, investors, [])
    assert result.allocated <= size
    by_tier: dict[int, list[tuple[Decimal, Decimal]]] = {}
    for share in result.shares:
        assert 0 <= share.quantity <= share.demand_quantity
        by_tier.setdefault(share.indication.priority_tier, []).append(
            (share.quantity, share.demand_quantity)
        )
    tiers = sorted(by_tier)
    for higher, lower in itertools.pairwise(tiers):
        if any(quantity > 0 for quantity, _ in by_tier[lower]):
            assert all(quantity == demand for quantity, demand in by_tier[higher])
