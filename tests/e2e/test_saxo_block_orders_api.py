"""Saxo block orders through HTTP: the block-order sample client's steps, orders, fills reported
through the native API, Reject over HTTP, account lists and fee schedules."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

OWNER = "LZTc7DdejXODf-WSl2aCyQ=="


def order_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "AccountKey": OWNER,
        "Uic": 4361,
        "AssetType": "CfdOnStock",
        "BuySell": "Buy",
        "Amount": 1000,
        "OrderType": "Market",
        "AllocationKeyId": "227",
        "ExternalReference": "MyBlockOrderCorrelationId",
        "ManualOrder": True,
        "OrderDuration": {"DurationType": "DayOrder"},
    }
    body.update(changes)
    return body


def test_the_block_order_sample_finds_its_accounts_creates_a_key_previews_it_and_orders(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    own = client.get("/port/v1/accounts", headers=demo_headers).json()
    owner = next(account for account in own["Data"] if account["AccountKey"] == OWNER)
    assert owner["AccountType"] == "BlockTrading"
    client_key = owner["ClientKey"]
    everything = client.get(
        f"/port/v1/accounts?IncludeSubAccounts=true&ClientKey={client_key}", headers=demo_headers
    ).json()
    # The sample's own rule: accounts of other clients than the owner's, active, participate.
    managed = [a for a in everything["Data"] if a["ClientKey"] != client_key and a["Active"]]
    assert {"SX-2001", "SX-2002"} <= {account["AccountId"] for account in managed}
    amount = 100003
    participants = [
        {
            "AcceptRemainderAmount": True,
            "AccountKey": account["AccountKey"],
            "Priority": priority,
            "UnitValue": amount / len(managed),
        }
        for priority, account in enumerate(managed, start=1)
    ]
    created = client.post(
        "/trade/v1/allocationkeys",
        json={
            "AllocationKeyName": "MyAllocationKeyName",
            "AllocationUnitType": "Unit",
            "OwnerAccountKey": OWNER,
            "MarginHandling": "Reduce",
            "OneTime": False,
            "ParticipatingAccountsInfo": participants,
        },
        headers=demo_headers,
    )
    assert created.status_code == 201, created.text
    key_id = created.json()["AllocationKeyId"]
    preview = client.get(
        f"/trade/v1/allocationkeys/distributions/{key_id}?Totalamount={amount}"
        "&Uic=4361&AssetType=CfdOnStock",
        headers=demo_headers,
    ).json()
    assert sum(row["Amount"] for row in preview["SubClientsInfo"]) == amount
    assert preview["Remainder"] == 0
    placed = client.post(
        "/trade/v2/orders",
        json=order_body(Amount=amount, AllocationKeyId=key_id),
        headers=demo_headers,
    )
    assert placed.status_code == 200, placed.text
    assert placed.json()["OrderId"].isdigit()


def test_a_block_order_is_allocated_fill_by_fill_and_its_block_shows_each_participant(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    placed = client.post("/trade/v2/orders", json=order_body(), headers=demo_headers)
    assert placed.status_code == 200, placed.text
    order_id = placed.json()["OrderId"]
    for quantity, price in (("300", "10.00"), ("500", "10.10"), ("200", "10.05")):
        response = client.post(
            f"/api/v1/blocks/{order_id}/fills",
            json={"quantity": quantity, "price": price},
            headers=demo_headers,
        )
        assert response.status_code == 201, response.text
    block = client.get(f"/api/v1/blocks/{order_id}", headers=demo_headers).json()
    assert block["average_price"] == "10.060000" and block["unallocated_quantity"] == "0"
    rows = block["details"]["saxo"]["participants"]
    assert [(r["account_id"], r["target_quantity"], r["allocated_quantity"]) for r in rows] == [
        ("SX-2001", "100", "100"),
        ("SX-2002", "900", "900"),
    ]
    assert {r["average_price"] for r in rows} == {"10.060000"}
    assert {r["deviation"] for r in rows} == {"0.000000"}
    fills = client.get(f"/api/v1/blocks/{order_id}/fills", headers=demo_headers).json()
    assert len(fills) == 3


def test_a_reject_key_refuses_a_fill_over_http_with_409_and_records_nothing(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    key = client.post(
        "/trade/v1/allocationkeys",
        json={
            "AllocationKeyName": "Reject",
            "AllocationUnitType": "Unit",
            "MarginHandling": "Reject",
            "OneTime": False,
            "OwnerAccountKey": OWNER,
            "ParticipatingAccountsInfo": [
                {
                    "AcceptRemainderAmount": True,
                    "AccountId": "SX-2001",
                    "Priority": 1,
                    "UnitValue": 100,
                },
                {
                    "AcceptRemainderAmount": False,
                    "AccountId": "6688",
                    "Priority": 1,
                    "UnitValue": 20000,
                },
            ],
        },
        headers=demo_headers,
    )
    assert key.status_code == 201, key.text
    placed = client.post(
        "/trade/v2/orders",
        json=order_body(Amount=20100, AllocationKeyId=key.json()["AllocationKeyId"]),
        headers=demo_headers,
    )
    order_id = placed.json()["OrderId"]
    # 6688 has 100,000.00: 20,000 shares at 10.00 would cost 200,000.00.
    refused = client.post(
        f"/api/v1/blocks/{order_id}/fills",
        json={"quantity": "20100", "price": "10.00"},
        headers=demo_headers,
    )
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "MarginHandling Reject" in refused.json()["detail"]
    assert client.get(f"/api/v1/blocks/{order_id}/fills", headers=demo_headers).json() == []
    block = client.get(f"/api/v1/blocks/{order_id}", headers=demo_headers).json()
    assert block["filled_quantity"] == "0"
    cash = client.get("/api/v1/accounts/6688/balances", headers=demo_headers).json()["cash"]
    assert cash == [{"currency": "USD", "amount": "100000.00"}]


def test_orders_that_cannot_be_block_orders_answer_400_in_saxo_s_shape(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    cases = [
        (order_body(AllocationKeyId=None), "InvalidModelState", "AllocationKeyId"),
        (order_body(Amount=-5), "InvalidModelState", "Amount"),
        (order_body(AccountKey="W1Y2v3E4R5t6y7U8i9O0pA=="), "DomainValidationError", "AccountKey"),
        (order_body(Uic=211, AssetType="Stock"), "DomainValidationError", "Uic"),
        (order_body(BuySell="Sell"), "DomainValidationError", "BuySell"),
        (order_body(AllocationKeyId="4711"), "DomainValidationError", "AllocationKeyId"),
    ]
    for body, code, field in cases:
        response = client.post("/trade/v2/orders", json=body, headers=demo_headers)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["ErrorCode"] == code, response.text
        assert field in response.json()["ModelState"], response.text
    assert client.get("/api/v1/blocks?after_id=195", headers=demo_headers).json() == []


def test_a_native_block_naming_key_227_is_allocated_by_it_from_its_first_fill(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    response = client.post(
        "/api/v1/blocks",
        json={
            "account_id": "SAXO-AVG",
            "symbol": "CFD4361",
            "side": "Buy",
            "quantity": "50",
            "allocation_key_id": "227",
            "fills": [{"quantity": "50", "price": "20.00"}],
        },
        headers=demo_headers,
    )
    assert response.status_code == 201, response.text
    rows = response.json()["details"]["saxo"]["participants"]
    assert [r["held_quantity"] for r in rows] == ["5", "45"]


def test_the_account_list_of_one_client_and_an_unknown_client_key(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    one = client.get("/port/v1/accounts?ClientKey=ck-2001", headers=demo_headers).json()
    assert [(a["AccountId"], a["AccountType"], a["ClientId"]) for a in one["Data"]] == [
        ("SX-2001", "Normal", "2001")
    ]
    unknown = client.get("/port/v1/accounts?ClientKey=nobody", headers=demo_headers)
    assert unknown.status_code == 404 and unknown.json()["ErrorCode"] == "NotFound"
    paged = client.get("/port/v1/accounts?IncludeSubAccounts=true&$top=2", headers=demo_headers)
    assert len(paged.json()["Data"]) == 2 and "__next" in paged.json()


def test_fee_schedules_are_set_per_company_and_per_client_and_read_with_their_source(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    assert client.get("/api/v1/fee-schedules", headers=demo_headers).json()["source"] == "none"
    company = client.put(
        "/api/v1/fee-schedules",
        json={"commission_per_share": "0.01", "commission_minimum": "5.00"},
        headers=demo_headers,
    )
    assert company.status_code == 200, company.text
    assert company.json()["tax_rate"] == "0.10"
    own = client.put(
        "/api/v1/clients/2002/fee-schedule", json={"commission_rate": "0.001"}, headers=demo_headers
    )
    assert own.status_code == 200, own.text
    assert (
        client.get("/api/v1/clients/2001/fee-schedule", headers=demo_headers).json()["source"]
        == "company"
    )
    read = client.get("/api/v1/clients/2002/fee-schedule", headers=demo_headers).json()
    assert (read["source"], read["commission_rate"]) == ("client", "0.001")
    refused = client.put(
        "/api/v1/fee-schedules", json={"commission_rate": "1.5"}, headers=demo_headers
    )
    assert refused.status_code == 422 and "commission_rate" in refused.json()["detail"]
    events = client.get("/api/v1/audit-events?object_type=fee_schedule", headers=demo_headers)
    assert [e["object_id"] for e in events.json()["items"]] == ["company", "2002"]
