"""The block-trade seed's samples, sent verbatim to the demo, answer as the vendor documents;
golden files pin the answers (ids and times normalised). Set ALLOTMENT_UPDATE_GOLDEN=1 to
rewrite them after a deliberate change."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from allotment.bootstrap import Container, build
from allotment.entrypoints.http.app import create_app
from allotment.services import demo
from allotment.services.demo import COMPANY
from allotment.services.ports import AllocationRow
from allotment.settings import Settings
from tests.conftest import BACKENDS, SECRET, _truncate_postgres, bearer

PATH = "/api/orders/blockTrade/block-allocations"
GOLDEN = Path(__file__).parent / "golden"
SEED_JSON = (GOLDEN / "blocktrade_seed_request.json").read_text()
SEED_XML = (GOLDEN / "blocktrade_seed_request.xml").read_text()
STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")


@pytest.fixture(scope="module", params=BACKENDS)
def refusing_demo(
    request: pytest.FixtureRequest,
    sqlite_template: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[TestClient, Container]]:
    """One demo database per test module and backend, for modules whose requests are all
    refused (they book nothing, which each test checks), so that they skip a fresh demo per
    test. Such modules hold no test that uses the per-test database."""
    folder = tmp_path_factory.mktemp("blocktrade")
    if request.param == "sqlite":
        shutil.copy(sqlite_template, folder / "allotment.db")
        url = f"sqlite:///{folder / 'allotment.db'}"
    else:
        url = request.getfixturevalue("postgres_database")
        _truncate_postgres(url)
    settings = Settings(
        database_url=url,
        secret_key=SECRET,
        var_dir=folder / "var",
        fast_password_hashing=True,
        max_body_bytes=2 * 1024 * 1024,
    )
    box = build(settings)
    with box.uow() as uow:
        demo.load(uow, box.hasher, box.clock.now())
        uow.commit()
    with TestClient(create_app(container=box)) as test_client:
        yield test_client, box
    box.engine.dispose()


def refused(client: TestClient, box: Container, document: dict[str, Any]) -> list[list[str]]:
    """Send the request; it must be refused as a whole: the Errors of each listed line."""
    response = client.post(PATH, content=encode(document), headers=as_json())
    assert response.status_code == 400, response.text
    assert children(box) == []
    assert holding(client, "1574444-01") == ("25", "10000.00")
    return [item["Errors"] for item in response.json()]


def line(document: dict[str, Any], index: int, **changes: Any) -> dict[str, Any]:
    document["AllocationDetails"][index].update(changes)
    return document


def basic(username: str = "demo", password: str = "demo") -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def as_json(headers: dict[str, str] | None = None) -> dict[str, str]:
    return {**(headers or basic()), "Content-Type": "application/json"}


def as_xml(headers: dict[str, str] | None = None) -> dict[str, str]:
    return {**(headers or basic()), "Content-Type": "application/xml"}


def seed_request() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(SEED_JSON, parse_float=Decimal)
    return document


def encode(document: dict[str, Any]) -> str:
    """JSON text with Decimals written as the exact numbers they hold (6.80 stays 6.80)."""
    text = json.dumps(document, default=lambda value: f"{_MARK}{value}{_MARK}")
    return re.sub(f'"{_MARK}(.*?){_MARK}"', r"\1", text)


_MARK = "@decimal@"


def children(box: Container, block_id: int = 195) -> list[AllocationRow]:
    with box.uow(write=False) as uow:
        company = uow.identity.company_by_name(COMPANY)
        assert company is not None
        return uow.allocations.list(company.id, None, block_id=block_id)


def holding(client: TestClient, account_id: str) -> tuple[str, str]:
    """(BHP position, AUD cash) of an account, as the native API shows them."""
    body = client.get(f"/api/v1/accounts/{account_id}/balances", headers=bearer(client)).json()
    position = next((p["quantity"] for p in body["positions"] if p["symbol"] == "BHP"), "0")
    cash = next((c["amount"] for c in body["cash"] if c["currency"] == "AUD"), "0")
    return format(Decimal(position).normalize(), "f"), str(Decimal(cash))


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("ALLOTMENT_UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()


def normalised_json(body: Any) -> str:
    for item in body:
        for key in ("BlockTradeAllocationID", "OrderID"):
            if key in item:
                assert isinstance(item[key], int) and item[key] > 0
                item[key] = "<id>"
        if "DatetimeCreated" in item:
            assert STAMP.fullmatch(item["DatetimeCreated"])
            item["DatetimeCreated"] = "<datetime>"
    return json.dumps(body, indent=2) + "\n"


def normalised_xml(text: str) -> str:
    text = re.sub(r"<(BlockTradeAllocationID|OrderID)>\d+</", r"<\1>{id}</", text)
    return STAMP.sub("{datetime}", text) + "\n"


def test_the_seed_json_request_books_both_sales_and_answers_the_result_list(
    client: TestClient, demo_container: Container
) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    response = client.post(PATH, content=SEED_JSON, headers=as_json())
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    body = response.json()
    assert [(r["ClientID"], r["ParentBlockTradeAllocationID"]) for r in body] == [
        (1574444, 195),
        (987558, 195),
    ]
    created = datetime.fromisoformat(body[0]["DatetimeCreated"]).replace(tzinfo=UTC)
    assert before <= created <= datetime.now(UTC) + timedelta(seconds=1)
    rows = children(demo_container)
    assert [r.id for r in rows] == [r["BlockTradeAllocationID"] for r in body]
    assert [(r.account_id, r.side, r.quantity, r.net_amount) for r in rows] == [
        ("1574444-01", "Sell", Decimal(25), Decimal("159.47")),
        ("987558-01", "Sell", Decimal(75), Decimal("478.41")),
    ]
    assert rows[0].comment == "Block Allocation as per email and meeting"
    check_golden("blocktrade_response.json", normalised_json(body))


def test_the_ledger_shows_the_two_sales_with_brokerage_and_gst_in_the_fee_account(
    client: TestClient,
) -> None:
    assert client.post(PATH, content=SEED_JSON, headers=as_json()).status_code == 200
    assert holding(client, "1574444-01") == ("0", "10159.47")
    assert holding(client, "987558-01") == ("0", "10478.41")
    assert holding(client, "AU-AVG") == ("0", "0.00")
    fee = client.get("/api/v1/accounts", headers=bearer(client)).json()
    fee_id = next(a["id"] for a in fee if a["role"] == "fee")
    assert holding(client, fee_id)[1] == "37.12"  # 8.44 + 0.84 + 25.31 + 2.53
    block = client.get("/api/v1/blocks/195", headers=bearer(client)).json()
    assert (block["allocated_quantity"], block["unallocated_quantity"]) == ("100", "0")


def test_each_line_gets_a_client_order_whose_id_is_the_order_id(
    client: TestClient, demo_container: Container
) -> None:
    body = client.post(PATH, content=SEED_JSON, headers=as_json()).json()
    with demo_container.uow(write=False) as uow:
        company = uow.identity.company_by_name(COMPANY)
        assert company is not None
        orders = uow.blocktrade.of_block(company.id, 195)
    assert [(o.id, o.allocation_id, o.client_id, o.allocation_reference) for o in orders] == [
        (r["OrderID"], r["BlockTradeAllocationID"], r["ClientID"], r["AllocationReference"])
        for r in body
    ]


def test_the_seed_xml_request_answers_the_vendors_xml_result_shape(
    client: TestClient, demo_container: Container
) -> None:
    response = client.post(PATH, content=SEED_XML, headers=as_xml())
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/xml; charset=utf-8"
    assert len(children(demo_container)) == 2
    check_golden("blocktrade_response.xml", normalised_xml(response.text))


def test_the_advisor_is_refused_the_second_client_and_nothing_is_booked(
    client: TestClient, demo_container: Container
) -> None:
    headers = bearer(client, "advisor", "advisor")
    response = client.post(PATH, content=SEED_JSON, headers=as_json(headers))
    assert response.status_code == 400, response.text
    [refused] = response.json()
    assert refused["BlockAllocation"]["ClientID"] == 987558
    assert refused["Errors"] == [
        "Not authorised to create order allocation for this client #987558"
    ]
    assert children(demo_container) == []
    assert holding(client, "1574444-01") == ("25", "10000.00")
    check_golden("blocktrade_advisor_response.json", normalised_json(response.json()))


def test_the_advisor_refusal_in_xml_echoes_the_line_in_the_vendors_error_shape(
    client: TestClient, demo_container: Container
) -> None:
    headers = bearer(client, "advisor", "advisor")
    response = client.post(PATH, content=SEED_XML, headers=as_xml(headers))
    assert response.status_code == 400, response.text
    assert children(demo_container) == []
    check_golden("blocktrade_advisor_response.xml", normalised_xml(response.text))


def test_resending_an_accepted_request_is_refused_as_a_duplicate_and_books_nothing(
    client: TestClient, demo_container: Container
) -> None:
    assert client.post(PATH, content=SEED_JSON, headers=as_json()).status_code == 200
    again = client.post(PATH, content=SEED_JSON, headers=as_json())
    assert again.status_code == 400
    assert [e["Errors"][0] for e in again.json()] == [
        "AllocationReference 1358233558943267 is already used on block trade allocation 195",
        "AllocationReference 316358044331848E is already used on block trade allocation 195",
    ]
    assert len(children(demo_container)) == 2
    assert holding(client, "1574444-01") == ("0", "10159.47")


def test_the_same_idempotency_key_replays_the_first_answer_without_booking_again(
    client: TestClient, demo_container: Container
) -> None:
    headers = {**as_json(), "Idempotency-Key": "seed-1"}
    first = client.post(PATH, content=SEED_JSON, headers=headers)
    second = client.post(PATH, content=SEED_JSON, headers=headers)
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.text == first.text
    assert second.headers.get("idempotent-replayed") == "true"
    assert len(children(demo_container)) == 2
    reused = client.post(PATH, content=SEED_XML, headers={**as_xml(), "Idempotency-Key": "seed-1"})
    assert reused.status_code == 422
    assert "different request" in reused.text


def test_a_token_from_the_oauth2_endpoint_is_accepted(
    client: TestClient, demo_container: Container
) -> None:
    form = {
        "grant_type": "client_credentials",
        "client_id": "demo-client",
        "client_secret": "demo-secret",
    }
    token = client.post("/connect/token", data=form).json()["access_token"]
    headers = as_json({"Authorization": f"Bearer {token}"})
    assert client.post(PATH, content=SEED_JSON, headers=headers).status_code == 200
    assert len(children(demo_container)) == 2


def test_a_token_from_the_etna_endpoint_is_accepted(
    client: TestClient, demo_container: Container
) -> None:
    login = {"Username": "demo", "Password": "demo", "Et-App-Key": "demo-app-key"}
    token = client.post("/token", headers=login).json()["Token"]
    headers = as_xml({"Authorization": f"Bearer {token}"})
    assert client.post(PATH, content=SEED_XML, headers=headers).status_code == 200


def test_a_json_request_may_ask_for_an_xml_answer(client: TestClient) -> None:
    headers = {**as_json(), "Accept": "application/xml"}
    response = client.post(PATH, content=SEED_JSON, headers=headers)
    assert response.status_code == 200, response.text
    assert response.text.startswith("<ArrayOfBlockTradeBlockAllocationResult ")
