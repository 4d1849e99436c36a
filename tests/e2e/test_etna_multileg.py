"""ETNA multi-leg allocations: the legs of a request are booked all or none, with one
commission; the batch needs an admin token."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from allotment.bootstrap import Container
from allotment.domain.accounts import AccountRole
from allotment.domain.ledger import cash_key
from allotment.services import registry
from tests.e2e.test_etna_codes import body
from tests.e2e.test_etna_seed import allocation_count, balances, demo_ids, etna_headers

PATH = "/v1.0/allocations/multileg"


def multileg(*legs: dict[str, Any], commission: str = "1.39") -> dict[str, Any]:
    return {
        "FromAccount": "6687",
        "ToAccount": "6688",
        "AccountType": "Cash",
        "Comment": "Sample transfer",
        "Commission": Decimal(commission),
        "Legs": list(legs),
        "Instructions": {},
    }


def leg(
    symbol: str = "AAPL", quantity: Any = 10, price: str = "135.89", action: str = "Buy"
) -> Any:
    return {"Symbol": symbol, "Price": Decimal(price), "Quantity": quantity, "Action": action}


def test_a_multileg_request_books_every_leg_and_charges_one_commission(
    client: TestClient, demo_container: Container
) -> None:
    company_id, _ = demo_ids(demo_container)
    fee = cash_key(registry.house_account_id(company_id, AccountRole.FEE), "USD")
    [before] = balances(demo_container, fee)
    request = multileg(leg(quantity=10), leg(quantity=-4, price="135.00"))

    response = client.put(PATH, content=body(request)[1:-1], headers=etna_headers(client))

    assert response.status_code == 200, response.text
    assert response.json() == {"Request": response.json()["Request"], "IsSucceed": True}
    with demo_container.uow(write=False) as uow:
        booked = uow.allocations.list(company_id, None)
    assert [(a.side, a.quantity, a.commission) for a in booked] == [
        ("Buy", Decimal(10), Decimal("1.39")),
        ("Sell", Decimal(4), Decimal(0)),
    ]
    [after] = balances(demo_container, fee)
    assert after - before == Decimal("1.39")


def test_a_refused_leg_refuses_its_whole_request_and_not_the_others(
    client: TestClient, demo_container: Container
) -> None:
    refused = multileg(leg(quantity=10), leg(symbol="NOPE"))
    accepted = multileg(leg(quantity=5))

    response = client.post(PATH, content=body(refused, accepted), headers=etna_headers(client))

    assert response.status_code == 409
    assert [(r["IsSucceed"], r.get("Description")) for r in response.json()] == [
        (False, "InvalidSymbol"),
        (True, None),
    ]
    assert allocation_count(demo_container) == 1


def test_a_leg_refused_by_the_ledger_rolls_back_the_legs_before_it(
    client: TestClient, demo_container: Container
) -> None:
    # The first leg alone fits the cash; with the second, 6688 would go below zero.
    request = multileg(leg(quantity=500), leg(quantity=500))
    follow_up = multileg(leg(quantity=700))

    response = client.post(PATH, content=body(request, follow_up), headers=etna_headers(client))

    assert [(r["IsSucceed"], r.get("Description")) for r in response.json()] == [
        (False, "InsufficientFunds"),
        (True, None),
    ]
    assert allocation_count(demo_container) == 1


def test_the_multileg_batch_needs_an_admin_token(
    client: TestClient, demo_container: Container
) -> None:
    headers = etna_headers(client, "robert.z")  # allocations read and write, not admin

    batch = client.post(PATH, content=body(multileg(leg())), headers=headers)
    single = client.put(PATH, content=body(multileg(leg()))[1:-1], headers=headers)

    assert batch.status_code == 401
    assert batch.json() == {"Message": "Authorization has been denied for this request."}
    assert single.status_code == 200
    assert allocation_count(demo_container) == 1


def test_a_multileg_request_without_legs_or_with_a_zero_leg_answers_422(
    client: TestClient, demo_container: Container
) -> None:
    headers = etna_headers(client)
    for request in (multileg(), multileg(leg(quantity=0)), {**multileg(leg()), "Legs": "AAPL"}):
        response = client.post(PATH, content=body(request), headers=headers)

        assert response.status_code == 422, response.text
    assert allocation_count(demo_container) == 0
