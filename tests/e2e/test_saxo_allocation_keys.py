"""The Saxo dialect's allocation keys through HTTP: the seed's key 227, previews, creation
rules with Saxo's error body, listing and deletion."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

OWNER = "LZTc7DdejXODf-WSl2aCyQ=="
SX_2001 = "Hk9Jw0lYxXO7qcBuZMR1bQ=="
SX_2002 = "W1Y2v3E4R5t6y7U8i9O0pA=="
THIRD = "33.333333333333336"


def key_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "AllocationKeyName": "Thirds",
        "AllocationUnitType": "Percentage",
        "MarginHandling": "Reduce",
        "OneTime": False,
        "OwnerAccountKey": OWNER,
        "ParticipatingAccountsInfo": [
            {"AcceptRemainderAmount": True, "AccountKey": SX_2001, "Priority": 1, "UnitValue": 10},
            {"AcceptRemainderAmount": False, "AccountKey": SX_2002, "Priority": 1, "UnitValue": 90},
        ],
    }
    body.update(changes)
    return body


def thirds_as_json_floats() -> bytes:
    """Three participants of 100/3 written the way a JavaScript client writes them."""
    participants = ",".join(
        f'{{"AcceptRemainderAmount":true,"AccountId":"{account}","Priority":{priority},'
        f'"UnitValue":{THIRD}}}'
        for priority, account in enumerate(("SX-2001", "SX-2002", "6688"), start=1)
    )
    body = json.dumps(key_body(ParticipatingAccountsInfo=[]))
    return body.replace(
        '"ParticipatingAccountsInfo": []', f'"ParticipatingAccountsInfo": [{participants}]'
    ).encode()


def test_key_227_shows_the_seed_s_fields_with_computed_participants_and_its_creation_time(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    response = client.get("/trade/v1/allocationkeys/227", headers=demo_headers)
    assert response.status_code == 200, response.text
    body = response.json()
    expected = {
        "AllocationUnitType": "Percentage",
        "MarginHandling": "Reduce",
        "AllocationKeyId": "227",
        "AllocationKeyName": "MyAllocation_Key",
        "Status": "Active",
        "OwnerAccountKey": OWNER,
        "Participants": 2,
        "TotalUnitValues": 100,
        "Uic": 4361,
        "AssetType": "CfdOnStock",
        "BuySell": "Buy",
        "ExternalReference": "Order123",
        "IsValid": True,
    }
    assert {name: body[name] for name in expected} == expected
    assert body["ErrorAccount"].endswith("-ERROR")
    created = datetime.fromisoformat(body["CreationTime"].replace("Z", "+00:00"))
    assert abs(datetime.now(UTC) - created) < timedelta(hours=1)
    assert [
        (p["AccountKey"], p["ClientKey"], p["Priority"], p["UnitValue"], p["AcceptRemainderAmount"])
        for p in body["ParticipatingAccountsInfo"]
    ] == [(SX_2001, "ck-2001", 1, 10, True), (SX_2002, "ck-2002", 1, 90, False)]


def test_the_preview_of_key_227_for_15_shares_gives_2_and_13_with_no_remainder(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    response = client.get(
        "/trade/v1/allocationkeys/distributions/227?Totalamount=15&Uic=4361&AssetType=CfdOnStock",
        headers=demo_headers,
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "Remainder": 0,
        "SubClientsInfo": [
            {"AccountId": "SX-2001", "Amount": 2, "MultiLegAmount": 0},
            {"AccountId": "SX-2002", "Amount": 13, "MultiLegAmount": 0},
        ],
    }


def test_a_key_of_thirds_sent_as_json_floats_is_accepted_and_splits_100_shares_34_33_33(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    created = client.post(
        "/trade/v1/allocationkeys",
        content=thirds_as_json_floats(),
        headers={**demo_headers, "Content-Type": "application/json"},
    )
    assert created.status_code == 201, created.text
    key_id = created.json()["AllocationKeyId"]
    preview = client.get(
        f"/trade/v1/allocationkeys/distributions/{key_id}?Totalamount=100", headers=demo_headers
    )
    assert preview.status_code == 200, preview.text
    assert [row["Amount"] for row in preview.json()["SubClientsInfo"]] == [34, 33, 33]
    details = client.get(f"/trade/v1/allocationkeys/{key_id}", headers=demo_headers).json()
    assert (
        f'"UnitValue":{THIRD}'
        in client.get(f"/trade/v1/allocationkeys/{key_id}", headers=demo_headers).text
    )
    assert details["Participants"] == 3


@pytest.mark.parametrize(
    ("changes", "code", "field", "words"),
    [
        (
            {
                "ParticipatingAccountsInfo": [
                    {
                        "AcceptRemainderAmount": True,
                        "AccountKey": SX_2001,
                        "Priority": 1,
                        "UnitValue": 9,
                    },
                    {
                        "AcceptRemainderAmount": False,
                        "AccountKey": SX_2002,
                        "Priority": 1,
                        "UnitValue": 90,
                    },
                ]
            },
            "DomainValidationError",
            "ParticipatingAccountsInfo",
            "must total 100; they total 99",
        ),
        (
            {
                "ParticipatingAccountsInfo": [
                    {
                        "AcceptRemainderAmount": False,
                        "AccountKey": SX_2001,
                        "Priority": 1,
                        "UnitValue": 10,
                    },
                    {
                        "AcceptRemainderAmount": False,
                        "AccountKey": SX_2002,
                        "Priority": 1,
                        "UnitValue": 90,
                    },
                ]
            },
            "DomainValidationError",
            "ParticipatingAccountsInfo",
            "AcceptRemainderAmount",
        ),
        (
            {
                "ParticipatingAccountsInfo": [
                    {
                        "AcceptRemainderAmount": True,
                        "AccountKey": SX_2001,
                        "Priority": 1,
                        "UnitValue": 10,
                    },
                    {
                        "AcceptRemainderAmount": False,
                        "AccountKey": OWNER,
                        "Priority": 1,
                        "UnitValue": 90,
                    },
                ]
            },
            "DomainValidationError",
            "ParticipatingAccountsInfo[1]",
            "is not a client account",
        ),
        ({"ExternalReference": "x" * 51}, "InvalidModelState", "ExternalReference", "at most 50"),
        ({"MarginHandling": "Ignore"}, "InvalidModelState", "MarginHandling", "MarginHandling"),
        ({"OneTime": None, "Extra": 1}, "InvalidModelState", "Extra", "not a field"),
    ],
    ids=[
        "percentages-99",
        "no-remainder-acceptor",
        "non-client-account",
        "reference-51",
        "enum",
        "extra",
    ],
)
def test_a_key_breaking_a_rule_answers_400_with_saxo_s_error_and_a_specific_message(
    client: TestClient,
    demo_headers: dict[str, str],
    changes: dict[str, Any],
    code: str,
    field: str,
    words: str,
) -> None:
    response = client.post(
        "/trade/v1/allocationkeys", json=key_body(**changes), headers=demo_headers
    )
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["ErrorCode"] == code
    assert any(words in message for message in body["ModelState"][field]), body
    listed = client.get(
        "/trade/v1/allocationkeys?Statuses=Active,Inactive,OneTime", headers=demo_headers
    )
    assert listed.json()["__count"] == 1  # nothing was created


def test_an_unknown_key_is_404_allocation_key_not_found_and_no_token_is_401(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    for path in ("/trade/v1/allocationkeys/999", "/trade/v1/allocationkeys/x227"):
        response = client.get(path, headers=demo_headers)
        assert response.status_code == 404
        assert response.json()["ErrorCode"] == "AllocationKeyNotFound"
    missing = client.get(
        "/trade/v1/allocationkeys/distributions/999?Totalamount=1", headers=demo_headers
    )
    assert missing.status_code == 404
    anonymous = client.get("/trade/v1/allocationkeys/227")
    assert anonymous.status_code == 401
    assert anonymous.json()["ErrorCode"] == "Unauthorized"


def test_the_key_list_pages_and_filters_by_status_account_and_client(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    one_time = client.post(
        "/trade/v1/allocationkeys", json=key_body(OneTime=True), headers=demo_headers
    )
    assert one_time.status_code == 201, one_time.text
    active = client.get("/trade/v1/allocationkeys", headers=demo_headers).json()
    assert [key["AllocationKeyId"] for key in active["Data"]] == ["227"]
    assert active["Data"][0]["TotalUnitValues"] == 100 and active["MaxRows"] == 1000
    both = client.get(
        "/trade/v1/allocationkeys?Statuses=Active,OneTime&$top=1", headers=demo_headers
    ).json()
    assert both["__count"] == 2 and len(both["Data"]) == 1
    assert "$skip=1" in both["__next"] and "Statuses=Active,OneTime" in both["__next"]
    second = client.get(both["__next"], headers=demo_headers).json()
    assert second["Data"][0]["Status"] == "OneTime" and "__next" not in second
    by_account = client.get(
        f"/trade/v1/allocationkeys?AccountKey={SX_2002}&Statuses=OneTime", headers=demo_headers
    ).json()
    assert by_account["__count"] == 1
    by_client = client.get("/trade/v1/allocationkeys?ClientKey=ck-1001", headers=demo_headers)
    assert by_client.json()["__count"] == 0
    wrong = client.get("/trade/v1/allocationkeys?Statuses=Sleeping", headers=demo_headers)
    assert wrong.status_code == 400 and "Statuses" in wrong.json()["ModelState"]


def test_a_user_limited_to_other_clients_sees_no_key_of_these_participants(
    client: TestClient,
) -> None:
    from tests.conftest import bearer

    advisor = bearer(client, "advisor", "advisor")
    assert client.get("/trade/v1/allocationkeys", headers=advisor).json()["__count"] == 0
    assert client.get("/trade/v1/allocationkeys/227", headers=advisor).status_code == 403


def test_deleting_a_key_makes_it_inactive_and_unusable_for_orders(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    deleted = client.delete("/trade/v1/allocationkeys/227", headers=demo_headers)
    assert deleted.status_code == 204
    assert (
        client.get("/trade/v1/allocationkeys/227", headers=demo_headers).json()["Status"]
        == "Inactive"
    )
    order = client.post(
        "/trade/v2/orders",
        json={
            "AccountKey": OWNER,
            "Uic": 4361,
            "AssetType": "CfdOnStock",
            "BuySell": "Buy",
            "Amount": 100,
            "OrderType": "Market",
            "AllocationKeyId": "227",
        },
        headers=demo_headers,
    )
    assert order.status_code == 400
    assert order.json()["ErrorCode"] == "DomainValidationError"
    assert "Inactive" in order.json()["Message"]
