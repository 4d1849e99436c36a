"""Saxo's own block-order sample (openapi-samples-js, orders/block-orders with its boilerplate),
replayed call by call against allotment under Saxo's base path `/openapi`: the same requests,
bodies and JSON floats the sample sends, its answers read the way the sample reads them, from
the batch it sends first to cancelling the order and deleting the key."""

from __future__ import annotations

import base64
import json
import random
from typing import Any
from urllib.parse import quote

from fastapi.testclient import TestClient

API_HOST = "testserver"
API_PATH = "/openapi"
API_URL = f"http://{API_HOST}{API_PATH}"
"""The sample's `demo.apiUrl`: `https://` + apiHost + apiPath, with allotment's host."""

KEY_TEMPLATE: dict[str, Any] = {
    "AllocationKeyName": "MyAllocationKeyName",
    "AllocationUnitType": "Unit",
    "OwnerAccountKey": "(added on AllocationKey request)",
    "MarginHandling": "Reduce",
    "OneTime": False,
    "ParticipatingAccountsInfo": [
        {
            "AcceptRemainderAmount": True,
            "AccountKey": "(added on managed accounts request)",
            "Priority": 1,
            "UnitValue": 70003,
        },
        {
            "AcceptRemainderAmount": False,
            "AccountKey": "(added on managed accounts request)",
            "Priority": 2,
            "UnitValue": 30000,
        },
    ],
}
ORDER_TEMPLATE: dict[str, Any] = {
    "AccountKey": "(added on order request)",
    "Uic": 21,
    "OrderType": "Market",
    "AssetType": "FxSpot",
    "BuySell": "Buy",
    "Amount": 100003,
    "AllocationKeyId": "0",
    "ExternalReference": "MyBlockOrderCorrelationId",
    "ManualOrder": True,
    "OrderDuration": {"DurationType": "DayOrder"},
}
"""The sample page's two text areas, as they are filled before any button is pressed."""


def token_payload(token: str) -> dict[str, Any]:
    """What the boilerplate's getKeysFromToken reads: the JWT's middle part, base64."""
    middle = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(middle + "=" * (-len(middle) % 4))
    )
    return decoded


def batch_request(user_key: str, client_key: str) -> str:
    """The boilerplate's getDataFromApi body, byte for byte."""
    template = (
        "--+\r\nContent-Type:application/http; msgtype=request\r\n\r\nGET "
        + API_PATH
        + "/port/v1/{endpoint} HTTP/1.1\r\nX-Request-Id:{id}\r\nAccept-Language:en\r\nHost:"
        + API_HOST
        + "\r\n\r\n\r\n"
    )
    body = template.replace("{endpoint}", "users/" + quote(user_key, safe="")).replace("{id}", "1")
    body += template.replace("{endpoint}", "clients/" + quote(client_key, safe="")).replace(
        "{id}", "2"
    )
    body += template.replace(
        "{endpoint}", "accounts?IncludeSubAccounts=true&ClientKey=" + quote(client_key, safe="")
    ).replace("{id}", "3")
    return body + "--+--\r\n"


def has_batch_response_errors(lines: list[str]) -> bool:
    """The boilerplate's hasBatchResponseErrors, line for line (its quirks included: the status
    is the fourth line of the answer, a part opens with a line starting with "--")."""
    position, has_errors, status = 0, False, ""
    for number, line in enumerate(lines):
        if line[:2] == "--" and number != 0 and status[:1] != "2":
            has_errors, position = True, 0
        elif position == 3:
            status = line[line.index(" ") + 1 :]
        position += 1
    return has_errors


def process_batch_response(lines: list[str]) -> dict[str, Any]:
    """The boilerplate's processBatchResponse: each JSON line belongs to the X-Request-Id
    before it."""
    found: dict[str, Any] = {}
    request_id = ""
    for raw in lines:
        line = raw.strip()
        if line.startswith("X-Request-Id:"):
            request_id = line[len("X-Request-Id:") :].strip()
        elif line[:1] == "{":
            found[request_id] = json.loads(line)
    return found


