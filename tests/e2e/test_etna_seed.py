"""The ETNA seed's samples, sent verbatim to the demo app, answer as ETNA documents them, and
the transfer lands on the ledger; the application key and the token are checked as ETNA does."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from allotment.bootstrap import Container
from allotment.domain.identity import ALL_SCOPES, Principal, PrincipalKind
from allotment.domain.ledger import AssetKind, BalanceKey, cash_key, security_key
from allotment.services import registry
from allotment.services.context import Context
from allotment.services.demo import COMPANY
from allotment.services.ports import TokenClaims

PATH = "/v1.0/allocations/simple"

SEED_REQUEST = """[
  {
    "FromAccount": "6687",
    "ToAccount": "6688",
    "Symbol": "AAPL",
    "Quantity": 100,
    "Price": 135.89,
    "Commission": 1.36,
    "Action": "Buy",
    "AccountType": "Cash",
    "Comment": "Sample transfer",
    "Instructions": {}
  }
]"""
"""The seed's request sample, byte for byte."""

SEED_RESPONSE = """[
  {
    "Request": {
      "FromAccount": "6687",
      "ToAccount": "6688",
      "Symbol": "AAPL",
      "Quantity": 100,
      "Price": 135.89,
      "Commission": 1.36,
      "Action": "Buy",
      "AccountType": "Cash",
      "Comment": "Sample transfer",
      "Instructions": {}
    },
    "IsSucceed": true
  }
]"""

USERNAMES_REQUEST = SEED_REQUEST.replace('"6687"', '"robert.z"').replace('"6688"', '"charlie"')
USERNAMES_RESPONSE = """[
  {
    "Request": {
      "FromAccount": "robert.z",
      "ToAccount": "charlie",
      "Symbol": "AAPL",
      "Quantity": 100,
      "Price": 135.89,
      "Commission": 1.36,
      "Action": "Buy",
      "AccountType": "Cash",
      "Comment": "Sample transfer",
      "Instructions": {}
    },
    "IsSucceed": false,
    "Description": "InvalidAccount"
  }
]"""

NO_APP_KEY = {"error": "Application key is not defined or does not exist"}


