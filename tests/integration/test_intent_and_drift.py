"""Pre-trade intent and drift (decision 0041): a block's intent is written once before its first
fill and never after; the drift report says, per account, how the outcome moved from it (a
margin reduction, the error account's booking, the remainder rule), exactly; an allocation's
explanation says why it is what it is (both databases)."""

from __future__ import annotations

from fractions import Fraction

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from allotment.adapters.database.tables import allocations
from allotment.bootstrap import Container
from allotment.entrypoints.cli import app
from allotment.services.journal import ledger
from tests.conftest import bearer
from tests.integration.test_saxo_block_orders import D, context, error_account, fill, order


@pytest.fixture
def headers(client: TestClient) -> dict[str, str]:
    return bearer(client)


def _short_of_cash(box: Container) -> None:
    """SX-2001 keeps 250.00: at 10.00 it can pay for 25 shares."""
    with box.uow() as uow:
        ledger.move_cash(uow, context(uow), "SX-2001", D("999750.00"), deposit=False)
        uow.commit()


def test_an_intent_is_recorded_before_the_first_fill_and_never_after_and_the_drift_says_why(
    client: TestClient, demo_container: Container, headers: dict[str, str]
) -> None:
    _short_of_cash(demo_container)
    block_id = order(demo_container, "227", 1000)
    path = f"/api/v1/blocks/{block_id}/intent"
    assert client.get(path, headers=headers).status_code == 404
    put = client.put(path, json={}, headers=headers)  # the block's own key, 10 % / 90 %
    assert put.status_code == 201, put.text
    assert put.json()["source"] == "key" and put.json()["key_id"] == "227"
    assert {line["account_id"]: line["quantity"] for line in put.json()["lines"]} == {
        "SX-2001": "100",
        "SX-2002": "900",
    }
    again = client.put(path, json={"lines": [{"account_id": "SX-2002", "quantity": "1000"}]})
    assert again.status_code == 401
    second = client.put(
        path, json={"lines": [{"account_id": "SX-2002", "quantity": "1000"}]}, headers=headers
    )
    assert second.status_code == 409, second.text
    fill(demo_container, block_id, 7, "10.00")
    fill(demo_container, block_id, 500, "10.00")
    after = client.put(path, json={}, headers=headers)
    assert after.status_code == 409
    assert client.get(path, headers=headers).json() == put.json()

    answer = client.get(f"/api/v1/blocks/{block_id}/drift", headers=headers)
    assert answer.status_code == 200, answer.text
    lines = {line["account_id"]: line for line in answer.json()["lines"]}
    error = error_account(demo_container)
    short = lines["SX-2001"]
    assert Fraction(short["target_quantity"]) == Fraction(507, 10)
    assert short["booked_quantity"] == "25"  # 250.00 of cash at 10.00
    assert Fraction(short["drift"]) == 25 - 100
    for line in lines.values():  # drift = unfilled + remainder - reduced - refused + error
        parts = Fraction(line["unfilled"]) + Fraction(line["remainder"])
        parts += Fraction(line["error_account"]) - Fraction(line["margin_reduced"])
        assert parts - Fraction(line["refused"]) == Fraction(line["drift"])
    assert Fraction(short["remainder"]) not in (0, None)
    assert Fraction(short["remainder"]) == -Fraction(lines["SX-2002"]["remainder"])
    assert D(lines[error]["error_account"]) == D(short["margin_reduced"]) > 0
    assert D(lines[error]["booked_quantity"]) == D(lines[error]["error_account"])
    booked = sum(D(line["booked_quantity"]) for line in lines.values())
    assert booked == 507  # every share filled is on an account: conserved
    kinds = {(event["account_id"], event["kind"]) for event in answer.json()["events"]}
    assert {("SX-2001", "MarginReduction"), (error, "ErrorAccount")} <= kinds
    assert {("SX-2001", "Remainder"), ("SX-2002", "Remainder")} <= kinds
    csv = client.get(f"/api/v1/blocks/{block_id}/drift.csv", headers=headers)
    assert csv.status_code == 200
    assert csv.text.splitlines()[0].startswith("block_id,account_id,blocks,intended_quantity")
    period = client.get("/api/v1/drift", params={"account_id": "SX-2001"}, headers=headers)
    assert [row["account_id"] for row in period.json()] == ["SX-2001"]
    assert period.json()[0]["drift"] == short["drift"]


