"""The fairness ledger: every Saxo fill part booked records its exact target and what was given,
and the report sums the deviation per account, instrument and key (both databases)."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from allotment.bootstrap import Container
from allotment.entrypoints.cli import app
from allotment.services import fairness
from allotment.services.fairness import FairnessQuery
from allotment.services.journal import ledger
from tests.conftest import bearer
from tests.integration.test_saxo_block_orders import D, context, fill, order


def _report(box: Container, query: FairnessQuery) -> dict[str, fairness.FairnessLine]:
    with box.uow(write=False) as uow:
        lines = fairness.report(uow, context(uow), query)
    return {line.account_id: line for line in lines}


def test_each_fill_records_exact_targets_and_the_deviations_sum_to_zero_once_filled(
    demo_container: Container,
) -> None:
    block_id = order(demo_container, "227", 1000)
    fill(demo_container, block_id, 7, "10.00")  # targets 0.7 and 6.3 on key 227 (10 % / 90 %)
    after_one = _report(demo_container, FairnessQuery(key="227"))
    given_first = Fraction(after_one["SX-2001"].given_quantity)
    assert after_one["SX-2001"].target_quantity == Fraction(7, 10)
    assert after_one["SX-2001"].deviation_increments == given_first - Fraction(7, 10)
    assert after_one["SX-2002"].deviation_increments == -after_one["SX-2001"].deviation_increments
    fill(demo_container, block_id, 13, "10.00")
    fill(demo_container, block_id, 980, "10.00")
    done = _report(demo_container, FairnessQuery("SX-2001", key="227"))
    assert list(done) == ["SX-2001"]
    assert done["SX-2001"].allocation_count == 3
    assert done["SX-2001"].given_quantity == 100
    assert done["SX-2001"].deviation_increments == 0


def test_a_margin_reduction_shows_as_a_deviation_in_increments_and_in_money(
    demo_container: Container,
) -> None:
    with demo_container.uow() as uow:
        ledger.move_cash(uow, context(uow), "SX-2001", D("999750.00"), deposit=False)
        uow.commit()
    block_id = order(demo_container, "227", 1000)
    fill(demo_container, block_id, 1000, "10.00")
    line = _report(demo_container, FairnessQuery("SX-2001"))["SX-2001"]
    assert (line.given_quantity, line.target_quantity) == (25, 100)
    assert line.deviation_increments == -75
    assert line.deviation_money_rounded() == D("-750.00")
    before = FairnessQuery("SX-2001", end=date(2000, 1, 1))
    assert _report(demo_container, before) == {}


def test_the_native_api_and_the_cli_answer_the_fairness_report(
    client: TestClient, demo_container: Container, cli_env: Container
) -> None:
    block_id = order(demo_container, "227", 1000)
    fill(demo_container, block_id, 7, "10.00")
    headers = bearer(client)
    answer = client.get("/api/v1/fairness", params={"key": "227"}, headers=headers)
    assert answer.status_code == 200, answer.text
    rows = {row["account_id"]: row for row in answer.json()}
    assert rows["SX-2001"]["target_quantity"] == "7/10"
    assert rows["SX-2002"]["target_quantity"] == "63/10"
    assert rows["SX-2001"]["allocation_count"] == 1
    csv = client.get("/api/v1/fairness.csv", params={"account_id": "SX-2002"}, headers=headers)
    assert csv.status_code == 200
    assert csv.text.splitlines()[0].startswith("account_id,instrument_id,key")
    assert csv.text.splitlines()[1].startswith("SX-2002,")
    refused = client.get("/api/v1/fairness", params={"from": "2026-02-30"}, headers=headers)
    assert refused.status_code == 422
    unknown = client.get("/api/v1/fairness", params={"account_id": "NOPE"}, headers=headers)
    assert unknown.status_code == 404
    runner = CliRunner()
    table = runner.invoke(app, ["fairness", "report", "--company", "Demo Broker", "--key", "227"])
    assert table.exit_code == 0, table.output
    assert "SX-2001" in table.output and "7/10" in table.output
    as_csv = runner.invoke(
        app, ["fairness", "report", "--company", "Demo Broker", "--account", "SX-2001", "--csv"]
    )
    assert as_csv.exit_code == 0, as_csv.output
    assert as_csv.output.splitlines()[1].startswith("SX-2001,")


def test_block_trade_child_allocations_record_their_instructed_quantity_as_the_target(
    client: TestClient, demo_container: Container
) -> None:
    from tests.e2e.test_blocktrade_seed import PATH, SEED_JSON, as_json

    assert client.post(PATH, content=SEED_JSON, headers=as_json()).status_code == 200
    lines = _report(demo_container, FairnessQuery(start=date(2000, 1, 1)))
    assert {account: line.given_quantity for account, line in lines.items()} == {
        "1574444-01": 25,
        "987558-01": 75,
    }
    for line in lines.values():
        assert line.target_quantity == line.given_quantity and line.deviation_increments == 0
