"""Every rule of SPEC §4.3, one request each: a failing line answers 400 with its documented
error text, the other lines are not listed, and nothing is booked."""

from __future__ import annotations

from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from allotment.bootstrap import Container
from tests.e2e.test_blocktrade_seed import (
    PATH,
    SEED_JSON,
    as_json,
    children,
    line,
    refused,
    refusing_demo,  # noqa: F401  (the module-wide demo these tests share)
    seed_request,
)

D = Decimal


# The conftest's per-test demo, replaced for this module by one shared demo per backend.
@pytest.fixture
def client(refusing_demo: tuple[TestClient, Container]) -> TestClient:  # noqa: F811
    return refusing_demo[0]


@pytest.fixture
def demo_container(refusing_demo: tuple[TestClient, Container]) -> Container:  # noqa: F811
    return refusing_demo[1]


def test_an_unknown_client_is_an_invalid_client(
    client: TestClient, demo_container: Container
) -> None:
    document = line(seed_request(), 0, ClientID=4242)
    assert refused(client, demo_container, document) == [["Invalid client:4242"]]


def test_a_client_without_an_account_in_the_instruments_currency_is_an_invalid_client(
    client: TestClient, demo_container: Container
) -> None:
    document = line(seed_request(), 1, ClientID=1001)  # the ETNA client: USD only
    assert refused(client, demo_container, document) == [["Invalid client:1001"]]


def test_an_unknown_master_is_named_on_every_line(
    client: TestClient, demo_container: Container
) -> None:
    document = seed_request()
    document["BlockTradeAllocationID"] = 999
    assert refused(client, demo_container, document) == [
        ["Invalid block trade allocation:999"],
        ["Invalid block trade allocation:999"],
    ]


def test_a_master_reference_that_does_not_match_the_master_is_refused(
    client: TestClient, demo_container: Container
) -> None:
    document = seed_request()
    document["MasterReference"] = "XCCMa3aR573uzX"
    expected = "MasterReference XCCMa3aR573uzX does not match block trade allocation 195"
    assert refused(client, demo_container, document) == [[expected], [expected]]


def test_a_quantity_must_be_a_whole_number_of_shares_above_zero(
    client: TestClient, demo_container: Container
) -> None:
    for quantity in (D(0), D(-25), D("25.5")):
        value = quantity * D("6.75")
        changes = {"Quantity": quantity, "TradeValue": value, "NetAmount": value - D("9.28")}
        assert refused(client, demo_container, line(seed_request(), 0, **changes)) == [
            ["Quantity must be a whole number greater than zero"]
        ]


def test_the_lines_together_may_not_exceed_the_masters_unallocated_quantity(
    client: TestClient, demo_container: Container
) -> None:
    document = line(seed_request(), 0, Quantity=30, TradeValue=D("202.50"), NetAmount=D("193.22"))
    assert refused(client, demo_container, document) == [
        [
            "Quantity 75 exceeds the unallocated quantity of block trade allocation 195: "
            "100 unallocated, 105 requested up to this allocation"
        ]
    ]


def test_the_price_must_be_the_masters_average_price(
    client: TestClient, demo_container: Container
) -> None:
    document = line(
        seed_request(), 0, Price=D("6.80"), TradeValue=D("170.00"), NetAmount=D("160.72")
    )
    assert refused(client, demo_container, document) == [
        ["Price 6.80 does not equal the average price 6.75 of block trade allocation 195"]
    ]


def test_the_trade_value_must_be_quantity_times_price_within_a_cent(
    client: TestClient, demo_container: Container
) -> None:
    document = line(seed_request(), 0, TradeValue=D("168.77"), NetAmount=D("159.49"))
    assert refused(client, demo_container, document) == [
        ["TradeValue 168.77 does not equal Quantity × Price = 168.75 (within 0.01)"]
    ]


def test_the_gst_must_be_the_companys_rate_times_the_brokerage_within_a_cent(
    client: TestClient, demo_container: Container
) -> None:
    document = line(seed_request(), 0, GSTValue=D("0.86"), NetAmount=D("159.45"))
    assert refused(client, demo_container, document) == [
        [
            "GSTValue 0.86 does not equal the GST rate 0.10 × CustomBrokerageFee = 0.8440 "
            "(within 0.01)"
        ]
    ]


def test_the_net_amount_of_a_sale_is_the_trade_value_less_the_fees_within_a_cent(
    client: TestClient, demo_container: Container
) -> None:
    document = line(seed_request(), 1, NetAmount=D("478.43"))
    assert refused(client, demo_container, document) == [
        ["NetAmount 478.43 does not equal TradeValue − fees = 478.41 for a sale (within 0.01)"]
    ]


def test_fees_may_not_be_negative_nor_split_cents(
    client: TestClient, demo_container: Container
) -> None:
    document = line(seed_request(), 0, OtherFees=D(-1), NetAmount=D("160.47"))
    document = line(document, 1, OtherFees=D("0.005"), NetAmount=D("478.405"))
    assert refused(client, demo_container, document) == [
        ["OtherFees must not be negative"],
        ["OtherFees must be in whole cents"],
    ]


def test_an_allocation_reference_is_required_and_at_most_16_characters(
    client: TestClient, demo_container: Container
) -> None:
    for reference, error in (
        (None, "AllocationReference is required"),
        ("", "AllocationReference is required"),
        ("X" * 17, "AllocationReference must be at most 16 characters long"),
    ):
        document = line(seed_request(), 1, AllocationReference=reference)
        assert refused(client, demo_container, document) == [[error]]


def test_an_allocation_reference_may_not_repeat_within_a_request(
    client: TestClient, demo_container: Container
) -> None:
    document = line(seed_request(), 1, AllocationReference="1358233558943267")
    assert refused(client, demo_container, document) == [
        ["AllocationReference 1358233558943267 is repeated in this request"]
    ]


def test_a_number_beyond_what_the_ledger_stores_is_out_of_range(
    client: TestClient, demo_container: Container
) -> None:
    text = SEED_JSON.replace('"Price": 6.75', '"Price": 6.75e40', 1)
    response = client.post(PATH, content=text, headers=as_json())
    assert response.status_code == 400
    assert response.json()[0]["Errors"] == ["Price is out of range"]
    assert children(demo_container) == []


def test_a_client_selling_more_than_it_holds_is_refused_by_the_ledger(
    client: TestClient, demo_container: Container
) -> None:
    document = line(seed_request(), 0, Quantity=30, TradeValue=D("202.50"), NetAmount=D("193.22"))
    document = line(document, 1, Quantity=70, TradeValue=D("472.50"), NetAmount=D("444.66"))
    assert refused(client, demo_container, document) == [
        ["Insufficient position: account 1574444-01 does not hold the 30 BHP it sells"]
    ]


def test_every_failing_rule_of_a_line_is_listed(
    client: TestClient, demo_container: Container
) -> None:
    document = line(seed_request(), 0, ClientID=4242, Price=D("7"), AllocationReference=None)
    assert refused(client, demo_container, document) == [
        [
            "AllocationReference is required",
            "Invalid client:4242",
            "Price 7 does not equal the average price 6.75 of block trade allocation 195",
            "TradeValue 168.75 does not equal Quantity × Price = 175 (within 0.01)",
        ]
    ]
