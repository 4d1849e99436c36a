"""Two-factor authentication as ETNA's gitbook documents it: the first token request of a user
with two-factor authentication answers 202 `Expecting` with an interim token; the same headers
with that token as Authorization and the code as VerificationCode get the token. Users are
enrolled through the native API, which shows the secret once."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from allotment.adapters.one_time_codes import TotpCodes
from allotment.bootstrap import Container
from tests.e2e.test_etna_seed import SEED_REQUEST, demo_ids

CODES = TotpCodes()
HEADERS = {"Et-App-Key": "demo-app-key", "Username": "trader", "Password": "trader-password"}
EXPECTING = {"Step": "VerificationCode", "Reason": "Expecting confirmation code"}


def create_trader(client: TestClient, admin: dict[str, str]) -> int:
    response = client.post(
        "/api/v1/users",
        json={
            "username": "trader",
            "password": "trader-password",
            "scopes": ["allocations-read", "allocations-write"],
        },
        headers=admin,
    )
    assert response.status_code == 201, response.text
    user_id: int = response.json()["id"]
    return user_id


def enrol(client: TestClient, user_id: int, headers: dict[str, str]) -> Any:
    return client.post(f"/api/v1/users/{user_id}/two-factor", headers=headers)


@pytest.fixture
def secret(client: TestClient, demo_headers: dict[str, str]) -> str:
    """The secret of user `trader`, enrolled by the demo admin."""
    response = enrol(client, create_trader(client, demo_headers), demo_headers)
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    found: str = response.json()["secret"]
    assert response.json()["provisioning_uri"].startswith("otpauth://totp/allotment:trader?")
    return found


def code(secret: str) -> str:
    return CODES.code_at(secret, datetime.now(UTC))


def wrong_code(secret: str) -> str:
    """Six digits that are no code of the steps around now."""
    now = datetime.now(UTC)
    near = {CODES.code_at(secret, now + timedelta(seconds=s)) for s in (-60, -30, 0, 30, 60)}
    return next(c for c in (f"{d}" * 6 for d in range(10)) if c not in near)


def first_step(client: TestClient) -> str:
    response = client.post("/token", headers=HEADERS)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body == {**EXPECTING, "State": "Expecting", "Token": body["Token"]}
    ticket: str = body["Token"]
    return ticket


def second_step(client: TestClient, ticket: str | None, verification_code: str) -> Any:
    headers = {**HEADERS, "VerificationCode": verification_code}
    if ticket is not None:
        headers["Authorization"] = f"Bearer {ticket}"
    return client.post("/token", headers=headers)


def test_a_two_factor_login_is_expecting_the_code_then_issues_the_token(
    client: TestClient, secret: str
) -> None:
    ticket = first_step(client)
    response = second_step(client, ticket, code(secret))

    assert response.status_code == 200, response.text
    assert response.json() == {"State": "Succeeded", "Token": response.json()["Token"]}
    headers = {
        "Et-App-Key": "demo-app-key",
        "Authorization": f"Bearer {response.json()['Token']}",
        "Content-Type": "application/json",
    }
    booked = client.post("/v1.0/allocations/simple", content=SEED_REQUEST, headers=headers)
    assert booked.status_code == 200, booked.text


def test_the_interim_token_opens_no_route(client: TestClient, secret: str) -> None:
    ticket = first_step(client)
    headers = {"Et-App-Key": "demo-app-key", "Authorization": f"Bearer {ticket}"}

    etna = client.post("/v1.0/allocations/simple", content=SEED_REQUEST, headers=headers)
    native = client.get("/api/v1/accounts", headers={"Authorization": f"Bearer {ticket}"})

    assert etna.status_code == 401
    assert native.status_code == 401


def test_a_wrong_code_a_missing_ticket_or_a_reused_code_answer_the_failed_state(
    client: TestClient, secret: str
) -> None:
    ticket = first_step(client)

    wrong = second_step(client, ticket, wrong_code(secret))
    no_ticket = second_step(client, None, code(secret))
    other_ticket = second_step(client, "not-a-ticket", code(secret))
    first = second_step(client, ticket, code(secret))
    again = second_step(client, ticket, code(secret))

    failed = {"State": "Failed", "Step": "VerificationCode"}
    assert wrong.status_code == 401
    assert wrong.json() == {**failed, "Reason": "Invalid verification code"}
    for corrupted in (no_ticket, other_ticket):
        assert corrupted.status_code == 401
        assert corrupted.json() == {**failed, "Reason": "Corrupted ticket"}
    assert first.status_code == 200
    assert again.status_code == 401  # a code is accepted once (RFC 6238 §5.2)
    assert again.json() == {**failed, "Reason": "Invalid verification code"}


def test_the_wrong_password_fails_before_any_code_is_asked(client: TestClient, secret: str) -> None:
    response = client.post("/token", headers={**HEADERS, "Password": "wrong"})

    assert response.status_code == 401
    assert response.json() == {
        "State": "Failed",
        "Step": "BaseAuthentication",
        "Reason": "Invalid credentials",
    }


def test_a_user_without_two_factor_gets_its_token_at_once(client: TestClient) -> None:
    response = client.post(
        "/token", headers={"Et-App-Key": "demo-app-key", "Username": "demo", "Password": "demo"}
    )

    assert response.status_code == 200
    assert response.json()["State"] == "Succeeded"


def test_the_native_login_and_basic_credentials_need_the_second_factor_too(
    client: TestClient, secret: str
) -> None:
    login = {"username": "trader", "password": "trader-password"}

    without = client.post("/api/v1/auth/token", json=login)
    wrong = client.post("/api/v1/auth/token", json={**login, "verification_code": "x"})
    right = client.post("/api/v1/auth/token", json={**login, "verification_code": code(secret)})
    basic = client.get("/api/v1/accounts", auth=("trader", "trader-password"))

    assert without.status_code == 401
    assert without.json()["code"] == "TwoFactorRequired"
    assert wrong.status_code == 401
    assert right.status_code == 200, right.text
    assert basic.status_code == 401


def test_a_user_may_enrol_itself_but_not_another_user(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    trader_id = create_trader(client, demo_headers)
    token = client.post(
        "/api/v1/auth/token", json={"username": "trader", "password": "trader-password"}
    ).json()["access_token"]
    own = {"Authorization": f"Bearer {token}"}
    users = client.get("/api/v1/users", headers=demo_headers).json()
    demo_id = next(user["id"] for user in users if user["username"] == "demo")

    other = enrol(client, demo_id, own)
    itself = enrol(client, trader_id, own)
    unknown = enrol(client, 999_999, demo_headers)

    assert other.status_code == 403
    assert itself.status_code == 201
    assert unknown.status_code == 404
    listed = client.get(f"/api/v1/users/{trader_id}", headers=demo_headers)
    assert listed.json()["two_factor"] is True
    assert itself.json()["secret"] not in listed.text


def test_disabling_two_factor_brings_back_the_password_only_login(
    client: TestClient, secret: str, demo_headers: dict[str, str]
) -> None:
    users = client.get("/api/v1/users", headers=demo_headers).json()
    trader_id = next(user["id"] for user in users if user["username"] == "trader")

    response = client.delete(f"/api/v1/users/{trader_id}/two-factor", headers=demo_headers)

    assert response.status_code == 204
    assert client.post("/token", headers=HEADERS).status_code == 200


def test_the_secret_is_in_no_log_and_no_audit_event(
    client: TestClient,
    demo_container: Container,
    demo_headers: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG):
        secret = enrol(client, create_trader(client, demo_headers), demo_headers).json()["secret"]
        second_step(client, first_step(client), code(secret))
        second_step(client, first_step(client), wrong_code(secret))

    assert secret not in caplog.text
    company_id, _ = demo_ids(demo_container)
    with demo_container.uow(write=False) as uow:
        events = uow.audit.list(company_id, None, 0, 10_000)
    assert events and all(secret not in repr(event) for event in events)


def test_a_time_step_is_recorded_once_and_never_before_a_later_one(
    client: TestClient, secret: str, demo_container: Container
) -> None:
    with demo_container.uow() as uow:
        trader = uow.identity.user_by_username("trader")
        assert trader is not None and trader.id is not None and trader.two_factor_secret
        first = uow.identity.use_two_factor_step(trader.id, 1000)
        again = uow.identity.use_two_factor_step(trader.id, 1000)
        earlier = uow.identity.use_two_factor_step(trader.id, 999)
        later = uow.identity.use_two_factor_step(trader.id, 1001)
        uow.commit()

    assert (first, again, earlier, later) == (True, False, False, True)
