"""Every ETNA Description code, produced by a request that breaks its rule; mixed batches
(independent and atomic); bodies that are not valid arrays of requests (422, nothing booked)."""

from __future__ import annotations

import dataclasses
import json
import re
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from allotment.bootstrap import Container
from allotment.domain.accounts import AccountRole, AccountType
from allotment.domain.ledger import BookingCode
from allotment.entrypoints.http.app import create_app
from allotment.services import registry
from allotment.services.journal import ledger
from tests.e2e.test_etna_seed import admin_context, allocation_count, demo_ids, etna_headers

PATH = "/v1.0/allocations/simple"


def request(**changes: Any) -> dict[str, Any]:
    """The seed's sample (6687 -> 6688, 100 AAPL at 135.89) with some fields changed."""
    item: dict[str, Any] = {
        "FromAccount": "6687",
        "ToAccount": "6688",
        "Symbol": "AAPL",
        "Quantity": 100,
        "Price": Decimal("135.89"),
        "Commission": Decimal("1.36"),
        "Action": "Buy",
        "AccountType": "Cash",
        "Comment": "Sample transfer",
        "Instructions": {},
    }
    item.update(changes)
    return item


def body(*items: Any) -> str:
    """A JSON array with every Decimal written as the exact number it holds."""
    text = json.dumps(list(items), default=lambda number: f"@@{number}@@")
    return re.sub(r'"@@(.*?)@@"', r"\1", text)


def send(client: TestClient, items: list[dict[str, Any]], **params: str) -> Any:
    return client.post(PATH, content=body(*items), headers=etna_headers(client), params=params)


@pytest.fixture
def margin_client(demo_container: Container) -> str:
    """A margin account (client 1001, credit 50,000) that may sell short."""
    company_id, _ = demo_ids(demo_container)
    with demo_container.uow() as uow:
        ctx = admin_context(demo_container, company_id)
        registry.open_account(
            uow,
            ctx,
            account_id="M-1001",
            client_id=1001,
            account_type=AccountType.MARGIN,
            role=AccountRole.CLIENT,
            currency="USD",
            credit_limit=Decimal("50000"),
        )
        ledger.move_cash(uow, ctx, "M-1001", Decimal("1000.00"), deposit=True)
        uow.commit()
    return "M-1001"


CASES = [
    ("unknown account", {"ToAccount": "9999"}, BookingCode.INVALID_ACCOUNT),
    ("a username", {"FromAccount": "demo"}, BookingCode.INVALID_ACCOUNT),
    ("a house account", {"FromAccount": "{external}"}, BookingCode.INVALID_ACCOUNT),
    ("the same account", {"FromAccount": "6688"}, BookingCode.SAME_ACCOUNT),
    ("type mismatch", {"AccountType": "Margin"}, BookingCode.ACCOUNT_TYPE_MISMATCH),
    ("unknown symbol", {"Symbol": "NOPE"}, BookingCode.INVALID_SYMBOL),
    ("half a share", {"Quantity": Decimal("0.5")}, BookingCode.INVALID_QUANTITY),
    ("a tenth of a cent", {"Price": Decimal("135.891")}, BookingCode.INVALID_PRICE),
    ("a commission in tenths", {"Commission": Decimal("1.365")}, BookingCode.INVALID_PRICE),
    ("above the average cost", {"Price": Decimal("135.90")}, BookingCode.PREMIUM_NOT_ALLOWED),
    ("more than the cash", {"Quantity": 1000}, BookingCode.INSUFFICIENT_FUNDS),
    ("a sale of shares not held", {"Action": "Sell"}, BookingCode.INSUFFICIENT_POSITION),
    ("short on a cash account", {"Action": "SellShort"}, BookingCode.INSUFFICIENT_POSITION),
]


def test_each_rule_gives_its_description_code_and_books_nothing(
    client: TestClient, demo_container: Container
) -> None:
    company_id, _ = demo_ids(demo_container)
    external = registry.house_account_id(company_id, AccountRole.EXTERNAL)
    items = [request(**changes) for _, changes, _ in CASES]
    items[2]["FromAccount"] = external

    response = send(client, items)

    assert response.status_code == 409, response.text
    results = response.json()
    assert [(r["IsSucceed"], r.get("Description")) for r in results] == [
        (False, code.value) for _, _, code in CASES
    ]
    assert allocation_count(demo_container) == 0


def test_a_closed_account_answers_account_closed(
    client: TestClient, demo_container: Container
) -> None:
    company_id, _ = demo_ids(demo_container)
    with demo_container.uow() as uow:
        registry.close_account(uow, admin_context(demo_container, company_id), "6688")
        uow.commit()

    response = send(client, [request()])

    assert response.json()[0]["Description"] == "AccountClosed"


def test_a_user_limited_to_other_clients_is_not_authorized_for_the_account(
    client: TestClient,
) -> None:
    headers = etna_headers(client, "advisor")  # client 1574444 only; 6688 belongs to 1001

    response = client.post(PATH, content=body(request()), headers=headers)

    assert response.status_code == 409
    assert response.json()[0]["Description"] == "NotAuthorizedForAccount"


def test_another_companys_account_is_an_invalid_account(
    client: TestClient, demo_container: Container
) -> None:
    with demo_container.uow() as uow:
        other = registry.create_company(
            uow, "Other Broker", Decimal("0.1"), "USD", demo_container.clock.now()
        )
        uow.commit()

    response = send(
        client, [request(ToAccount=registry.house_account_id(other.id, AccountRole.FEE))]
    )

    assert response.json()[0]["Description"] == "InvalidAccount"


