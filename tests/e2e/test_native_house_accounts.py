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