def etna_token(client: TestClient, username: str = "demo", password: str | None = None) -> str:
    response = client.post(
        "/token",
        headers={
            "Username": username,
            "Password": password or username,
            "Et-App-Key": "demo-app-key",
        },
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["Token"]
    return token


def etna_headers(client: TestClient, username: str = "demo") -> dict[str, str]:
    return {
        "Et-App-Key": "demo-app-key",
        "Authorization": f"Bearer {etna_token(client, username)}",
        "Content-Type": "application/json",
    }


def exact(value: Any) -> Any:
    """JSON read with its numbers exact, to compare bodies number for number."""
    return json.loads(value, parse_float=Decimal)


def balances(box: Container, *keys: BalanceKey) -> list[Decimal]:
    with box.uow(write=False) as uow:
        found = uow.ledger.balances(sorted({key.account_id for key in keys}))
    return [found[key].quantity if key in found else Decimal(0) for key in keys]


def demo_ids(box: Container) -> tuple[int, int]:
    """The demo company's id and AAPL's instrument id."""
    with box.uow(write=False) as uow:
        company = uow.identity.company_by_name(COMPANY)
        aapl = uow.instruments.by_symbol("AAPL")
    assert company is not None and aapl is not None
    return company.id, aapl.id


def admin_context(box: Container, company_id: int, days: int = 0) -> Context:
    principal = Principal(company_id, "test-admin", PrincipalKind.USER, ALL_SCOPES, None)
    return Context(principal, "test", box.clock.now() + timedelta(days=days))


def allocation_count(box: Container) -> int:
    company_id, _ = demo_ids(box)
    with box.uow(write=False) as uow:
        return len(uow.allocations.list(company_id, None, limit=100_000))


def test_the_seed_sample_books_100_aapl_and_moves_price_times_quantity_plus_commission(
    client: TestClient, demo_container: Container
) -> None:
    company_id, aapl = demo_ids(demo_container)
    fee = registry.house_account_id(company_id, registry.AccountRole.FEE)
    keys = (
        security_key("6687", aapl),
        security_key("6688", aapl),
        cash_key("6687", "USD"),
        cash_key("6688", "USD"),
        cash_key(fee, "USD"),
    )
    before = balances(demo_container, *keys)

    response = client.post(PATH, content=SEED_REQUEST, headers=etna_headers(client))

    assert response.status_code == 200, response.text
    assert exact(response.text) == exact(SEED_RESPONSE)
    assert '"Price":135.89' in response.text  # numbers come back as the numbers sent
    after = balances(demo_container, *keys)
    moved = [a - b for a, b in zip(after, before, strict=True)]
    assert moved == [
        Decimal(-100),
        Decimal(100),
        Decimal("13589.00"),
        Decimal("-13590.36"),
        Decimal("1.36"),
    ]


def test_the_seed_sample_with_usernames_answers_409_invalid_account(
    client: TestClient, demo_container: Container
) -> None:
    response = client.post(PATH, content=USERNAMES_REQUEST, headers=etna_headers(client))

    assert response.status_code == 409
    assert exact(response.text) == exact(USERNAMES_RESPONSE)
    assert allocation_count(demo_container) == 0


def test_a_request_without_an_application_key_answers_403_with_etnas_exact_error(
    client: TestClient,
) -> None:
    headers = etna_headers(client)
    del headers["Et-App-Key"]

    response = client.post(PATH, content=SEED_REQUEST, headers=headers)

    assert response.status_code == 403
    assert response.json() == NO_APP_KEY


def test_an_unknown_application_key_answers_403_even_without_a_token(client: TestClient) -> None:
    response = client.post(PATH, content=SEED_REQUEST, headers={"Et-App-Key": "not-a-key"})

    assert response.status_code == 403
    assert response.json() == NO_APP_KEY


def test_an_application_key_of_another_company_answers_403(
    client: TestClient, demo_container: Container
) -> None:
    with demo_container.uow() as uow:
        other = registry.create_company(
            uow, "Other Broker", Decimal("0.1"), "USD", datetime.now(UTC)
        )
        uow.identity.add_app_key(
            registry.AppKeyRecord(other.id, "other-app-key", "other"), datetime.now(UTC)
        )
        uow.commit()
    headers = {**etna_headers(client), "Et-App-Key": "other-app-key"}

    response = client.post(PATH, content=SEED_REQUEST, headers=headers)

    assert response.status_code == 403
    assert response.json() == NO_APP_KEY


DENIED = {"Message": "Authorization has been denied for this request."}
"""ASP.NET Web API's 401, as ETNA's gitbook shows it."""


def test_a_missing_or_forged_token_answers_asp_net_s_401(client: TestClient) -> None:
    for authorization in (None, "Bearer not-a-token"):
        headers = {"Et-App-Key": "demo-app-key"}
        if authorization:
            headers["Authorization"] = authorization

        response = client.post(PATH, content=SEED_REQUEST, headers=headers)

        assert response.status_code == 401
        assert response.json() == DENIED


def test_an_expired_token_answers_401(client: TestClient, demo_container: Container) -> None:
    company_id, _ = demo_ids(demo_container)
    expired = demo_container.tokens.encode(
        TokenClaims(
            company_id, "demo", "user", frozenset(s.value for s in ALL_SCOPES),
            datetime.now(UTC) - timedelta(minutes=1),
        )
    )  # fmt: skip
    headers = {"Et-App-Key": "demo-app-key", "Authorization": f"Bearer {expired}"}

    response = client.post(PATH, content=SEED_REQUEST, headers=headers)

    assert response.status_code == 401
    assert response.json() == DENIED


def test_a_token_without_allocations_write_answers_401_and_books_nothing(
    client: TestClient, demo_container: Container
) -> None:
    company_id, _ = demo_ids(demo_container)
    with demo_container.uow() as uow:
        registry.create_user(
            uow,
            admin_context(demo_container, company_id),
            demo_container.hasher,
            "reader",
            "reader-password",
            ["allocations-read"],
            None,
        )
        uow.commit()
    token = etna_token(client, "reader", "reader-password")
    headers = {"Et-App-Key": "demo-app-key", "Authorization": f"Bearer {token}"}

    response = client.post(PATH, content=SEED_REQUEST, headers=headers)

    assert response.status_code == 401
    assert response.json() == DENIED
    assert allocation_count(demo_container) == 0


def test_version_1_and_1_0_are_the_same_api_and_others_are_not_found(client: TestClient) -> None:
    headers = etna_headers(client)
    one = json.loads(SEED_REQUEST)
    one[0]["Quantity"] = 1

    assert client.post("/v1/allocations/simple", json=one, headers=headers).status_code == 200
    assert client.post("/v1.0/allocations/simple", json=one, headers=headers).status_code == 200
    assert client.post("/v2/allocations/simple", json=one, headers=headers).status_code == 404


def test_put_books_one_request_and_answers_one_result(
    client: TestClient, demo_container: Container
) -> None:
    item = json.loads(SEED_REQUEST, parse_float=Decimal)[0]
    body = SEED_REQUEST.strip()[1:-1]

    response = client.put("/v1/allocations/simple", content=body, headers=etna_headers(client))

    assert response.status_code == 200, response.text
    assert exact(response.text) == {"Request": item, "IsSucceed": True}
    assert allocation_count(demo_container) == 1


def test_the_answer_is_text_json_when_the_client_asks_only_for_text_json(
    client: TestClient,
) -> None:
    headers = {**etna_headers(client), "Accept": "text/json"}

    response = client.post(PATH, content=SEED_REQUEST, headers=headers)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/json")


def test_the_fee_account_keeps_the_commission_and_the_journal_entry_balances(
    client: TestClient, demo_container: Container
) -> None:
    client.post(PATH, content=SEED_REQUEST, headers=etna_headers(client))
    company_id, _ = demo_ids(demo_container)
    with demo_container.uow(write=False) as uow:
        [allocation] = uow.allocations.list(company_id, None)
        stored = uow.ledger.entry(company_id, allocation.entry_id)
    assert stored is not None
    assert allocation.dialect == "etna"
    assert (allocation.account_id, allocation.source_account_id) == ("6688", "6687")
    assert allocation.net_amount == Decimal("13590.36")
    for kind in AssetKind:
        assert sum(p.amount for p in stored.entry.postings if p.kind is kind) == 0