def test_a_margin_account_may_sell_short_with_a_short_action_only(
    client: TestClient, margin_client: str
) -> None:
    short = request(ToAccount=margin_client, AccountType="Margin", Action="SellShort", Quantity=10)
    plain_sale = {**short, "Action": "Sell"}

    response = send(client, [plain_sale, short])

    assert response.status_code == 409
    assert [r["IsSucceed"] for r in response.json()] == [False, True]
    assert response.json()[0]["Description"] == "InsufficientPosition"


def test_a_mixed_batch_answers_409_and_books_exactly_its_successful_items(
    client: TestClient, demo_container: Container
) -> None:
    items = [
        request(Quantity=10, Comment="first"),
        request(Symbol="NOPE", Comment="refused"),
        request(Quantity=20, Comment="second"),
    ]

    response = send(client, items)

    assert response.status_code == 409
    assert [r["IsSucceed"] for r in response.json()] == [True, False, True]
    assert "Description" not in response.json()[0]
    company_id, _ = demo_ids(demo_container)
    with demo_container.uow(write=False) as uow:
        booked = uow.allocations.list(company_id, None)
    assert sorted((a.comment, a.quantity) for a in booked) == [
        ("first", Decimal(10)),
        ("second", Decimal(20)),
    ]


def test_the_same_batch_with_atomic_true_books_nothing(
    client: TestClient, demo_container: Container
) -> None:
    items = [request(Quantity=10), request(Symbol="NOPE"), request(Quantity=20)]

    response = send(client, items, atomic="true")

    assert response.status_code == 409
    results = response.json()
    assert [r["IsSucceed"] for r in results] == [False, False, False]
    assert [r.get("Description") for r in results] == [None, "InvalidSymbol", None]
    assert allocation_count(demo_container) == 0


def test_an_atomic_batch_that_passes_books_everything(
    client: TestClient, demo_container: Container
) -> None:
    response = send(client, [request(Quantity=10), request(Quantity=20)], atomic="true")

    assert response.status_code == 200
    assert allocation_count(demo_container) == 2


def test_items_are_decided_in_order_against_the_running_balances(
    client: TestClient, demo_container: Container
) -> None:
    # 100,000.00 of cash buys 7 lots of 100 at 135.89 (+1.36 each), not 8.
    response = send(client, [request() for _ in range(8)])

    assert [r["IsSucceed"] for r in response.json()] == [True] * 7 + [False]
    assert response.json()[7]["Description"] == "InsufficientFunds"
    assert allocation_count(demo_container) == 7


VALID = request(Quantity=1)
INVALID_BODIES = [
    ("not JSON", "[{"),
    ("an object", body(VALID)[1:-1]),
    ("a list of strings", '["6687"]'),
    ("a missing Symbol", body(VALID, {k: v for k, v in VALID.items() if k != "Symbol"})),
    ("a quantity as text", body(VALID, request(Quantity="100"))),
    ("a zero quantity", body(VALID, request(Quantity=0))),
    ("a negative quantity", body(VALID, request(Quantity=-5))),
    ("a negative price", body(VALID, request(Price=-1))),
    ("a negative commission", body(VALID, request(Commission=-1))),
    ("an unknown action", body(VALID, request(Action="Borrow"))),
    ("an unknown account type", body(VALID, request(AccountType="Savings"))),
    ("a boolean account", body(VALID, request(ToAccount=True))),
    ("nested instructions", body(VALID, request(Instructions={"a": {"b": 1}}))),
    ("too many decimals", body(VALID, request(Quantity=Decimal("1e-12")))),
    ("sixteen digits", body(VALID, request(Price=Decimal("1000000000000000.5")))),
    ("a sixteen-digit value", body(VALID, request(Quantity=10**8, Price=Decimal("10000000")))),
    ("NaN", body(VALID, request()).replace("135.89", "NaN")),
]


def test_a_body_that_is_not_an_array_of_valid_requests_answers_422_and_books_nothing(
    client: TestClient, demo_container: Container
) -> None:
    headers = etna_headers(client)
    for name, text in INVALID_BODIES:
        response = client.post(PATH, content=text, headers=headers)

        assert response.status_code == 422, (name, response.text)
        assert set(response.json()) == {"error"}, name
    assert allocation_count(demo_container) == 0


def test_a_validation_error_names_the_item_and_the_field(client: TestClient) -> None:
    text = body(request(), request(Quantity=0))

    response = client.post(PATH, content=text, headers=etna_headers(client))

    assert response.json() == {"error": "[1].Quantity must be greater than 0"}


def test_a_batch_longer_than_the_limit_answers_413(demo_container: Container) -> None:
    settings = demo_container.settings.model_copy(update={"max_batch_items": 2})
    box = dataclasses.replace(demo_container, settings=settings)
    with TestClient(create_app(container=box)) as limited:
        response = limited.post(PATH, content=body(*[request()] * 3), headers=etna_headers(limited))

    assert response.status_code == 413
    assert "at most 2" in response.json()["error"]


def test_optional_fields_may_be_left_out_or_null(
    client: TestClient, demo_container: Container
) -> None:
    item = request(Quantity=1, Comment=None, Instructions=None)
    del item["Commission"]

    response = client.post(PATH, content=body(item), headers=etna_headers(client))

    assert response.status_code == 200, response.text
    assert response.json()[0]["Request"] == json.loads(body(item))[0]
