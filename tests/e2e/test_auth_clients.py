"""A user limited to some clients (the demo `advisor`, client 1574444 only) sees and moves only
those clients' accounts: other clients' accounts, balances, journal entries and allocations
answer 403 (or 404 for objects it may not know of), and lists hold only its own."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D
from typing import Any

import pytest
from fastapi.testclient import TestClient

from allotment.domain.identity import ALL_SCOPES, Principal, PrincipalKind
from allotment.domain.ledger import BookingCode
from allotment.services.context import Context
from allotment.services.journal import book as booking
from allotment.services.journal.requests import BookingRequest
from tests.conftest import bearer

NOW = datetime.now(UTC)

OWN_ACCOUNT = "1574444-01"
OTHER_CLIENT_ACCOUNTS = ["6688", "987558-01", "SX-2001"]


@pytest.fixture
def advisor(client: TestClient) -> dict[str, str]:
    return bearer(client, "advisor", "advisor")


def _assert_status(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


def _entry_of(client: TestClient, account_id: str) -> int:
    journal = client.get(
        "/api/v1/ledger/journal", params={"account_id": account_id}, headers=bearer(client)
    )
    entry_id: int = journal.json()["items"][0]["id"]
    return entry_id


def test_the_advisor_cannot_read_another_clients_account_balances_or_journal(
    client: TestClient, advisor: dict[str, str]
) -> None:
    for account_id in OTHER_CLIENT_ACCOUNTS:
        for path, params in [
            (f"/api/v1/accounts/{account_id}", None),
            (f"/api/v1/accounts/{account_id}/balances", None),
            ("/api/v1/ledger/journal", {"account_id": account_id}),
        ]:
            body = _assert_status(client.get(path, params=params, headers=advisor), 403)
            assert body["code"] == "Forbidden"
            assert body["detail"] == f"not authorised for account {account_id}"


def test_the_advisor_cannot_move_cash_or_securities_of_another_client(
    client: TestClient, advisor: dict[str, str]
) -> None:
    moves = [
        ("/api/v1/ledger/deposits", {"amount": "1.00"}),
        ("/api/v1/ledger/withdrawals", {"amount": "1.00"}),
        ("/api/v1/ledger/opening-positions", {"symbol": "AAPL", "quantity": "1", "price": "1"}),
    ]
    admin = bearer(client)
    for account_id in OTHER_CLIENT_ACCOUNTS:
        before = client.get(f"/api/v1/accounts/{account_id}/balances", headers=admin).json()
        for path, body in moves:
            response = client.post(path, json={**body, "account_id": account_id}, headers=advisor)
            _assert_status(response, 403)
        after = client.get(f"/api/v1/accounts/{account_id}/balances", headers=admin).json()
        assert after == before


def test_the_advisor_cannot_see_or_reverse_another_clients_journal_entry(
    client: TestClient, advisor: dict[str, str]
) -> None:
    entry_id = _entry_of(client, "6688")
    body = _assert_status(client.get(f"/api/v1/ledger/entries/{entry_id}", headers=advisor), 404)
    assert body["detail"] == f"journal entry {entry_id} does not exist"
    response = client.post(f"/api/v1/ledger/entries/{entry_id}/reverse", json={}, headers=advisor)
    _assert_status(response, 404)


def test_the_advisor_cannot_read_another_client(
    client: TestClient, advisor: dict[str, str]
) -> None:
    body = _assert_status(client.get("/api/v1/clients/1001", headers=advisor), 403)
    assert body["detail"] == "not authorised for client 1001"


def test_the_advisor_lists_only_its_own_clients_accounts_and_journal(
    client: TestClient, advisor: dict[str, str]
) -> None:
    accounts = client.get("/api/v1/accounts", headers=advisor).json()
    assert [account["id"] for account in accounts] == [OWN_ACCOUNT]
    other = client.get("/api/v1/accounts", params={"client_id": 1001}, headers=advisor).json()
    assert other == []
    clients = client.get("/api/v1/clients", headers=advisor).json()
    assert [c["id"] for c in clients] == [1574444]
    journal = client.get("/api/v1/ledger/journal", headers=advisor).json()["items"]
    assert journal, "the advisor's client has an opening position"
    for entry in journal:
        assert OWN_ACCOUNT in {posting["account_id"] for posting in entry["postings"]}


def _book_allocations(client: TestClient) -> list[int]:
    """One allocation to the advisor's client (BHP sold into the AUD average account) and one
    to another client (AAPL bought from 6687)."""
    box = client.app.state.container  # type: ignore[attr-defined]
    with box.uow() as uow:
        company = uow.identity.company_by_name("Demo Broker")
        ctx = Context(
            Principal(company.id, "demo", PrincipalKind.USER, ALL_SCOPES, None), "native", NOW
        )
        accounts = uow.accounts.accounts_by_ids(["6687", "6688", "AU-AVG", OWN_ACCOUNT])
        aapl, bhp = uow.instruments.by_symbol("AAPL"), uow.instruments.by_symbol("BHP")
        requests = [
            BookingRequest(accounts["6688"], accounts["6687"], aapl, "Buy", D(5), D("135.00")),
            BookingRequest(accounts[OWN_ACCOUNT], accounts["AU-AVG"], bhp, "Sell", D(5), D("6")),
        ]
        outcomes = booking.book(uow, ctx, requests)
        uow.commit()
    assert [o.code for o in outcomes] == [BookingCode.OK, BookingCode.OK]
    return [o.allocation_id for o in outcomes if o.allocation_id is not None]


def test_the_advisor_sees_only_allocations_to_its_own_client(
    client: TestClient, advisor: dict[str, str]
) -> None:
    theirs, own = _book_allocations(client)
    visible = client.get("/api/v1/allocations", headers=advisor).json()["items"]
    assert [a["id"] for a in visible] == [own]
    assert client.get(f"/api/v1/allocations/{own}", headers=advisor).status_code == 200
    body = _assert_status(client.get(f"/api/v1/allocations/{theirs}", headers=advisor), 404)
    assert body["detail"] == f"allocation {theirs} does not exist"


def test_the_advisor_reads_and_moves_its_own_clients_account(
    client: TestClient, advisor: dict[str, str]
) -> None:
    assert client.get(f"/api/v1/accounts/{OWN_ACCOUNT}", headers=advisor).status_code == 200
    deposit = {"account_id": OWN_ACCOUNT, "amount": "5.00"}
    assert client.post("/api/v1/ledger/deposits", json=deposit, headers=advisor).status_code == 201
    balances = client.get(f"/api/v1/accounts/{OWN_ACCOUNT}/balances", headers=advisor).json()
    assert balances["cash"] == [{"currency": "AUD", "amount": "10005.00"}]


def test_the_advisor_cannot_give_itself_more_clients(
    client: TestClient, advisor: dict[str, str]
) -> None:
    body = {"username": "advisor2", "password": "advisor2-pass", "scopes": ["allocations-read"]}
    _assert_status(client.post("/api/v1/users", json=body, headers=advisor), 403)
