"""The company's own accounts are not for clients' users to move cash in or out of."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import bearer


def test_a_user_without_admin_cannot_withdraw_from_the_fee_account(client: TestClient) -> None:
    headers = bearer(client, "robert.z", "robert.z")
    accounts = client.get("/api/v1/accounts", headers=bearer(client)).json()
    fee = next(a["id"] for a in accounts if a["role"] == "fee")
    response = client.post(
        "/api/v1/ledger/withdrawals", json={"account_id": fee, "amount": "1.00"}, headers=headers
    )
    assert response.status_code == 403, response.text
    assert "admin" in response.json()["detail"]


def test_nobody_posts_cash_to_the_external_account_directly(client: TestClient) -> None:
    headers = bearer(client)
    accounts = client.get("/api/v1/accounts", headers=headers).json()
    external = next(a["id"] for a in accounts if a["role"] == "external")
    response = client.post(
        "/api/v1/ledger/deposits", json={"account_id": external, "amount": "1.00"}, headers=headers
    )
    assert response.status_code == 422, response.text
    assert "contra side" in response.json()["detail"]


def _average_balances(client: TestClient) -> object:
    return client.get("/api/v1/accounts/6687/balances", headers=bearer(client)).json()


def test_a_client_limited_user_cannot_move_the_average_accounts_cash_or_securities(
    client: TestClient,
) -> None:
    advisor = bearer(client, "advisor", "advisor")
    before = _average_balances(client)
    journal_before = client.get("/api/v1/ledger/journal", headers=bearer(client)).json()
    moves = [
        ("/api/v1/ledger/deposits", {"account_id": "6687", "amount": "1000000.00"}),
        ("/api/v1/ledger/withdrawals", {"account_id": "6687", "amount": "1.00"}),
        (
            "/api/v1/ledger/opening-positions",
            {"account_id": "6687", "symbol": "AAPL", "quantity": "1000000", "price": "1"},
        ),
    ]
    for path, body in moves:
        response = client.post(path, json=body, headers=advisor)
        assert response.status_code == 403, (path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    assert _average_balances(client) == before
    assert client.get("/api/v1/ledger/journal", headers=bearer(client)).json() == journal_before


def test_an_admin_still_deposits_into_the_average_account(client: TestClient) -> None:
    response = client.post(
        "/api/v1/ledger/deposits",
        json={"account_id": "6687", "amount": "10.00"},
        headers=bearer(client),
    )
    assert response.status_code == 201, response.text
