"""Files out (SPEC §11): allocations filtered and paged by key, the same as streamed CSV and
from `allotment export allocations`, and the clearing report on the command line."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from allotment.bootstrap import Container
from allotment.entrypoints.cli import app as cli
from tests.conftest import bearer
from tests.e2e.test_clearing_sessions import today
from tests.e2e.test_etna_codes import request, send

ALLOCATIONS = "/api/v1/allocations"


def book_five(client: TestClient) -> None:
    """Four buys of AAPL and one sale back, 6687 -> 6688."""
    items = [
        request(Quantity=10),
        request(Quantity=20),
        request(Quantity=5, Action="Sell", Price=Decimal("135.00")),
        request(Quantity=30, Price=Decimal("135.00")),
        request(Quantity=40, Price=Decimal("135.00")),
    ]
    response = send(client, items)
    assert response.status_code == 200, response.text


def pages(client: TestClient, headers: dict[str, str], **params: Any) -> list[list[int]]:
    """Every page's ids, following `next_after_id` as the `after` cursor."""
    found, after = [], 0
    while True:
        response = client.get(ALLOCATIONS, params={**params, "after": after}, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        found.append([item["id"] for item in page["items"]])
        if page["next_after_id"] is None:
            return found
        after = page["next_after_id"]


def test_pages_by_key_cover_every_allocation_once_in_order(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    book_five(client)

    found = pages(client, demo_headers, limit=2)

    ids = [allocation_id for page in found for allocation_id in page]
    assert [len(page) for page in found] == [2, 2, 1]
    assert ids == sorted(ids) and len(set(ids)) == 5


def test_filters_select_by_side_instrument_account_client_dialect_and_trade_date(
    client: TestClient, demo_container: Container, demo_headers: dict[str, str]
) -> None:
    book_five(client)
    day = today(demo_container)

    def count(**params: Any) -> int:
        response = client.get(ALLOCATIONS, params=params, headers=demo_headers)
        assert response.status_code == 200, response.text
        return len(response.json()["items"])

    assert count(side="Sell") == 1
    assert count(side="Buy", symbol="AAPL") == 4
    assert count(symbol="MSFT") == 0
    assert count(symbol="NOPE") == 0
    assert count(account_id="6688", dialect="etna") == 5
    assert count(client_id=1001) == 5
    assert count(client_id=2001) == 0
    assert count(trade_date_from=day, trade_date_to=day, status="booked") == 5
    assert count(trade_date_to="2000-01-01") == 0


def test_a_bad_filter_answers_422_naming_it(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    side = client.get(ALLOCATIONS, params={"side": "Short"}, headers=demo_headers)
    dates = client.get(
        ALLOCATIONS,
        params={"trade_date_from": "2026-02-01", "trade_date_to": "2026-01-01"},
        headers=demo_headers,
    )
    limit = client.get(ALLOCATIONS, params={"limit": 0}, headers=demo_headers)

    assert side.status_code == dates.status_code == limit.status_code == 422
    assert "side" in side.json()["detail"]
    assert "trade_date_from" in dates.json()["detail"]


def test_a_user_limited_to_some_clients_exports_only_their_allocations(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    book_five(client)
    advisor = bearer(client, "advisor", "advisor")

    listed = client.get(ALLOCATIONS, headers=advisor).json()["items"]
    exported = client.get(f"{ALLOCATIONS}.csv", headers=advisor).text.splitlines()

    assert listed == [] and len(exported) == 1  # the header only


def test_the_csv_export_streams_the_filtered_allocations_with_their_dates_and_isin(
    client: TestClient, demo_container: Container, demo_headers: dict[str, str]
) -> None:
    book_five(client)

    response = client.get(f"{ALLOCATIONS}.csv", params={"side": "Buy"}, headers=demo_headers)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 4
    assert {row["isin"] for row in rows} == {"US0378331005"}
    assert {row["trade_date"] for row in rows} == {today(demo_container)}
    assert all(row["settlement_date"] > row["trade_date"] for row in rows)
    assert rows[0]["net_amount"] == "1360.26"  # 10 x 135.89 + 1.36


def test_the_cli_exports_the_same_rows_to_a_file_and_as_json_lines(
    client: TestClient, cli_env: Container, demo_headers: dict[str, str], tmp_path: Path
) -> None:
    book_five(client)
    target = tmp_path / "allocations.csv"

    to_file = CliRunner().invoke(cli, ["export", "allocations", "--side", "Buy", "-o", str(target)])
    as_json = CliRunner().invoke(cli, ["export", "allocations", "--json", "--symbol", "AAPL"])
    bad = CliRunner().invoke(cli, ["export", "allocations", "--side", "Short"])

    assert to_file.exit_code == 0, to_file.output
    api = client.get(f"{ALLOCATIONS}.csv", params={"side": "Buy"}, headers=demo_headers)
    assert target.read_bytes().decode("utf-8") == api.text
    assert as_json.exit_code == 0, as_json.output
    lines = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [line["quantity"] for line in lines] == ["10", "20", "5", "30", "40"]
    assert bad.exit_code == 2


@pytest.mark.parametrize("flag", ["--csv", "--json", None])
def test_the_cli_prints_the_clearing_report_as_a_table_or_as_its_files(
    client: TestClient, cli_env: Container, flag: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    book_five(client)
    monkeypatch.setenv("COLUMNS", "250")
    command = ["clearing", "report", "--date", today(cli_env), "--company", "Demo Broker"]

    result = CliRunner().invoke(cli, command + ([flag] if flag else []))

    assert result.exit_code == 0, result.output
    if flag == "--csv":
        assert result.output.count("\nallocation,") == 5
    elif flag == "--json":
        assert len(json.loads(result.output)["allocations"]) == 5
    else:
        assert "Clearing session" in result.output and "US0378331005" in result.output
        assert result.output.count("AAPL") == 5
