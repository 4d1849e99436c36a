"""Nothing of another company is ever visible: with a second company beside the demo one, every
native read and write that names the other company's objects answers 404 (as if they did not
exist), and no list shows them. Identifiers a caller chooses are unique across companies, so
creating one another company holds answers 409 and says nothing more."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal as D
from typing import Any

import pytest
from fastapi.testclient import TestClient

from allotment.bootstrap import Container
from allotment.domain.accounts import AccountRole, AccountType
from allotment.domain.identity import ALL_SCOPES, Principal, PrincipalKind
from allotment.domain.ledger import BookingCode
from allotment.services import blocks, registry
from allotment.services.context import Context
from allotment.services.journal import book as booking
from allotment.services.journal import ledger
from tests.conftest import bearer

NOW = datetime.now(UTC)
PASSWORD = "other-admin-password"


@dataclass(frozen=True)
class Other:
    """What the second company holds, by id."""

    user_id: int
    client_id: int
    account: str
    average: str
    entry_id: int
    allocation_id: int
    block_id: int
    api_client: str
    app_key: str


def _second_company(box: Container) -> Other:
    with box.uow() as uow:
        company = registry.create_company(uow, "Other Broker", D("0.10"), "USD", NOW)
        ctx = Context(
            Principal(company.id, "setup", PrincipalKind.USER, ALL_SCOPES, None), "native", NOW
        )
        user = registry.create_user(uow, ctx, box.hasher, "other-admin", PASSWORD, ["admin"], None)
        client = registry.create_client(uow, ctx, "Other client", 9001)
        account = registry.open_account(
            uow,
            ctx,
            account_id="OTHER-1",
            client_id=client.id,
            account_type=AccountType.CASH,
            role=AccountRole.CLIENT,
            currency="USD",
        )
        average = registry.open_account(
            uow,
            ctx,
            account_id="OTHER-AVG",
            client_id=None,
            account_type=AccountType.MARGIN,
            role=AccountRole.AVERAGE,
            currency="USD",
            credit_limit=D("1000000"),
        )
        entry_id = ledger.move_cash(uow, ctx, account.id, D("5000.00"), deposit=True)
        aapl = uow.instruments.by_symbol("AAPL")
        assert aapl is not None
        block = blocks.create_block(
            uow,
            ctx,
            account_id=average.id,
            instrument=aapl,
            side="Buy",
            quantity=D(10),
            fills=[blocks.FillInput(D(10), D("100.00"))],
            listeners=(),
        )
        [outcome] = booking.book(
            uow,
            ctx,
            [booking.BookingRequest(account, average, aapl, "Buy", D(10), D("100.00"))],
        )
        assert outcome.code is BookingCode.OK and outcome.allocation_id is not None
        api_client, _secret = registry.create_api_client(uow, ctx, box.hasher, "other", ["admin"])
        app_key = registry.create_app_key(uow, ctx, "other app")
        uow.commit()
    assert user.id is not None and block.id is not None
    return Other(
        user_id=user.id,
        client_id=client.id,
        account=account.id,
        average=average.id,
        entry_id=entry_id,
        allocation_id=outcome.allocation_id,
        block_id=block.id,
        api_client=api_client.client_id,
        app_key=app_key.key,
    )


@pytest.fixture
def other(demo_container: Container, client: TestClient) -> Other:
    return _second_company(demo_container)


def _gets(o: Other) -> list[tuple[str, dict[str, Any] | None]]:
    return [
        (f"/api/v1/users/{o.user_id}", None),
        (f"/api/v1/clients/{o.client_id}", None),
        (f"/api/v1/accounts/{o.account}", None),
        (f"/api/v1/accounts/{o.average}", None),
        (f"/api/v1/accounts/{o.account}/balances", None),
        ("/api/v1/ledger/journal", {"account_id": o.account}),
        (f"/api/v1/ledger/entries/{o.entry_id}", None),
        (f"/api/v1/allocations/{o.allocation_id}", None),
        (f"/api/v1/blocks/{o.block_id}", None),
        (f"/api/v1/blocks/{o.block_id}/fills", None),
    ]


def _posts(o: Other) -> list[tuple[str, dict[str, Any]]]:
    return [
        ("/api/v1/ledger/deposits", {"account_id": o.account, "amount": "1.00"}),
        ("/api/v1/ledger/withdrawals", {"account_id": o.account, "amount": "1.00"}),
        (
            "/api/v1/ledger/opening-positions",
            {"account_id": o.account, "symbol": "AAPL", "quantity": "1", "price": "1.00"},
        ),
        (f"/api/v1/ledger/entries/{o.entry_id}/reverse", {}),
        (f"/api/v1/accounts/{o.account}/close", {}),
        (f"/api/v1/blocks/{o.block_id}/fills", {"quantity": "1", "price": "1.00"}),
        (
            "/api/v1/blocks",
            {"account_id": o.average, "symbol": "AAPL", "side": "Buy", "quantity": "1"},
        ),
        ("/api/v1/accounts", {"id": "NEW-1", "client_id": o.client_id, "type": "Cash"}),
        (
            "/api/v1/users",
            {
                "username": "spy",
                "password": "spy-password",
                "scopes": [],
                "client_ids": [o.client_id],
            },
        ),
    ]


def _assert_not_found(response: Any) -> None:
    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "NotFound"
    assert "Other Broker" not in response.text


def _counts(client: TestClient) -> tuple[int, int]:
    admin = bearer(client)
    journal = client.get("/api/v1/ledger/journal", params={"limit": 1000}, headers=admin)
    audit = client.get("/api/v1/audit-events", params={"limit": 1000}, headers=admin)
    return len(journal.json()["items"]), len(audit.json()["items"])


def test_every_native_read_of_another_companys_objects_answers_404(
    client: TestClient, other: Other
) -> None:
    admin = bearer(client)
    for path, params in _gets(other):
        _assert_not_found(client.get(path, params=params, headers=admin))


def test_every_native_write_naming_another_companys_objects_answers_404_and_writes_nothing(
    client: TestClient, other: Other, demo_container: Container
) -> None:
    admin = bearer(client)
    before = _counts(client)
    with demo_container.uow(write=False) as uow:
        other_balances = uow.ledger.balances([other.account, other.average])
    for path, body in _posts(other):
        _assert_not_found(client.post(path, json=body, headers=admin))
    assert _counts(client) == before
    with demo_container.uow(write=False) as uow:
        assert uow.ledger.balances([other.account, other.average]) == other_balances
        assert uow.accounts.account("NEW-1") is None
        assert uow.identity.user_by_username("spy") is None


def test_no_list_shows_another_companys_objects(client: TestClient, other: Other) -> None:
    admin = bearer(client)
    lists = {
        "/api/v1/users": ("id", other.user_id),
        "/api/v1/clients": ("id", other.client_id),
        "/api/v1/accounts": ("id", other.account),
        "/api/v1/api-clients": ("client_id", other.api_client),
        "/api/v1/app-keys": ("key", other.app_key),
    }
    for path, (field, value) in lists.items():
        response = client.get(path, headers=admin)
        assert response.status_code == 200, response.text
        assert value not in [item[field] for item in response.json()], path
    accounts = [a["id"] for a in client.get("/api/v1/accounts", headers=admin).json()]
    assert not any(a.startswith("OTHER") or a.startswith("C2-") for a in accounts)
    paged = {
        "/api/v1/ledger/journal": other.entry_id,
        "/api/v1/allocations": other.allocation_id,
        "/api/v1/audit-events": None,
    }
    for path, hidden in paged.items():
        items = client.get(path, params={"limit": 1000}, headers=admin).json()["items"]
        assert hidden not in [item["id"] for item in items], path
        assert "Other" not in str(items) and "other-admin" not in str(items), path
    block_ids = [b["id"] for b in client.get("/api/v1/blocks", headers=admin).json()]
    assert other.block_id not in block_ids


def test_the_other_company_cannot_see_the_demo_companys_objects_either(
    client: TestClient, other: Other
) -> None:
    theirs = bearer(client, "other-admin", PASSWORD)
    for path in ["/api/v1/accounts/6688", "/api/v1/clients/1001", "/api/v1/blocks/195"]:
        _assert_not_found(client.get(path, headers=theirs))
    deposit = {"account_id": "6688", "amount": "1.00"}
    _assert_not_found(client.post("/api/v1/ledger/deposits", json=deposit, headers=theirs))
    accounts = [a["id"] for a in client.get("/api/v1/accounts", headers=theirs).json()]
    assert "6688" not in accounts and "OTHER-1" in accounts


def test_an_etna_app_key_of_another_company_does_not_log_a_demo_user_in(
    client: TestClient, other: Other
) -> None:
    headers = {"Username": "demo", "Password": "demo", "Et-App-Key": other.app_key}
    response = client.post("/token", headers=headers)
    assert response.status_code == 401
    assert response.json() == {
        "State": "Failed",
        "Step": "BaseAuthentication",
        "Reason": "Invalid credentials",
    }


def test_creating_an_identifier_another_company_holds_answers_409_without_details(
    client: TestClient, other: Other
) -> None:
    before = _counts(client)
    for path, body in [
        ("/api/v1/clients", {"name": "Copy", "id": other.client_id}),
        ("/api/v1/accounts", {"id": other.account, "client_id": 1001, "type": "Cash"}),
        ("/api/v1/users", {"username": "other-admin", "password": "whatever-pw", "scopes": []}),
        (
            "/api/v1/blocks",
            {"id": other.block_id, "account_id": "6687", "symbol": "AAPL", "side": "Buy"}
            | {"quantity": "1"},
        ),
    ]:
        response = client.post(path, json=body, headers=bearer(client))
        assert response.status_code == 409, response.text
        assert response.json()["code"] == "Conflict"
        for leak in ("Other", "UNIQUE", "constraint", "Key (", "INSERT", "C2-"):
            assert leak not in response.text, (path, leak)
    assert _counts(client) == before


def test_the_other_companys_book_building_and_clearing_stay_invisible(
    client: TestClient, other: Other
) -> None:
    """The capabilities built on the foundation keep the same wall: objects another company
    created through the native API answer 404 and its bookings are in no report of ours."""
    theirs = bearer(client, "other-admin", PASSWORD)

    def created(path: str, body: dict[str, Any]) -> str:
        response = client.post(path, json=body, headers=theirs)
        assert response.status_code == 201, response.text
        found: str = response.json()["id"]
        return found

    deal = created("/api/v1/deals", {"name": "Other IPO", "issuer": "Other Issuer"})
    tranche = created(
        f"/api/v1/deals/{deal}/tranches",
        {"name": "Main", "offered_size": "1000", "offer_price": "10.00"},
    )
    investor = created("/api/v1/investor-accounts", {"name": "Other Fund"})
    indication = created(
        f"/api/v1/tranches/{tranche}/indications",
        {"investor_account_id": investor, "demand_amount": "100"},
    )
    admin = bearer(client)
    for path in [
        f"/api/v1/deals/{deal}",
        f"/api/v1/deals/{deal}/tranches",
        f"/api/v1/tranches/{tranche}",
        f"/api/v1/tranches/{tranche}/indications",
        f"/api/v1/investor-accounts/{investor}",
        f"/api/v1/indications/{indication}",
    ]:
        _assert_not_found(client.get(path, headers=admin))
    for path, body in [
        (f"/api/v1/deals/{deal}/tranches", {"name": "x", "offered_size": "1", "offer_price": "1"}),
        (
            f"/api/v1/tranches/{tranche}/indications",
            {"investor_account_id": investor, "demand_amount": "1"},
        ),
        (f"/api/v1/tranches/{tranche}/distribute/preview", None),
    ]:
        _assert_not_found(client.post(path, json=body, headers=admin))
    assert deal not in [d["id"] for d in client.get("/api/v1/deals", headers=admin).json()]
    investors = client.get("/api/v1/investor-accounts", headers=admin).json()
    assert investor not in [i["id"] for i in investors]
    today = NOW.date().isoformat()
    report = client.get(f"/api/v1/clearing/sessions/{today}/report", headers=admin)
    assert report.status_code == 200, report.text
    assert other.account not in report.text and other.average not in report.text
    mine = client.get(f"/api/v1/clearing/sessions/{today}/report", headers=theirs)
    assert other.account in mine.text, "the other company does see its own booking"
