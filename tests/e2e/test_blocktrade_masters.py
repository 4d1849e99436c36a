"""Rules of SPEC §4.3 that need a master of their own: cancelled, unfilled, a purchase, and
money within a cent accepted and booked."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from allotment.bootstrap import Container
from tests.conftest import bearer
from tests.e2e.test_blocktrade_seed import (
    PATH,
    SEED_JSON,
    as_json,
    children,
    encode,
    holding,
    line,
    refused,
    seed_request,
)

D = Decimal


def test_a_cancelled_master_takes_no_more_allocations(
    client: TestClient, demo_container: Container
) -> None:
    with demo_container.uow() as uow:
        block = uow.blocks.get(1, 195)
        assert block is not None
        block.status = "cancelled"
        uow.blocks.update(block)
        uow.commit()
    expected = "Block trade allocation 195 is cancelled"
    assert refused(client, demo_container, seed_request()) == [[expected], [expected]]


def test_money_within_a_cent_of_the_computed_amount_is_accepted(
    client: TestClient, demo_container: Container
) -> None:
    document = line(seed_request(), 0, TradeValue=D("168.76"), GSTValue=D("0.85"))
    document = line(document, 0, NetAmount=D("159.46"))
    response = client.post(PATH, content=encode(document), headers=as_json())
    assert response.status_code == 200, response.text
    assert [row.trade_value for row in children(demo_container)] == [D("168.75"), D("506.25")]


def buy_master(client: TestClient) -> int:
    """A purchase of 40 BHP at 7.00 on the average account, after master 195 is allocated."""
    assert client.post(PATH, content=SEED_JSON, headers=as_json()).status_code == 200
    body = {
        "account_id": "AU-AVG",
        "symbol": "BHP",
        "side": "Buy",
        "quantity": "40",
        "fills": [{"quantity": "40", "price": "7.00"}],
        "master_reference": "BUY-MASTER-1",
    }
    response = client.post("/api/v1/blocks", json=body, headers=bearer(client))
    assert response.status_code == 201, response.text
    block_id: int = response.json()["block_trade_allocation_id"]
    return block_id


def purchase(block_id: int, net_amount: Decimal) -> dict[str, Any]:
    return {
        "BlockTradeAllocationID": block_id,
        "MasterReference": "BUY-MASTER-1",
        "AllocationDetails": [
            {
                "ClientID": 1574444,
                "Quantity": 40,
                "Price": D("7.00"),
                "TradeValue": D("280.00"),
                "NetAmount": net_amount,
                "CustomBrokerageFee": D("10.00"),
                "GSTValue": D("1.00"),
                "AllocationReference": "BUY-1",
                "NotesForClient": None,
                "OtherFees": D("0.0"),
            }
        ],
    }


def test_a_client_buys_from_a_buy_master_paying_the_trade_value_plus_fees(
    client: TestClient, demo_container: Container
) -> None:
    block_id = buy_master(client)
    response = client.post(PATH, content=encode(purchase(block_id, D("291.00"))), headers=as_json())
    assert response.status_code == 200, response.text
    assert holding(client, "1574444-01") == ("40", "9868.47")  # 10159.47 − 291.00
    [row] = children(demo_container, block_id)
    assert (row.side, row.net_amount, row.comment) == ("Buy", D("291.00"), "")


def test_the_net_amount_of_a_purchase_adds_the_fees(
    client: TestClient, demo_container: Container
) -> None:
    block_id = buy_master(client)
    response = client.post(PATH, content=encode(purchase(block_id, D("269.00"))), headers=as_json())
    assert response.status_code == 400
    assert response.json()[0]["Errors"] == [
        "NetAmount 269.00 does not equal TradeValue + fees = 291.00 for a purchase (within 0.01)"
    ]
    assert children(demo_container, block_id) == []


def test_a_master_without_fills_has_nothing_to_allocate(
    client: TestClient, demo_container: Container
) -> None:
    body = {"account_id": "AU-AVG", "symbol": "BHP", "side": "Sell", "quantity": "10"}
    body["master_reference"] = "EMPTY-1"
    block_id = client.post("/api/v1/blocks", json=body, headers=bearer(client)).json()["id"]
    document = seed_request()
    document["BlockTradeAllocationID"] = block_id
    document["MasterReference"] = "EMPTY-1"
    assert refused(client, demo_container, document)[0] == [
        f"Quantity 25 exceeds the unallocated quantity of block trade allocation {block_id}: "
        "0 unallocated, 25 requested up to this allocation",
        f"Price cannot be checked: block trade allocation {block_id} has no fills",
    ]
