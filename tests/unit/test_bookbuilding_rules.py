"""The pure book-building rules: the orderStatus lifecycle, row versions, and the automatic
distribution of a tranche (tiers, limits, minimums, overrides, FINRA restrictions)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from allotment.domain.bookbuilding import (
    AllocationValue,
    Basis,
    BookAllocation,
    DistributionType,
    Exclusion,
    Indication,
    InvestorAccount,
    OrderStatus,
    Tranche,
    ValueType,
    check_transition,
    distribute,
    is_stale,
    on_delete,
)
from allotment.domain.errors import InvalidInstruction

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
D = Decimal


def tranche(size: int = 1_000_000, price: str = "20.00", minimum: int = 0) -> Tranche:
    return Tranche("T", 1, "DEAL", "tranche", D(size), D(price), "USD", D(minimum), NOW, "desk")


def investor(key: str, finra_5130: bool = False, finra_5131: bool = False) -> InvestorAccount:
    return InvestorAccount(key, 1, key, finra_5130, finra_5131, NOW, "desk")


def indication(
    key: str,
    demand: str,
    *,
    limit: str | None = None,
    tier: int = 1,
    cash: bool = False,
) -> Indication:
    kind = ValueType.CASH if cash else ValueType.QUANTITY
    price = None if limit is None else D(limit)
    return Indication(key, 1, "DEAL", "T", key, kind, D(demand), price, tier, NOW, "desk")


def allocation(
    key: str,
    amount: str,
    *,
    distribution: DistributionType = DistributionType.AUTO,
    override: str | None = None,
    status: OrderStatus = OrderStatus.PENDING,
) -> BookAllocation:
    value = AllocationValue(ValueType.QUANTITY, D(amount))
    fixed = None if override is None else AllocationValue(ValueType.QUANTITY, D(override))
    return BookAllocation(
        f"alloc-{key}", 1, "DEAL", "T", key, key, None, None, None, status, distribution,
        value, fixed, (), None, None, "desk", NOW, "desk", NOW,
    )  # fmt: skip


def given(result: object) -> dict[str, Decimal]:
    return {share.indication.id: share.quantity for share in result.shares}  # type: ignore[attr-defined]


def test_the_worked_example_gives_a_and_b_their_pro_rata_and_lists_c_and_d() -> None:
    book = [
        indication("A", "1500000"),
        indication("B", "750000"),
        indication("C", "250000", limit="19.50"),
        indication("D", "500000"),
    ]
    investors = {key: investor(key, finra_5130=key == "D") for key in "ABCD"}
    result = distribute(tranche(), book, investors, [])
    assert given(result) == {"A": D(666_667), "B": D(333_333)}
    reasons = {item.indication.id: item.reason for item in result.excluded}
    assert reasons == {"C": Exclusion.LIMIT_BELOW_OFFER, "D": Exclusion.RESTRICTED}
    assert "19.50" in next(e.message for e in result.excluded if e.indication.id == "C")
    assert "5130" in next(e.message for e in result.excluded if e.indication.id == "D")
    assert (result.allocated, result.unallocated) == (D(1_000_000), D(0))


def test_a_finra_5131_account_is_excluded_as_well() -> None:
    result = distribute(
        tranche(), [indication("E", "10")], {"E": investor("E", finra_5131=True)}, []
    )
    assert given(result) == {}
    assert "5131" in result.excluded[0].message


def test_a_limit_at_the_offer_price_takes_part() -> None:
    result = distribute(
        tranche(100), [indication("A", "500", limit="20")], {"A": investor("A")}, []
    )
    assert given(result) == {"A": D(100)}


def test_undersubscribed_demand_is_filled_and_the_rest_reported_unallocated() -> None:
    book = [indication("A", "300"), indication("B", "200")]
    result = distribute(tranche(1000), book, {k: investor(k) for k in "AB"}, [])
    assert given(result) == {"A": D(300), "B": D(200)}
    assert result.unallocated == D(500)


def test_cash_demand_counts_as_the_shares_it_buys_at_the_offer_price() -> None:
    book = [indication("A", "2000.00", cash=True), indication("B", "100")]
    result = distribute(tranche(150), book, {k: investor(k) for k in "AB"}, [])
    # A's 2,000.00 at 20.00 is 100 shares: 150 is split 1:1.
    assert given(result) == {"A": D(75), "B": D(75)}


def test_tier_one_is_served_first_and_tier_two_shares_what_is_left() -> None:
    book = [
        indication("A", "600", tier=1),
        indication("B", "200", tier=1),
        indication("C", "600", tier=2),
        indication("D", "200", tier=2),
    ]
    result = distribute(tranche(1000), book, {k: investor(k) for k in "ABCD"}, [])
    assert given(result) == {"A": D(600), "B": D(200), "C": D(150), "D": D(50)}


def test_an_investor_below_the_minimum_gets_nothing_and_its_share_is_re_split() -> None:
    book = [indication("A", "9000"), indication("B", "1900"), indication("C", "100")]
    result = distribute(tranche(1000, minimum=100), book, {k: investor(k) for k in "ABC"}, [])
    # C's pro rata share (9.09) is below 100: C gets nothing, A and B share 1,000 as 90:19.
    assert given(result) == {"A": D(826), "B": D(174)}
    assert [(e.indication.id, e.reason) for e in result.excluded] == [
        ("C", Exclusion.BELOW_MINIMUM)
    ]


def test_an_override_wins_and_the_rest_is_re_split() -> None:
    book = [indication("A", "1000"), indication("B", "1000"), indication("C", "1000")]
    existing = [allocation("A", "10", override="600"), allocation("B", "333")]
    result = distribute(tranche(1000), book, {k: investor(k) for k in "ABC"}, existing)
    assert given(result) == {"A": D(600), "B": D(200), "C": D(200)}
    kept = {s.indication.id: s.basis for s in result.shares}
    assert kept == {"A": Basis.FIXED, "B": Basis.AUTO, "C": Basis.AUTO}
    assert result.replaced_allocation_ids == ("alloc-B",)


def test_manual_and_delivered_allocations_are_kept_and_come_off_the_tranche() -> None:
    book = [indication("A", "1000"), indication("B", "1000"), indication("C", "1000")]
    existing = [
        allocation("A", "100", distribution=DistributionType.MANUAL),
        allocation("B", "300", status=OrderStatus.DELIVERED),
    ]
    result = distribute(tranche(1000), book, {k: investor(k) for k in "ABC"}, existing)
    assert given(result) == {"A": D(100), "B": D(300), "C": D(600)}
    assert result.replaced_allocation_ids == ()


def test_kept_allocations_larger_than_the_tranche_are_refused() -> None:
    existing = [allocation("A", "10", override="2000")]
    with pytest.raises(InvalidInstruction):
        distribute(tranche(1000), [indication("A", "5000")], {"A": investor("A")}, existing)


def test_the_order_status_moves_only_along_its_lifecycle() -> None:
    check_transition(OrderStatus.PENDING, OrderStatus.DELIVERED)
    check_transition(OrderStatus.DELIVERED, OrderStatus.SUCCESSFUL)
    check_transition(OrderStatus.DELIVERED, OrderStatus.FAILED)
    check_transition(OrderStatus.FAILED, OrderStatus.FAILED)
    for old, new in [
        (OrderStatus.PENDING, OrderStatus.SUCCESSFUL),
        (OrderStatus.SUCCESSFUL, OrderStatus.PENDING),
        (OrderStatus.PENDING, OrderStatus.DELETE_PENDING),
    ]:
        with pytest.raises(InvalidInstruction) as raised:
            check_transition(old, new)
        assert raised.value.facts["field"] == "orderStatus"


def test_only_a_delivered_allocation_waits_in_delete_pending() -> None:
    assert on_delete(OrderStatus.DELIVERED) is OrderStatus.DELETE_PENDING
    assert on_delete(OrderStatus.PENDING) is None
    assert on_delete(OrderStatus.FAILED) is None


@pytest.mark.parametrize(
    ("stored", "incoming", "stale"),
    [
        ("10", "9", True),
        ("10", "10", False),
        ("9", "10", False),
        ("b", "a", True),
        ("a", "b", False),
        ("10", "9a", False),  # not both integers: compared as text, "9a" > "10"
        (None, "1", False),
        ("1", None, False),
    ],
)
def test_row_versions_compare_as_integers_when_both_are_else_as_text(
    stored: str | None, incoming: str | None, stale: bool
) -> None:
    assert is_stale(stored, incoming) is stale
