"""A client written for Saxo's gateway works against allotment by changing its base URL and
credentials: Saxo's base path `/openapi`, absolute `__next` links, the token's `cid` and `uid`,
users and clients in Saxo's shapes, batches, order precheck, open order and cancel, Saxo's
trading error codes, CashAmount keys and TotalUnitValues without float noise."""

from __future__ import annotations

import base64
import json
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import bearer

OWNER = "LZTc7DdejXODf-WSl2aCyQ=="
SX_2001 = "Hk9Jw0lYxXO7qcBuZMR1bQ=="
SX_2002 = "W1Y2v3E4R5t6y7U8i9O0pA=="
GATEWAY = "/openapi"


def claims_of(headers: dict[str, str]) -> dict[str, Any]:
    middle = headers["Authorization"].removeprefix("Bearer ").split(".")[1]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(middle + "=" * (-len(middle) % 4))
    )
    return decoded


def key_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "AllocationKeyName": "Drop-in",
        "AllocationUnitType": "Percentage",
        "MarginHandling": "Reduce",
        "OneTime": False,
        "OwnerAccountKey": OWNER,
        "ParticipatingAccountsInfo": [
            {"AcceptRemainderAmount": True, "AccountKey": SX_2001, "Priority": 1, "UnitValue": 10},
            {"AcceptRemainderAmount": False, "AccountKey": SX_2002, "Priority": 2, "UnitValue": 90},
        ],
    }
    body.update(changes)
    return body


def order_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "AccountKey": OWNER,
        "Uic": 4361,
        "AssetType": "CfdOnStock",
        "BuySell": "Buy",
        "Amount": 100,
        "OrderType": "Market",
        "AllocationKeyId": "227",
        "ManualOrder": True,
    }
    body.update(changes)
    return body


