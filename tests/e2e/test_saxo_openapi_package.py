"""The `saxo-openapi` package from PyPI, a client written for Saxo's gateway, drives allocation
keys against a served allotment (uvicorn on 127.0.0.1) with nothing changed but its base URL
and the token: it prefixes every path with `openapi/`, as Saxo's gateway serves them."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import saxo_openapi  # type: ignore[import-untyped]
import saxo_openapi.endpoints.trading as tr  # type: ignore[import-untyped]
import uvicorn
from saxo_openapi.endpoints.decorators import endpoint  # type: ignore[import-untyped]
from saxo_openapi.endpoints.trading.base import Trading  # type: ignore[import-untyped]

from allotment.bootstrap import Container
from allotment.entrypoints.http.app import create_app

SX_2001 = "Hk9Jw0lYxXO7qcBuZMR1bQ=="
SX_2002 = "W1Y2v3E4R5t6y7U8i9O0pA=="
OWNER = "LZTc7DdejXODf-WSl2aCyQ=="


@endpoint("openapi/trade/v1/allocationkeys/distributions/{AllocationKeyId}")
class GetDistributions(Trading):  # type: ignore[misc]
    """Saxo's distributions endpoint, which the package does not cover, written the way the
    package writes its own endpoints."""

    def __init__(self, AllocationKeyId: str, params: dict[str, Any]) -> None:
        super().__init__(AllocationKeyId=AllocationKeyId)
        self.params = params


@pytest.fixture
def served(demo_container: Container) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        create_app(container=demo_container), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture
def api(served: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The package's client: its base URL is allotment's, its token one of the demo's."""
    monkeypatch.setitem(saxo_openapi.saxo_openapi.TRADING_ENVIRONMENTS["live"], "api", served)
    token = requests.post(
        f"{served}/api/v1/auth/token", json={"username": "demo", "password": "demo"}, timeout=30
    ).json()["access_token"]
    return saxo_openapi.API(access_token=token, environment="live")


def test_the_saxo_openapi_package_creates_lists_reads_splits_and_deletes_keys(
    api: Any, served: str
) -> None:
    thirds = [
        {"AcceptRemainderAmount": True, "AccountKey": SX_2001, "Priority": 1, "UnitValue": 100 / 3},
        {
            "AcceptRemainderAmount": True,
            "AccountKey": SX_2002,
            "Priority": 2,
            "UnitValue": 200 / 3,
        },
    ]
    created = tr.allocationkeys.CreateAllocationKey(
        data={
            "AllocationKeyName": "Thirds",
            "AllocationUnitType": "Percentage",
            "MarginHandling": "Reduce",
            "OneTime": False,
            "OwnerAccountKey": OWNER,
            "ParticipatingAccountsInfo": thirds,
        }
    )
    api.request(created)  # the package checks the status: 201
    key_id = created.response["AllocationKeyId"]

    listed = tr.allocationkeys.GetAllocationKeys(params={"$top": 1, "Statuses": "Active"})
    api.request(listed)
    assert listed.response["__count"] == 2 and len(listed.response["Data"]) == 1
    next_page = listed.response["__next"]
    assert next_page.startswith(f"{served}/openapi/trade/v1/allocationkeys?")
    second = api.client.get(next_page, timeout=30).json()
    assert [key["AllocationKeyId"] for key in listed.response["Data"] + second["Data"]] == [
        "227",
        key_id,
    ]

    details = tr.allocationkeys.GetAllocationKeyDetails(AllocationKeyId=key_id)
    api.request(details)
    assert details.response["AllocationUnitType"] == "Percentage"
    assert details.response["TotalUnitValues"] == 100
    assert [p["UnitValue"] for p in details.response["ParticipatingAccountsInfo"]] == [
        100 / 3,
        200 / 3,
    ]

    split = GetDistributions(
        key_id, params={"Totalamount": 300, "Uic": 4361, "AssetType": "CfdOnStock"}
    )
    api.request(split)
    amounts = [row["Amount"] for row in split.response["SubClientsInfo"]]
    assert sum(amounts) == 300 and split.response["Remainder"] == 0
    # Whole units by the key: a third and two thirds, what cannot be split to priority 1.
    assert all(abs(amount - exact) <= 1 for amount, exact in zip(amounts, (100, 200), strict=True))

    deleted = tr.allocationkeys.DeleteAllocationKey(AllocationKeyId=key_id)
    api.request(deleted)  # 204
    gone = tr.allocationkeys.GetAllocationKeys(params={"Statuses": "Active"})
    api.request(gone)
    assert [key["AllocationKeyId"] for key in gone.response["Data"]] == ["227"]


def test_the_saxo_openapi_package_reads_saxo_s_errors_from_the_served_gateway(api: Any) -> None:
    missing = tr.allocationkeys.GetAllocationKeyDetails(AllocationKeyId="4711")
    with pytest.raises(saxo_openapi.OpenAPIError) as raised:
        api.request(missing)
    assert raised.value.code == 404
    assert '"ErrorCode":"AllocationKeyNotFound"' in raised.value.content
