"""Per-account daily statements (SPEC §11): positions and cash at the end of a trade date,
recomputed from the journal, and the day's allocations with their fees, as CSV and PDF."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

from fastapi.testclient import TestClient
from pypdf import PdfReader
from typer.testing import CliRunner

from allotment.bootstrap import Container
from allotment.entrypoints.cli import app as cli
from tests.conftest import bearer
from tests.e2e.test_allocation_exports import book_five
from tests.e2e.test_clearing_sessions import today

STATEMENT = "/api/v1/accounts/6688/statement"


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_the_csv_statement_holds_the_days_positions_cash_and_allocations(
    client: TestClient, demo_container: Container, demo_headers: dict[str, str]
) -> None:
    book_five(client)
    day = today(demo_container)

    response = client.get(f"{STATEMENT}.csv", params={"date": day}, headers=demo_headers)

    assert response.status_code == 200, response.text
    records = list(csv.DictReader(io.StringIO(response.text)))
    positions = [r for r in records if r["record"] == "position"]
    cash = [r for r in records if r["record"] == "cash"]
    allocations = [r for r in records if r["record"] == "allocation"]
    assert [(p["symbol"], p["isin"], p["quantity"]) for p in positions] == [
        ("AAPL", "US0378331005", "95")  # 10 + 20 - 5 + 30 + 40
    ]
    with demo_container.uow(write=False) as uow:
        running = uow.ledger.balances(["6688"], "cash")  # the running totals, not the journal
    assert [(c["currency"], Decimal(c["amount"])) for c in cash] == [
        (key.asset, balance.quantity) for key, balance in sorted(running.items())
    ]
    assert [a["quantity"] for a in allocations] == ["10", "20", "5", "30", "40"]
    assert allocations[0]["commission"] == "1.36"
    assert all(a["settlement_date"] > a["trade_date"] for a in allocations)


def test_a_statement_of_a_day_before_any_booking_is_empty(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    book_five(client)

    response = client.get(f"{STATEMENT}.csv", params={"date": "2000-01-03"}, headers=demo_headers)

    assert response.status_code == 200
    assert response.text.count("\r\n") == 1  # the header only


def test_the_pdf_statement_reads_back_with_its_positions_and_allocations(
    client: TestClient, demo_container: Container, demo_headers: dict[str, str]
) -> None:
    book_five(client)
    day = today(demo_container)

    response = client.get(f"{STATEMENT}.pdf", params={"date": day}, headers=demo_headers)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    text = pdf_text(response.content)
    assert "Daily statement: account 6688" in text
    assert f"Trade date {day}" in text
    assert "AAPL (US0378331005): 95" in text
    assert text.count("US0378331005") == 6  # the position and five allocations
    assert "1360.26" in text  # the first allocation's net amount


def test_a_statement_follows_the_callers_access(
    client: TestClient, demo_container: Container, demo_headers: dict[str, str]
) -> None:
    day = today(demo_container)
    advisor = bearer(client, "advisor", "advisor")

    other_client = client.get(f"{STATEMENT}.pdf", params={"date": day}, headers=advisor)
    unknown = client.get(
        "/api/v1/accounts/NOPE/statement.csv", params={"date": day}, headers=demo_headers
    )
    no_date = client.get(f"{STATEMENT}.csv", headers=demo_headers)

    assert (other_client.status_code, unknown.status_code, no_date.status_code) == (403, 404, 422)


def test_the_cli_writes_the_statement_as_csv_and_pdf(
    client: TestClient, cli_env: Container, tmp_path: Path
) -> None:
    book_five(client)
    day = today(cli_env)
    as_csv, as_pdf = tmp_path / "s.csv", tmp_path / "s.pdf"

    first = CliRunner().invoke(
        cli, ["export", "statement", "--account", "6688", "--date", day, "-o", str(as_csv)]
    )
    second = CliRunner().invoke(
        cli,
        ["export", "statement", "--account", "6688", "--date", day, "--pdf", "-o", str(as_pdf)],
    )
    unknown = CliRunner().invoke(
        cli, ["export", "statement", "--account", "NOPE", "--date", day, "-o", str(as_csv)]
    )

    assert first.exit_code == second.exit_code == 0, first.output + second.output
    assert as_csv.read_bytes().decode("utf-8").count("\r\nallocation,") == 5
    assert "AAPL (US0378331005): 95" in pdf_text(as_pdf.read_bytes())
    assert unknown.exit_code == 3
