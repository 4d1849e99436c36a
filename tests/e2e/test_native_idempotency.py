"""Idempotency on the native API (SPEC §3): the same Idempotency-Key with the same request answers
the first answer again and books nothing new; with another request it is refused with 422."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from allotment.adapters.database import tables as t
from allotment.bootstrap import Container
from tests.conftest import bearer
from tests.e2e.test_auth_companies import PASSWORD, _second_company

DEPOSIT = "/api/v1/ledger/deposits"
BODY = {"account_id": "6688", "amount": "250.00"}


def _entries(box: Container) -> int:
    with box.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(t.journal_entries)).scalar_one()


def _cash(client: TestClient, headers: dict[str, str], account_id: str = "6688") -> Decimal:
    balances = client.get(f"/api/v1/accounts/{account_id}/balances", headers=headers).json()
    return Decimal(balances["cash"][0]["amount"])


def _problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    return body


def test_the_same_key_and_body_answer_the_first_answer_and_book_once(
    client: TestClient, demo_headers: dict[str, str], demo_container: Container
) -> None:
    headers = {**demo_headers, "Idempotency-Key": "deposit-1"}
    cash, entries = _cash(client, demo_headers), _entries(demo_container)
    first = client.post(DEPOSIT, json=BODY, headers=headers)
    second = client.post(DEPOSIT, json=BODY, headers=headers)
    third = client.post(DEPOSIT, json=BODY, headers=headers)
    assert first.status_code == second.status_code == third.status_code == 201
    assert first.content == second.content == third.content
    assert "idempotent-replayed" not in first.headers
    assert second.headers["idempotent-replayed"] == "true"
    assert second.headers["content-type"] == first.headers["content-type"]
    assert _entries(demo_container) == entries + 1
    assert _cash(client, demo_headers) == cash + Decimal("250.00")


def test_the_same_key_with_another_body_is_refused_with_422_and_books_nothing(
    client: TestClient, demo_headers: dict[str, str], demo_container: Container
) -> None:
    headers = {**demo_headers, "Idempotency-Key": "deposit-2"}
    assert client.post(DEPOSIT, json=BODY, headers=headers).status_code == 201
    cash, entries = _cash(client, demo_headers), _entries(demo_container)
    for path, body in [
        (DEPOSIT, {**BODY, "amount": "251.00"}),
        (DEPOSIT, {"amount": "250.00", "account_id": "6688"}),  # same fields, other bytes
        ("/api/v1/ledger/withdrawals", BODY),
    ]:
        response = client.post(path, json=body, headers=headers)
        problem = _problem(response, 422, "IdempotencyKeyReused")
        assert problem["detail"] == "this Idempotency-Key was used with a different request"
    assert _entries(demo_container) == entries
    assert _cash(client, demo_headers) == cash


def test_a_refused_request_is_answered_the_same_way_again(
    client: TestClient, demo_headers: dict[str, str], demo_container: Container
) -> None:
    headers = {**demo_headers, "Idempotency-Key": "overdraft-1"}
    body = {"account_id": "6688", "amount": "999999.00"}
    first = client.post("/api/v1/ledger/withdrawals", json=body, headers=headers)
    _problem(first, 409, "InsufficientFunds")
    entries = _entries(demo_container)
    again = client.post("/api/v1/ledger/withdrawals", json=body, headers=headers)
    assert (again.status_code, again.content) == (first.status_code, first.content)
    assert _entries(demo_container) == entries


def test_different_keys_book_twice(
    client: TestClient, demo_headers: dict[str, str], demo_container: Container
) -> None:
    entries = _entries(demo_container)
    for key in ("a", "b"):
        response = client.post(DEPOSIT, json=BODY, headers={**demo_headers, "Idempotency-Key": key})
        assert response.status_code == 201
    assert _entries(demo_container) == entries + 2


def test_another_caller_reusing_a_key_gets_422_not_the_first_callers_answer(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    headers = {**demo_headers, "Idempotency-Key": "shared-1"}
    assert client.post(DEPOSIT, json=BODY, headers=headers).status_code == 201
    other = {**bearer(client, "robert.z", "robert.z"), "Idempotency-Key": "shared-1"}
    _problem(client.post(DEPOSIT, json=BODY, headers=other), 422, "IdempotencyKeyReused")


def test_keys_of_one_company_do_not_collide_with_another_companys(
    client: TestClient, demo_headers: dict[str, str], demo_container: Container
) -> None:
    """Keys are claimed per company: the same key in another company is a new request."""
    _second_company(demo_container)
    headers = {**demo_headers, "Idempotency-Key": "same-key"}
    assert client.post(DEPOSIT, json=BODY, headers=headers).status_code == 201
    theirs = {**bearer(client, "other-admin", PASSWORD), "Idempotency-Key": "same-key"}
    body = {"account_id": "OTHER-1", "amount": "250.00"}
    response = client.post(DEPOSIT, json=body, headers=theirs)
    assert response.status_code == 201, response.text
    assert "idempotent-replayed" not in response.headers


def test_a_key_whose_first_request_is_still_running_answers_409(
    client: TestClient, demo_headers: dict[str, str], demo_container: Container
) -> None:
    headers = {**demo_headers, "Idempotency-Key": "slow-1"}
    assert client.post(DEPOSIT, json=BODY, headers=headers).status_code == 201
    with demo_container.engine.begin() as connection:  # as if the first were still at work
        connection.execute(
            update(t.idempotency_keys)
            .where(t.idempotency_keys.c.key == "slow-1")
            .values(state="in_progress", status_code=None, body=None)
        )
    entries = _entries(demo_container)
    problem = _problem(client.post(DEPOSIT, json=BODY, headers=headers), 409, "Conflict")
    assert problem["detail"] == "a request with this Idempotency-Key is still being processed"
    assert _entries(demo_container) == entries


def test_an_empty_or_overlong_key_is_refused_rather_than_ignored(
    client: TestClient, demo_headers: dict[str, str], demo_container: Container
) -> None:
    entries = _entries(demo_container)
    for key in ["", " ", "k" * 201]:
        response = client.post(DEPOSIT, json=BODY, headers={**demo_headers, "Idempotency-Key": key})
        problem = _problem(response, 422, "InvalidInstruction")
        assert problem["detail"] == "the Idempotency-Key must be 1 to 200 characters"
    assert _entries(demo_container) == entries
    response = client.post(
        DEPOSIT, json=BODY, headers={**demo_headers, "Idempotency-Key": "k" * 200}
    )
    assert response.status_code == 201


def test_a_key_without_valid_credentials_claims_nothing(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    response = client.post(DEPOSIT, json=BODY, headers={"Idempotency-Key": "anon-1"})
    _problem(response, 401, "Unauthorized")
    headers = {**demo_headers, "Idempotency-Key": "anon-1"}
    assert client.post(DEPOSIT, json=BODY, headers=headers).status_code == 201
