"""Scopes: reads need allocations-read, writes allocations-write, the company's users, API
clients, app keys, clients, accounts, instruments and audit trail need admin. A valid token
without the scope answers 403 and changes nothing."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update

from allotment.adapters.database import tables as t
from tests.conftest import bearer

WRITES: list[tuple[str, dict[str, Any]]] = [
    ("/api/v1/ledger/deposits", {"account_id": "6688", "amount": "1.00"}),
    ("/api/v1/ledger/withdrawals", {"account_id": "6688", "amount": "1.00"}),
    (
        "/api/v1/ledger/opening-positions",
        {"account_id": "6688", "symbol": "AAPL", "quantity": "1", "price": "1.00"},
    ),
    ("/api/v1/ledger/entries/1/reverse", {}),
    ("/api/v1/blocks", {"account_id": "6687", "symbol": "AAPL", "side": "Buy", "quantity": "10"}),
    ("/api/v1/blocks/195/fills", {"quantity": "1", "price": "6.75"}),
]
ADMIN_WRITES: list[tuple[str, dict[str, Any]]] = [
    ("/api/v1/users", {"username": "mallory", "password": "mallory-pass", "scopes": ["admin"]}),
    ("/api/v1/api-clients", {"name": "mallory", "scopes": ["admin"]}),
    ("/api/v1/app-keys", {"name": "mallory"}),
    ("/api/v1/clients", {"name": "Mallory"}),
    ("/api/v1/accounts", {"id": "M-1", "client_id": 1001, "type": "Cash"}),
    ("/api/v1/accounts/6688/close", {}),
    ("/api/v1/instruments", {"symbol": "EVIL", "uic": 666}),
]
ADMIN_READS = ["/api/v1/users", "/api/v1/users/1", "/api/v1/api-clients", "/api/v1/app-keys"]
READS = [
    "/api/v1/accounts",
    "/api/v1/accounts/6688",
    "/api/v1/accounts/6688/balances",
    "/api/v1/clients",
    "/api/v1/instruments",
    "/api/v1/ledger/journal",
    "/api/v1/allocations",
    "/api/v1/blocks",
    "/api/v1/blocks/195",
]


def _user(client: TestClient, username: str, scopes: list[str]) -> dict[str, str]:
    admin = bearer(client)
    password = f"{username}-password"
    body = {"username": username, "password": password, "scopes": scopes}
    response = client.post("/api/v1/users", json=body, headers=admin)
    assert response.status_code == 201, response.text
    return bearer(client, username, password)


def _counts(client: TestClient) -> tuple[int, int]:
    admin = bearer(client)
    journal = client.get("/api/v1/ledger/journal", params={"limit": 1000}, headers=admin)
    audit = client.get("/api/v1/audit-events", params={"limit": 1000}, headers=admin)
    return len(journal.json()["items"]), len(audit.json()["items"])


def _forbidden(response: Any, scope: str) -> None:
    assert response.status_code == 403, (response.url, response.text)
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "Forbidden"
    assert body["detail"] == f"this needs the {scope} scope"


def test_a_reader_cannot_write(client: TestClient) -> None:
    headers = _user(client, "reader", ["allocations-read"])
    before = _counts(client)
    for path, body in WRITES:
        _forbidden(client.post(path, json=body, headers=headers), "allocations-write")
    assert _counts(client) == before


def test_a_non_admin_cannot_administer_the_company(client: TestClient) -> None:
    headers = bearer(client, "robert.z", "robert.z")  # allocations-read and -write
    before = _counts(client)
    for path, body in ADMIN_WRITES:
        _forbidden(client.post(path, json=body, headers=headers), "admin")
    for path in [*ADMIN_READS, "/api/v1/audit-events"]:
        _forbidden(client.get(path, headers=headers), "admin")
    assert _counts(client) == before


def test_reading_needs_the_read_scope(client: TestClient) -> None:
    writer = _user(client, "writer", ["allocations-write"])
    reader = _user(client, "reader", ["allocations-read"])
    for path in READS:
        _forbidden(client.get(path, headers=writer), "allocations-read")
        assert client.get(path, headers=reader).status_code == 200, path


def test_an_api_client_token_asked_for_read_only_cannot_deposit(client: TestClient) -> None:
    form = {
        "grant_type": "client_credentials",
        "client_id": "demo-client",
        "client_secret": "demo-secret",
        "scope": "allocations-read",
    }
    token = client.post("/connect/token", data=form).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/accounts", headers=headers).status_code == 200
    before = _counts(client)
    response = client.post("/api/v1/ledger/deposits", json=WRITES[0][1], headers=headers)
    _forbidden(response, "allocations-write")
    assert _counts(client) == before


def test_scopes_taken_from_a_user_stop_working_with_tokens_issued_before(
    client: TestClient,
) -> None:
    """The principal is re-read on every request: a token cannot keep a scope the user lost."""
    headers = bearer(client, "robert.z", "robert.z")
    deposit = WRITES[0][1]
    assert client.post("/api/v1/ledger/deposits", json=deposit, headers=headers).status_code == 201
    box = client.app.state.container  # type: ignore[attr-defined]
    with box.engine.begin() as connection:
        connection.execute(
            update(t.users)
            .where(t.users.c.username == "robert.z")
            .values(scopes="allocations-read")
        )
    _forbidden(
        client.post("/api/v1/ledger/deposits", json=deposit, headers=headers), "allocations-write"
    )