def test_saxo_s_block_order_sample_runs_from_its_batch_to_cancelling_its_order(
    client: TestClient,
) -> None:
    login = client.post("/api/v1/auth/token", json={"username": "demo", "password": "demo"})
    token = login.json()["access_token"]
    auth = {"Authorization": "Bearer " + token}
    claims = token_payload(token)
    user_key, client_key = claims["uid"], claims["cid"]

    # 1. The boilerplate's batch: the user, the client (its DefaultAccountKey), the accounts.
    batch = client.post(
        API_URL + "/port/batch",
        content=batch_request(user_key, client_key),
        headers={
            "Content-Type": 'multipart/mixed; boundary="+"',
            "Accept": "*/*",
            "Accept-Language": "en, *;q=0.5",
            "Cache-Control": "no-cache",
            **auth,
        },
    )
    assert batch.status_code == 200, batch.text
    assert batch.headers["content-type"].startswith("multipart/mixed; boundary=")
    lines = batch.text.split("\n")
    assert not has_batch_response_errors(lines), batch.text
    answers = process_batch_response(lines)
    assert answers["1"]["Name"] == "demo" and answers["1"]["LastLoginStatus"] == "Successful"
    account_key = answers["2"]["DefaultAccountKey"]
    assert account_key in {a["AccountKey"] for a in answers["3"]["Data"] if a["Active"]}

    # 2. "Get managed accounts": every active account of another client participates.
    managed = client.get(
        API_URL + "/port/v1/accounts?IncludeSubAccounts=true&ClientKey=" + quote(client_key),
        headers=auth,
    )
    assert managed.status_code == 200, managed.text
    key_object = json.loads(json.dumps(KEY_TEMPLATE))
    key_object["OwnerAccountKey"] = account_key
    key_object["ParticipatingAccountsInfo"] = [
        {
            "AcceptRemainderAmount": True,
            "AccountKey": account["AccountKey"],
            "Priority": priority,
            "UnitValue": 10,
        }
        for priority, account in enumerate(
            (a for a in managed.json()["Data"] if a["ClientKey"] != client_key and a["Active"]),
            start=1,
        )
    ]
    participants = key_object["ParticipatingAccountsInfo"]
    assert len(participants) >= 2
    for participant in participants:  # changeAllocationUnitType, "Unit": Amount / count
        participant["UnitValue"] = ORDER_TEMPLATE["Amount"] / len(participants)

    # 3. "Create key", "Get allocation keys", "Get key details", "Get distributed amount".
    created = client.post(
        API_URL + "/trade/v1/allocationkeys",
        content=json.dumps(key_object),
        headers={**auth, "Content-Type": "application/json; charset=utf-8"},
    )
    assert created.status_code == 201, created.text
    key_id = created.json()["AllocationKeyId"]
    order_object = {**ORDER_TEMPLATE, "AccountKey": account_key, "AllocationKeyId": key_id}
    keys = client.get(
        API_URL + "/trade/v1/allocationkeys?Statuses=Active,DeactivateAfterOrderPlacement,OneTime",
        headers=auth,
    ).json()
    assert key_id in [key["AllocationKeyId"] for key in keys["Data"]] and keys["__count"] >= 2
    details = client.get(API_URL + "/trade/v1/allocationkeys/" + key_id, headers=auth).json()
    assert sum(p["UnitValue"] for p in details["ParticipatingAccountsInfo"]) == 100003
    assert details["TotalUnitValues"] == 100003
    distributed = client.get(
        f"{API_URL}/trade/v1/allocationkeys/distributions/{key_id}?Totalamount="
        f"{order_object['Amount']}&Uic={order_object['Uic']}&AssetType={order_object['AssetType']}",
        headers=auth,
    ).json()
    assert sum(row["Amount"] for row in distributed["SubClientsInfo"]) == 100003

    # 4. "Precheck order", "Place order", "Get order details", "Cancel".
    prechecked = client.post(
        API_URL + "/trade/v2/orders/precheck",
        content=json.dumps({**order_object, "FieldGroups": ["Costs", "MarginImpactBuySell"]}),
        headers={
            **auth,
            "Content-Type": "application/json; charset=utf-8",
            "X-Request-ID": str(random.random()),
        },
    )
    assert prechecked.status_code == 200, prechecked.text
    assert prechecked.json()["PreCheckResult"] == "Ok" and "ErrorInfo" not in prechecked.json()
    placed = client.post(
        API_URL + "/trade/v2/orders",
        content=json.dumps(order_object),
        headers={**auth, "Content-Type": "application/json; charset=utf-8"},
    )
    assert placed.status_code == 200, placed.text
    order_id = placed.json()["OrderId"]
    shown = client.get(f"{API_URL}/port/v1/orders/{quote(client_key)}/{order_id}", headers=auth)
    assert shown.status_code == 200, shown.text
    assert [row["OrderId"] for row in shown.json()["Data"]] == [order_id]
    assert shown.json()["Data"][0]["Amount"] == 100003
    cancelled = client.delete(
        f"{API_URL}/trade/v2/orders/{order_id}?AccountKey={quote(account_key, safe='')}",
        headers=auth,
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json() == {"Orders": [{"OrderId": order_id}]}
    gone = client.get(f"{API_URL}/port/v1/orders/{quote(client_key)}/{order_id}", headers=auth)
    assert gone.json() == {"__count": 0, "Data": []}

    # 5. "Delete key".
    deleted = client.delete(API_URL + "/trade/v1/allocationkeys/" + key_id, headers=auth)
    assert deleted.status_code == 204
