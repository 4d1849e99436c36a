"""Every dialect's allocations in the fairness ledger (decision 0046): an ETNA transfer, an
allocation file's row and a block-trade child read as Instructed (target = given), a
book-building distribution's exact targets keyed by its tranche; a refused ETNA item and a
refused block-trade child are drift reasons of their account (and block). Both databases."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from allotment.bootstrap import Container
from allotment.services.desk.records import RefusedItem, record_refusals
from tests.conftest import bearer
from tests.e2e.fix_initiator import Oms, instruction
from tests.e2e.test_allocation_files import (
    clear_street_file,
    desk,  # noqa: F401  (the fixture of the file tests)
    upload,
)
from tests.e2e.test_blocktrade_seed import PATH as BLOCK_TRADE
from tests.e2e.test_blocktrade_seed import SEED_JSON, as_json, encode, line, seed_request
from tests.e2e.test_bookbuilding_distribution import worked_example
from tests.e2e.test_etna_codes import request, send
from tests.e2e.test_fix_allocations import oms, port  # noqa: F401  (the FIX door's fixtures)
from tests.integration.test_saxo_block_orders import D, context, fill, order


def _get(client: TestClient, path: str, **params: str) -> Any:
    answer = client.get(path, params=params, headers=bearer(client))
    assert answer.status_code == 200, answer.text
    return answer.json()


def _fairness(client: TestClient, **params: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = _get(client, "/api/v1/fairness", **params)
    return found


def test_an_etna_batch_is_on_the_ledger_and_its_refused_item_is_a_drift_reason(
    client: TestClient,
) -> None:
    items = [request(Quantity=10), request(Symbol="NOPE", Quantity=7), request(Quantity=20)]
    assert send(client, items).status_code == 409
    [transfers] = _fairness(client, account_id="6688")
    assert transfers["key"] == ""
    assert (transfers["allocation_count"], transfers["given_quantity"]) == (2, "30")
    assert (transfers["target_quantity"], transfers["deviation_increments"]) == ("30", "0")

    [drift] = _get(client, "/api/v1/drift", account_id="6688")
    assert (drift["requests_refused"], drift["blocks"], drift["drift"]) == ("7", 0, "0")
    csv = client.get("/api/v1/drift.csv", params={"account_id": "6688"}, headers=bearer(client))
    assert csv.text.splitlines()[0].endswith(",error_account,requests_refused")


def test_an_allocation_file_s_rows_are_on_the_ledger_with_target_and_given(
    client: TestClient,
    desk: dict[str, str],  # noqa: F811
    demo_container: Container,
) -> None:
    assert upload(client, desk, clear_street_file(demo_container))["booked"] == 4
    lines = {row["account_id"]: row for row in _fairness(client, instrument="AAPL")}
    assert {account: lines[account]["given_quantity"] for account in ("F-1", "F-2", "F-3")} == {
        "F-1": "100",
        "F-2": "200",
        "F-3": "300",
    }
    assert all(lines[a]["target_quantity"] == lines[a]["given_quantity"] for a in lines)
    assert _fairness(client, account_id="F-1", key="227") == []  # an instructed row has no key


def test_a_book_building_distribution_records_its_exact_targets_under_its_tranche(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    tranche_id, _ = worked_example(client, demo_headers)
    path = f"/api/v1/tranches/{tranche_id}/distribute"
    assert client.post(path + "/preview", headers=demo_headers).status_code == 200
    assert _fairness(client, key=f"tranche:{tranche_id}") == []  # a preview writes nothing
    for _ in range(2):  # distributed again: the rows of the distribution that stands
        assert client.post(path, headers=demo_headers).status_code == 200
    lines = _fairness(client, key=f"tranche:{tranche_id}")
    found = sorted((x["target_quantity"], x["given_quantity"], x["instrument_id"]) for x in lines)
    assert found == [("1000000/3", "333333", None), ("2000000/3", "666667", None)]
    assert sorted(x["deviation_increments"] for x in lines) == ["-1/3", "1/3"]
    assert {x["allocation_count"] for x in lines} == {1}


def test_block_trade_children_are_on_the_ledger_and_a_refused_child_is_a_drift_reason(
    client: TestClient,
) -> None:
    document = line(seed_request(), 0, Quantity=30, TradeValue="202.50", NetAmount="193.22")
    document = line(document, 1, Quantity=70, TradeValue="472.50", NetAmount="444.66")
    refused = client.post(BLOCK_TRADE, content=encode(document), headers=as_json())
    assert refused.status_code == 400, refused.text
    assert client.post(BLOCK_TRADE, content=SEED_JSON, headers=as_json()).status_code == 200

    [child] = _fairness(client, account_id="1574444-01")
    assert (child["given_quantity"], child["target_quantity"]) == ("25", "25")
    # The master was filled before any intent could be recorded: the period's line says it.
    [period] = _get(client, "/api/v1/drift", account_id="1574444-01")
    assert (period["requests_refused"], period["blocks"]) == ("30", 0)
    assert _get(client, "/api/v1/drift", account_id="987558-01") == []  # its line booked


def test_a_request_refused_from_a_block_with_an_intent_is_an_event_of_its_drift(
    client: TestClient, demo_container: Container
) -> None:
    block_id = order(demo_container, "227", 1000)
    path = f"/api/v1/blocks/{block_id}/intent"
    assert client.put(path, json={}, headers=bearer(client)).status_code == 201
    refusal = RefusedItem("SX-2001", "AccountClosed", "account SX-2001 is closed", D(40), block_id)
    with demo_container.uow() as uow:
        record_refusals(uow, context(uow), f"block {block_id}", [refusal])
        uow.commit()
    fill(demo_container, block_id, 1000, "10.00")

    found = _get(client, f"/api/v1/blocks/{block_id}/drift")
    [event] = [e for e in found["events"] if e["kind"] == "RequestRefused"]
    assert (event["account_id"], event["quantity"], event["fill_sequence"]) == (
        "SX-2001",
        "40",
        None,
    )
    assert "AccountClosed" in event["detail"]
    lines = {row["account_id"]: row for row in found["lines"]}
    assert (lines["SX-2001"]["requests_refused"], lines["SX-2001"]["drift"]) == ("40", "0")
    [period] = _get(client, "/api/v1/drift", account_id="SX-2001")
    assert (period["requests_refused"], period["blocks"]) == ("40", 1)  # counted once


def test_a_fix_account_level_reject_is_kept_and_is_a_drift_reason_of_its_account(
    client: TestClient,
    oms: Oms,  # noqa: F811
) -> None:
    oms.send(instruction("U-1", [("1574444-01", "25"), ("NO-SUCH-ACCOUNT", "75")]))
    assert [m.get(87) for m in oms.receive(2)] == ["3", "2"]  # received, account-level reject
    lines = {row["account_id"]: row for row in _get(client, "/api/v1/drift")}
    assert list(lines) == ["NO-SUCH-ACCOUNT"]
    assert (lines["NO-SUCH-ACCOUNT"]["requests_refused"], lines["NO-SUCH-ACCOUNT"]["blocks"]) == (
        "75",
        0,
    )