def test_every_saxo_route_is_also_served_under_openapi_with_saxo_s_errors_and_one_operation(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    root = client.get("/trade/v1/allocationkeys/227", headers=demo_headers)
    gateway = client.get(f"{GATEWAY}/trade/v1/allocationkeys/227", headers=demo_headers)
    assert gateway.status_code == 200 and gateway.json() == root.json()
    accounts = client.get(f"{GATEWAY}/port/v1/accounts", headers=demo_headers)
    assert accounts.status_code == 200 and accounts.json()["Data"]
    missing = client.get(f"{GATEWAY}/trade/v1/allocationkeys/4711", headers=demo_headers)
    assert missing.status_code == 404 and missing.json()["ErrorCode"] == "AllocationKeyNotFound"
    anonymous = client.get(f"{GATEWAY}/port/v1/users/me")
    assert anonymous.status_code == 401 and anonymous.json()["ErrorCode"] == "Unauthorized"
    unknown = client.get(f"{GATEWAY}/port/v1/nothing-here", headers=demo_headers)
    assert unknown.status_code == 404 and unknown.json()["ErrorCode"] == "NotFound"
    paths = client.get("/openapi.json").json()["paths"]
    assert "/trade/v1/allocationkeys/{AllocationKeyId}" in paths
    assert not [path for path in paths if path.startswith(f"{GATEWAY}/")]
    assert {"/port/batch", "/trade/v2/orders/precheck", "/port/v1/users/me"} <= set(paths)


def test_next_links_are_absolute_on_the_base_path_the_request_came_in_on(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    assert client.post("/trade/v1/allocationkeys", json=key_body(), headers=demo_headers).is_success
    for base in ("", GATEWAY):
        page = client.get(f"{base}/trade/v1/allocationkeys?$top=1", headers=demo_headers).json()
        assert page["__next"].startswith(f"http://testserver{base}/trade/v1/allocationkeys?")
        assert "$skip=1" in page["__next"] and "$top=1" in page["__next"]
        assert client.get(page["__next"], headers=demo_headers).json()["Data"]
    accounts = client.get(
        f"{GATEWAY}/port/v1/accounts?IncludeSubAccounts=true&$top=2", headers=demo_headers
    ).json()
    assert accounts["__next"].startswith("http://testserver/openapi/port/v1/accounts?")


def test_a_token_carries_the_caller_s_client_key_as_cid_and_user_key_as_uid(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    claims = claims_of(demo_headers)
    me = client.get(f"{GATEWAY}/port/v1/users/me", headers=demo_headers).json()
    assert claims["cid"] == me["ClientKey"] and claims["uid"] == me["UserKey"] == "demo"
    assert claims["sub"] == "demo" and claims["knd"] == "user"
    machine = client.post(
        "/connect/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "demo-client",
            "client_secret": "demo-secret",
        },
    ).json()["access_token"]
    machine_claims = claims_of({"Authorization": f"Bearer {machine}"})
    assert machine_claims["cid"] == claims["cid"] and machine_claims["uid"] == "demo-client"
    robot = client.get(
        f"{GATEWAY}/port/v1/users/me", headers={"Authorization": f"Bearer {machine}"}
    ).json()
    assert robot["UserKey"] == "demo-client" and robot["Name"] == "Demo client"


def test_users_and_clients_answer_in_saxo_s_shapes(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    user = client.get("/port/v1/users/me", headers=demo_headers).json()
    assert set(user) >= {"ClientKey", "UserKey", "UserId", "Name", "LegalAssetTypes"}
    assert user["LastLoginStatus"] == "Successful" and user["LastLoginTime"].endswith("Z")
    assert (
        client.get("/port/v1/users/demo", headers=demo_headers).json()["UserId"] == user["UserId"]
    )
    me = client.get("/port/v1/clients/me", headers=demo_headers).json()
    assert me["ClientKey"] == user["ClientKey"] == me["ClientId"]
    assert me["Name"] == "Demo Broker" and me["DefaultCurrency"] == "USD"
    accounts = client.get("/port/v1/accounts", headers=demo_headers).json()["Data"]
    default = next(a for a in accounts if a["AccountKey"] == me["DefaultAccountKey"])
    assert (
        default["AccountType"] == "BlockTrading" and default["AccountId"] == me["DefaultAccountId"]
    )
    by_key = client.get(f"/port/v1/clients/{me['ClientKey']}", headers=demo_headers).json()
    assert by_key == me
    sub = client.get("/port/v1/clients/ck-2001", headers=demo_headers).json()
    assert (sub["ClientId"], sub["DefaultAccountId"], sub["IsMarginTradingAllowed"]) == (
        "2001",
        "SX-2001",
        False,
    )
    advisor = bearer(client, "advisor", "advisor")
    assert client.get("/port/v1/clients/ck-2001", headers=advisor).status_code == 403
    assert client.get("/port/v1/users/demo", headers=advisor).status_code == 404
    nobody = client.get("/port/v1/clients/nobody", headers=demo_headers)
    assert nobody.status_code == 404 and nobody.json()["ErrorCode"] == "NotFound"


def batch(parts: list[str], boundary: str = "batch-1") -> str:
    body = "".join(
        f"--{boundary}\r\nContent-Type: application/http; msgtype=request\r\n\r\n{part}\r\n"
        for part in parts
    )
    return body + f"--{boundary}--\r\n"


def test_a_batch_answers_each_embedded_request_in_order_through_the_app_itself(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    created = json.dumps(key_body(ExternalReference="in a batch"))
    body = batch(
        [
            "GET /port/v1/users/me HTTP/1.1\r\nX-Request-Id: a\r\n\r\n",
            "GET /openapi/port/v1/clients/nobody HTTP/1.1\r\nX-Request-Id: b\r\n\r\n",
            "GET /trade/v1/allocationkeys/227 HTTP/1.1\r\nX-Request-Id: c\r\n\r\n",
            "GET /port/v1/users/me HTTP/1.1\r\nAuthorization: Bearer nonsense\r\n\r\n",
            "POST /port/batch HTTP/1.1\r\n\r\n",
        ]
    )
    answer = client.post(
        "/port/batch",
        content=body,
        headers={**demo_headers, "Content-Type": "multipart/mixed; boundary=batch-1"},
    )
    assert answer.status_code == 200, answer.text
    boundary = answer.headers["content-type"].split("boundary=")[1]
    assert answer.text.startswith(f"--{boundary}\r\n") and answer.text.endswith(
        f"--{boundary}--\r\n"
    )
    parts = answer.text.split(f"--{boundary}")[1:-1]
    statuses = [part.split("\r\n")[3] for part in parts]
    assert statuses == [
        "HTTP/1.1 200 OK",
        "HTTP/1.1 404 Not Found",
        "HTTP/1.1 400 Bad Request",
        "HTTP/1.1 401 Unauthorized",
        "HTTP/1.1 400 Bad Request",
    ]
    assert (
        "X-Request-Id: a\r\n" in parts[0]
        and json.loads(parts[0].split("\r\n\r\n")[2])["UserKey"] == "demo"
    )
    assert '"ErrorCode":"NotFound"' in parts[1] and "service group" in parts[2]
    assert "\r\nContent-Type: application/json\r\n" in parts[0]
    assert created  # a write in a trade batch books like a write sent alone:
    trade = client.post(
        "/openapi/trade/batch",
        content=batch(
            [
                "POST /openapi/trade/v1/allocationkeys HTTP/1.1\r\nContent-Type: application/json"
                f"\r\n\r\n{created}"
            ]
        ),
        headers={**demo_headers, "Content-Type": "multipart/mixed; boundary=batch-1"},
    )
    assert "HTTP/1.1 201 Created" in trade.text, trade.text
    keys = client.get("/trade/v1/allocationkeys", headers=demo_headers).json()
    assert "in a batch" in [key.get("ExternalReference") for key in keys["Data"]]


def test_a_batch_without_credentials_or_multipart_body_is_refused_in_saxo_s_shape(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    body = batch(["GET /port/v1/users/me HTTP/1.1\r\n\r\n"])
    mixed = {"Content-Type": "multipart/mixed; boundary=batch-1"}
    assert client.post("/port/batch", content=body, headers=mixed).status_code == 401
    plain = client.post(
        "/port/batch", content=body, headers={**demo_headers, "Content-Type": "text/plain"}
    )
    assert plain.status_code == 400 and "multipart/mixed" in plain.json()["Message"]
    empty = client.post("/port/batch", content="nothing", headers={**demo_headers, **mixed})
    assert empty.status_code == 400 and "no part" in empty.json()["Message"]
    crowd = batch(["GET /port/v1/users/me HTTP/1.1\r\n\r\n"] * 101)
    many = client.post("/port/batch", content=crowd, headers={**demo_headers, **mixed})
    assert many.status_code == 400 and "at most 100" in many.json()["Message"]


def test_the_precheck_answers_ok_or_saxo_s_error_info_and_writes_nothing(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    ok = client.post(
        "/trade/v2/orders/precheck", json=order_body(OrderPrice=12.5), headers=demo_headers
    ).json()
    assert ok == {
        "PreCheckResult": "Ok",
        "EstimatedCashRequired": 1250,
        "EstimatedCashRequiredCurrency": "USD",
    }
    refused = client.post(
        "/trade/v2/orders/precheck", json=order_body(Uic=999), headers=demo_headers
    )
    assert refused.status_code == 200
    assert refused.json()["PreCheckResult"] == "Error"
    assert refused.json()["ErrorInfo"]["ErrorCode"] == "IllegalInstrumentId"
    malformed = client.post(
        "/trade/v2/orders/precheck", json=order_body(Amount="many"), headers=demo_headers
    )
    assert malformed.status_code == 400 and malformed.json()["ErrorCode"] == "InvalidModelState"
    assert client.get("/api/v1/blocks?after_id=195", headers=demo_headers).json() == []


def test_refused_orders_carry_saxo_s_trading_error_codes_in_error_info(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    units = client.post(
        "/trade/v1/allocationkeys",
        json=key_body(
            AllocationUnitType="Unit",
            ParticipatingAccountsInfo=[
                {
                    "AcceptRemainderAmount": True,
                    "AccountKey": SX_2001,
                    "Priority": 1,
                    "UnitValue": 100003 / 3,
                },
                {
                    "AcceptRemainderAmount": True,
                    "AccountKey": SX_2002,
                    "Priority": 2,
                    "UnitValue": 200006 / 3,
                },
            ],
        ),
        headers=demo_headers,
    ).json()["AllocationKeyId"]
    cases = [
        (order_body(AccountKey="nobody"), "IllegalAccount"),
        (order_body(AccountKey=SX_2001), "IllegalAccount"),
        (order_body(Uic=999), "IllegalInstrumentId"),
        (order_body(AllocationKeyId="4711"), "AllocationKeyNotFound"),
        (order_body(AllocationKeyId=units, Amount=100002), "AmountLowerThanAllocationKeyUnits"),
    ]
    for body, code in cases:
        answer = client.post("/trade/v2/orders", json=body, headers=demo_headers)
        assert answer.status_code == 400, answer.text
        assert answer.json()["ErrorInfo"]["ErrorCode"] == code, answer.text
        assert answer.json()["ErrorInfo"]["Message"] == answer.json()["Message"]
    # Thirds of 100003 sent as floats exceed it by float noise only: the order fits.
    fits = client.post(
        "/trade/v2/orders",
        json=order_body(AllocationKeyId=units, Amount=100003),
        headers=demo_headers,
    )
    assert fits.status_code == 200, fits.text
    assert client.delete("/trade/v1/allocationkeys/227", headers=demo_headers).status_code == 204
    deleted = client.post("/trade/v2/orders", json=order_body(), headers=demo_headers).json()
    assert deleted["ErrorInfo"]["ErrorCode"] == "AllocationKeyNotFound"
    assert "Inactive" in deleted["ErrorInfo"]["Message"]


def test_an_open_order_is_shown_until_it_is_cancelled_and_cancel_names_saxo_s_codes(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    client_key = claims_of(demo_headers)["cid"]
    first = client.post("/trade/v2/orders", json=order_body(), headers=demo_headers).json()[
        "OrderId"
    ]
    second = client.post("/trade/v2/orders", json=order_body(), headers=demo_headers).json()[
        "OrderId"
    ]
    shown = client.get(f"/port/v1/orders/{client_key}/{first}", headers=demo_headers).json()
    assert shown["__count"] == 1
    row = shown["Data"][0]
    assert (row["OrderId"], row["AccountKey"], row["Amount"], row["Status"]) == (
        first,
        OWNER,
        100,
        "Working",
    )
    assert client.get(f"/port/v1/orders/ck-2001/{first}", headers=demo_headers).json()["Data"] == []
    assert client.get(f"/port/v1/orders/nobody/{first}", headers=demo_headers).status_code == 404
    wrong_account = client.delete(
        f"/trade/v2/orders/{first},{second}?AccountKey={SX_2001}", headers=demo_headers
    )
    assert wrong_account.status_code == 404
    assert wrong_account.json()["ErrorInfo"]["ErrorCode"] == "OrderNotFound"
    advisor = bearer(client, "advisor", "advisor")
    refused = client.delete(f"/trade/v2/orders/{first}?AccountKey={OWNER}", headers=advisor)
    assert refused.status_code == 403  # the advisor may not act for key 227's participants
    both = client.delete(
        f"/trade/v2/orders/{first},{second}?AccountKey={OWNER}", headers=demo_headers
    )
    assert both.json() == {"Orders": [{"OrderId": first}, {"OrderId": second}]}
    assert (
        client.get(f"/port/v1/orders/{client_key}/{first}", headers=demo_headers).json()["Data"]
        == []
    )
    again = client.delete(f"/trade/v2/orders/{first}?AccountKey={OWNER}", headers=demo_headers)
    assert again.status_code == 404 and again.json()["ErrorInfo"]["ErrorCode"] == "OrderNotFound"
    fill = client.post(
        f"/api/v1/blocks/{first}/fills",
        json={"quantity": "1", "price": "10.00"},
        headers=demo_headers,
    )
    assert fill.status_code == 409  # a cancelled order takes no fill
    filled = client.post(
        "/trade/v2/orders", json=order_body(Amount=10), headers=demo_headers
    ).json()["OrderId"]
    assert client.post(
        f"/api/v1/blocks/{filled}/fills",
        json={"quantity": "10", "price": "10.00"},
        headers=demo_headers,
    ).is_success
    late = client.delete(f"/trade/v2/orders/{filled}?AccountKey={OWNER}", headers=demo_headers)
    assert (
        late.status_code == 400 and late.json()["ErrorInfo"]["ErrorCode"] == "TooLateToCancelOrder"
    )
    no_account = client.delete(f"/trade/v2/orders/{filled}", headers=demo_headers)
    assert no_account.status_code == 400 and "AccountKey" in no_account.json()["ModelState"]


def test_a_cash_amount_key_splits_cash_in_cents_and_an_order_s_fills_by_its_amounts(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    created = client.post(
        "/trade/v1/allocationkeys",
        json=key_body(
            AllocationUnitType="CashAmount",
            ParticipatingAccountsInfo=[
                {
                    "AcceptRemainderAmount": True,
                    "AccountKey": SX_2001,
                    "Priority": 1,
                    "UnitValue": 3000.5,
                },
                {
                    "AcceptRemainderAmount": False,
                    "AccountKey": SX_2002,
                    "Priority": 2,
                    "UnitValue": 7000,
                },
            ],
        ),
        headers=demo_headers,
    )
    assert created.status_code == 201, created.text
    key_id = created.json()["AllocationKeyId"]
    details = client.get(f"/trade/v1/allocationkeys/{key_id}", headers=demo_headers).json()
    assert details["AllocationUnitType"] == "CashAmount" and details["TotalUnitValues"] == 10000.5
    cash = client.get(
        f"/trade/v1/allocationkeys/distributions/{key_id}?Totalamount=10100&OrderAmountType=CashAmount",
        headers=demo_headers,
    ).json()
    assert [row["Amount"] for row in cash["SubClientsInfo"]] == [3100, 7000]
    quantity = client.get(
        f"/trade/v1/allocationkeys/distributions/{key_id}?Totalamount=200", headers=demo_headers
    ).json()
    assert sum(row["Amount"] for row in quantity["SubClientsInfo"]) == 200
    # In proportion to the amounts (60.0086 and 139.9914), the unit left over to the acceptor.
    assert [row["Amount"] for row in quantity["SubClientsInfo"]] == [61, 139]
    placed = client.post(
        "/trade/v2/orders",
        json=order_body(AllocationKeyId=key_id, Amount=200),
        headers=demo_headers,
    ).json()["OrderId"]
    filled = client.post(
        f"/api/v1/blocks/{placed}/fills",
        json={"quantity": "200", "price": "50.00"},
        headers=demo_headers,
    )
    assert filled.status_code in (200, 201), filled.text
    rows = client.get(f"/api/v1/blocks/{placed}", headers=demo_headers).json()["details"]["saxo"]
    assert [r["held_quantity"] for r in rows["participants"]] == ["61", "139"]
    units = client.get(
        "/trade/v1/allocationkeys/distributions/227?Totalamount=5&OrderAmountType=Shares",
        headers=demo_headers,
    )
    assert units.status_code == 400 and "OrderAmountType" in units.json()["ModelState"]


def test_total_unit_values_of_thirds_sent_as_floats_show_as_100(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    thirds = [
        {
            "AcceptRemainderAmount": index == 0,
            "AccountKey": key,
            "Priority": 1,
            "UnitValue": 100 / 3,
        }
        for index, key in enumerate((SX_2001, SX_2002, "rOJl3GkpUDkX6ZtBmNTcYQ=="))
    ]
    accounts = client.get("/port/v1/accounts?IncludeSubAccounts=true", headers=demo_headers).json()
    third_key = next(
        a["AccountKey"]
        for a in accounts["Data"]
        if a["AccountType"] == "Normal" and a["AccountKey"] not in (SX_2001, SX_2002)
    )
    thirds[2]["AccountKey"] = third_key
    created = client.post(
        "/trade/v1/allocationkeys",
        json=key_body(ParticipatingAccountsInfo=thirds),
        headers=demo_headers,
    )
    assert created.status_code == 201, created.text
    key_id = created.json()["AllocationKeyId"]
    details = client.get(f"/trade/v1/allocationkeys/{key_id}", headers=demo_headers)
    assert '"TotalUnitValues":100,' in details.text
    assert [p["UnitValue"] for p in details.json()["ParticipatingAccountsInfo"]] == [100 / 3] * 3
    listed = client.get("/trade/v1/allocationkeys", headers=demo_headers)
    assert "100.00000000000001" not in listed.text and "100.000000000000008" not in listed.text