def test_an_explicit_intent_is_checked_and_the_explanation_names_the_margin_cut(
    client: TestClient, demo_container: Container, headers: dict[str, str]
) -> None:
    _short_of_cash(demo_container)
    block_id = order(demo_container, "227", 1000)
    path = f"/api/v1/blocks/{block_id}/intent"
    wrong_total = [{"account_id": "SX-2001", "quantity": "100"}]
    assert client.put(path, json={"lines": wrong_total}, headers=headers).status_code == 422
    unknown = [{"account_id": "NOPE", "quantity": "1000"}]
    assert client.put(path, json={"lines": unknown}, headers=headers).status_code == 404
    both = {"allocation_key_id": "227", "lines": wrong_total}
    assert client.put(path, json=both, headers=headers).status_code == 422
    lines = [
        {"account_id": "SX-2001", "quantity": "500"},
        {"account_id": "SX-2002", "quantity": "500"},
    ]
    put = client.put(path, json={"lines": lines}, headers=headers)
    assert put.status_code == 201, put.text
    fill(demo_container, block_id, 1000, "10.00")
    drift = client.get(f"/api/v1/blocks/{block_id}/drift", headers=headers).json()
    by_account = {line["account_id"]: line for line in drift["lines"]}
    assert Fraction(by_account["SX-2001"]["unfilled"]) == 100 - 500  # the key gives 10 %
    found = client.get(
        "/api/v1/allocations", params={"block_id": block_id}, headers=headers
    ).json()["items"]
    mine = next(item for item in found if item["account_id"] == "SX-2001")
    answer = client.get(f"/api/v1/allocations/{mine['id']}/explanation", headers=headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["target_quantity"] == "100" and body["quantity"] == "25"
    assert body["remainder_policy"] == "LargestRemainder"
    assert body["method"].startswith("Percentage allocation key 227")
    assert [item["kind"] for item in body["adjustments"]] == ["MarginReduction"]
    assert body["adjustments"][0]["quantity"] == "75"
    assert any("margin" in sentence for sentence in body["words"])
    assert set(body["fees"]) == {"commission", "tax", "other_fees", "net_amount"}
    missing = client.get("/api/v1/allocations/999999/explanation", headers=headers)
    assert missing.status_code == 404


def test_the_cli_records_an_intent_and_prints_drift_and_explanations(
    cli_env: Container,
) -> None:
    _short_of_cash(cli_env)
    block_id = order(cli_env, "227", 1000)
    runner = CliRunner()
    company = ["--company", "Demo Broker"]
    made = runner.invoke(app, ["fairness", "intent", "set", str(block_id), *company])
    assert made.exit_code == 0, made.output
    assert "SX-2002" in made.output and "900" in made.output
    fill(cli_env, block_id, 1000, "10.00")
    again = runner.invoke(app, ["fairness", "intent", "set", str(block_id), *company])
    assert again.exit_code != 0 and "fills" in again.output
    table = runner.invoke(app, ["fairness", "drift", "--block", str(block_id), *company])
    assert table.exit_code == 0, table.output
    assert "MarginReduction" in table.output and "ErrorAccount" in table.output
    as_csv = runner.invoke(app, ["fairness", "drift", "--account", "SX-2001", "--csv", *company])
    assert as_csv.exit_code == 0, as_csv.output
    assert as_csv.output.splitlines()[1].startswith(",SX-2001,1,100,")
    with cli_env.engine.connect() as connection:
        allocation_id = connection.execute(
            select(allocations.c.id).where(
                allocations.c.block_id == block_id, allocations.c.account_id == "SX-2001"
            )
        ).scalar_one()
    said = runner.invoke(app, ["allocations", "explain", str(allocation_id), *company])
    assert said.exit_code == 0, said.output
    assert "Exact target 100, given 25" in said.output
    assert "margin check" in said.output
