"""A client written for ETNA works against allotment by changing only its base URL and
credentials: the token endpoint's Failed state, ASP.NET's 401, property and enum names in any
case, the optional fields of ETNA's definitions, and the AllocationResultInfo list on every 409."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from allotment.bootstrap import Container
from allotment.domain.errors import Conflict, RuleViolation, SessionClosed
from allotment.entrypoints.http.etna.wire import refusal_code
from tests.e2e.test_clearing_sessions import close, today
from tests.e2e.test_etna_codes import body, request
from tests.e2e.test_etna_multileg import leg, multileg
from tests.e2e.test_etna_seed import (
    SEED_REQUEST,
    allocation_count,
    demo_ids,
    etna_headers,
    exact,
)

SIMPLE = "/v1.0/allocations/simple"
MULTILEG = "/v1.0/allocations/multileg"
FAILED = {"State": "Failed", "Step": "BaseAuthentication", "Reason": "Invalid credentials"}
DENIED = {"Message": "Authorization has been denied for this request."}


# 1. The token endpoint's Failed state --------------------------------------------------------
@pytest.mark.parametrize("path", ["/token", "/v1.0/token"])
def test_a_failed_login_answers_etnas_failed_state_with_401(client: TestClient, path: str) -> None:
    for headers in (
        {"Et-App-Key": "demo-app-key", "Username": "demo", "Password": "wrong"},
        {"Et-App-Key": "demo-app-key", "Username": "nobody", "Password": "demo"},
        {"Et-App-Key": "demo-app-key"},
    ):
        response = client.post(path, headers=headers)

        assert response.status_code == 401, headers
        assert response.json() == FAILED
        assert "Token" not in response.text


# 2. ASP.NET's 401; ETNA's 403 ----------------------------------------------------------------
def test_every_refused_token_on_every_allocation_route_answers_asp_nets_401(
    client: TestClient,
) -> None:
    reader = {"Et-App-Key": "demo-app-key", "Content-Type": "application/json"}
    for path, method, text in [
        (SIMPLE, "POST", SEED_REQUEST),
        (SIMPLE, "PUT", SEED_REQUEST.strip()[1:-1]),
        (MULTILEG, "POST", body(multileg(leg()))),
        (MULTILEG, "PUT", body(multileg(leg()))[1:-1]),
    ]:
        for authorization in (None, "Bearer forged"):
            headers = {**reader, **({"Authorization": authorization} if authorization else {})}

            response = client.request(method, path, content=text, headers=headers)

            assert response.status_code == 401, (path, method)
            assert response.json() == DENIED
            assert response.headers["www-authenticate"] == "Bearer"


def test_an_unknown_application_key_still_answers_etnas_403_error(client: TestClient) -> None:
    headers = {**etna_headers(client), "Et-App-Key": "unknown"}

    response = client.post(SIMPLE, content=SEED_REQUEST, headers=headers)

    assert response.status_code == 403
    assert response.json() == {"error": "Application key is not defined or does not exist"}


# 3. Property and enum names in any case -------------------------------------------------------
def spelled(item: dict[str, Any], spell: Any) -> dict[str, Any]:
    return {spell(key): value for key, value in item.items()}


def test_property_and_enum_names_bind_in_any_case_on_the_simple_routes(
    client: TestClient, demo_container: Container
) -> None:
    lower = spelled(request(Quantity=1, Action="buy", AccountType="CASH"), str.lower)
    upper = spelled(request(Quantity=2, Action="BUY"), str.upper)
    headers = etna_headers(client)

    batch = client.post(SIMPLE, content=body(lower, upper), headers=headers)
    single = client.put(SIMPLE, content=body(lower)[1:-1], headers=headers)

    assert batch.status_code == 200, batch.text
    assert single.status_code == 200, single.text
    assert allocation_count(demo_container) == 3
    echoed = batch.json()[0]["Request"]
    assert echoed["FromAccount"] == "6687" and echoed["Action"] == "buy"
    assert set(echoed) == set(request())


def test_property_names_bind_in_any_case_on_the_multileg_routes(
    client: TestClient, demo_container: Container
) -> None:
    legs = [spelled(leg(quantity=3, action="bUy"), str.lower)]
    item = spelled({**multileg(), "Legs": legs}, str.upper)
    headers = etna_headers(client)

    batch = client.post(MULTILEG, content=body(item), headers=headers)
    single = client.put(MULTILEG, content=body(item)[1:-1], headers=headers)

    assert (batch.status_code, single.status_code) == (200, 200), batch.text
    assert allocation_count(demo_container) == 2
    assert set(batch.json()[0]["Request"]["Legs"][0]) == {"Symbol", "Price", "Quantity", "Action"}


def test_a_property_sent_twice_in_two_cases_keeps_the_last_value(
    client: TestClient, demo_container: Container
) -> None:
    text = body(request(Quantity=1)).replace('"Quantity": 1', '"Quantity": 1, "quantity": 2')

    response = client.post(SIMPLE, content=text, headers=etna_headers(client))

    assert response.status_code == 200, response.text
    company_id, _ = demo_ids(demo_container)
    with demo_container.uow(write=False) as uow:
        [booked] = uow.allocations.list(company_id, None)
    assert booked.quantity == Decimal(2)


def test_a_misspelled_enum_is_still_refused_with_422(client: TestClient) -> None:
    response = client.post(
        SIMPLE, content=body(request(Action="Purchase")), headers=etna_headers(client)
    )

    assert response.status_code == 422
    assert "Action must be one of" in response.json()["error"]


# 4. Optional fields -------------------------------------------------------------------------
def test_commission_account_type_comment_and_instructions_may_be_left_out(
    client: TestClient, demo_container: Container
) -> None:
    item = {"FromAccount": "6687", "ToAccount": "6688", "Symbol": "AAPL", "Quantity": 5}
    item |= {"Price": Decimal("135.89"), "Action": "Buy"}

    response = client.post(SIMPLE, content=body(item), headers=etna_headers(client))

    assert response.status_code == 200, response.text
    assert exact(response.text) == [{"Request": exact(body(item))[0], "IsSucceed": True}]
    company_id, _ = demo_ids(demo_container)
    with demo_container.uow(write=False) as uow:
        [booked] = uow.allocations.list(company_id, None)
    assert booked.commission == Decimal(0)


def test_an_account_type_that_is_sent_must_still_be_the_target_accounts(
    client: TestClient, demo_container: Container
) -> None:
    response = client.post(
        SIMPLE, content=body(request(AccountType="Margin")), headers=etna_headers(client)
    )

    assert response.status_code == 409
    assert response.json()[0]["Description"] == "AccountTypeMismatch"
    assert allocation_count(demo_container) == 0


def test_the_fields_that_say_what_moves_stay_required(client: TestClient) -> None:
    for field in ("FromAccount", "ToAccount", "Symbol", "Quantity", "Price", "Action"):
        item = {k: v for k, v in request().items() if k != field}

        response = client.post(SIMPLE, content=body(item), headers=etna_headers(client))

        assert response.status_code == 422, field
        assert response.json() == {"error": f"[0].{field} is required"}


# 6. After a close every route books on the next trade date ------------------------------------
def test_after_a_close_every_route_books_on_the_next_trade_date_in_etnas_shape(
    client: TestClient, demo_container: Container, demo_headers: dict[str, str]
) -> None:
    """Closing a day no longer refuses bookings (decision 0025): each ETNA route answers 200
    with its AllocationResultInfo, and the allocations are marked late."""
    assert close(client, today(demo_container), demo_headers).status_code == 200
    headers = etna_headers(client)
    simple, legs = request(Quantity=1), multileg(leg())

    batch = client.post(SIMPLE, content=body(simple, simple), headers=headers)
    single = client.put(SIMPLE, content=body(simple)[1:-1], headers=headers)
    multi = client.post(MULTILEG, content=body(legs), headers=headers)
    multi_single = client.put(MULTILEG, content=body(legs)[1:-1], headers=headers)

    booked = {"IsSucceed": True}
    assert batch.status_code == 200, batch.text
    assert [{k: r[k] for k in booked} for r in exact(batch.text)] == [booked] * 2
    assert (single.status_code, multi.status_code, multi_single.status_code) == (200, 200, 200)
    assert exact(single.text)["IsSucceed"] is True
    assert allocation_count(demo_container) == 5
    late = client.get("/api/v1/allocations", headers=demo_headers).json()["items"]
    assert {row["late"] for row in late} == {True}


def test_a_batch_refused_as_a_whole_names_the_refusal_in_each_description() -> None:
    assert refusal_code(SessionClosed("closed")) == "SessionClosed"
    assert refusal_code(Conflict("the database refused a concurrent change")) == "ConcurrentChange"
    assert refusal_code(RuleViolation("refused")) == "ConcurrentChange"
