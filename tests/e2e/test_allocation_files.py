"""Client allocation files in (SPEC §11, decision 0033): Clear Street's and Interactive Brokers'
columns and ours, grouped into average-priced blocks and booked; the same file again books
nothing; a dry run reports every bad row by line and column and books nothing."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from allotment.bootstrap import Container
from allotment.domain.identity import ALL_SCOPES, Principal, PrincipalKind
from allotment.entrypoints.cli import app as cli
from allotment.services import demo
from allotment.services.allocation_files import importer as allocation_files
from allotment.services.context import Context
from allotment.services.journal import ledger
from tests.e2e.test_clearing_sessions import business_day

ACCOUNTS = ("F-1", "F-2", "F-3")


@pytest.fixture
def desk(client: TestClient, demo_headers: dict[str, str]) -> dict[str, str]:
    """A fresh average account and three funded client accounts of client 1001."""
    opened = client.post(
        "/api/v1/accounts",
        json={"id": "AVG-F", "type": "Margin", "role": "average"},
        headers=demo_headers,
    )
    assert opened.status_code == 201, opened.text
    for account in ACCOUNTS:
        body = {"id": account, "client_id": 1001, "type": "Cash"}
        assert client.post("/api/v1/accounts", json=body, headers=demo_headers).status_code == 201
        deposit = {"account_id": account, "amount": "500000.00"}
        answer = client.post("/api/v1/ledger/deposits", json=deposit, headers=demo_headers)
        assert answer.status_code == 201, answer.text
    return demo_headers


def csv_text(header: list[str], rows: list[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def clear_street_file(box: Container) -> str:
    day = business_day(box).strftime("%Y%m%d")
    header = [
        "Price",
        "CLIENT_TRADE_ID",
        "omni_account_id",
        "account_id",
        "date",
        "exec_mpid",
        "side.direction",
        "instrument.identifier",
        "instrument.identifier_type",
        "instrument.country",
        "instrument.currency",
        "quantity",
        "fees.commission",
        "capacity",
        "something_else",
    ]
    rows = [
        ["150.11", "cs-1", "AVG-F", "F-1", day, "CLST", "buy", "AAPL", "ticker", "USA", "USD"],
        ["150.25", "cs-2", "AVG-F", "F-2", day, "CLST", "buy", "AAPL", "ticker", "USA", "USD"],
        ["150.00", "cs-3", "AVG-F", "F-3", day, "CLST", "buy", "US0378331005", "isin", "USA", ""],
        ["400.00", "cs-4", "AVG-F", "F-1", day, "CLST", "buy", "MSFT", "ticker", "USA", "USD"],
    ]
    tails = [["100", "1.00", "agency", "x"], ["200", "", "agency", ""], ["300", "0", "agency", ""]]
    tails.append(["50", "2.50", "agency", ""])
    return csv_text(header, [row + tail for row, tail in zip(rows, tails, strict=True)])


def upload(client: TestClient, headers: dict[str, str], text: str, **query: str) -> dict[str, Any]:
    answer = client.post(
        "/api/v1/allocation-files",
        params=query,
        files={"file": ("clientallocation_test_1.csv", text.encode(), "text/csv")},
        headers=headers,
    )
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def allocations_of(client: TestClient, headers: dict[str, str], block_id: int) -> list[Any]:
    found = client.get(f"/api/v1/allocations?block_id={block_id}", headers=headers)
    assert found.status_code == 200, found.text
    items: list[Any] = found.json()["items"]
    return items


def ledger_is_clean(box: Container) -> bool:
    with box.uow(write=False) as uow:
        return ledger.check_ledger(uow) == []


def test_a_clear_street_file_books_average_priced_blocks_and_the_same_file_again_books_nothing(
    client: TestClient, desk: dict[str, str], demo_container: Container
) -> None:
    text = clear_street_file(demo_container)
    first = upload(client, desk, text)
    assert (first["layout"], first["rows"], first["booked"], first["rejected"]) == (
        "clearstreet",
        4,
        4,
        0,
    )
    by_symbol = {block["symbol"]: block for block in first["blocks"]}
    apple = by_symbol["AAPL"]
    # 100 @ 150.11, 200 @ 150.25, 300 @ 150.00: 150.1016..., rounded down for the buyers.
    assert (Decimal(apple["quantity"]), Decimal(apple["average_price"])) == (600, Decimal("150.10"))
    assert Decimal(by_symbol["MSFT"]["average_price"]) == Decimal("400.00")
    rows = allocations_of(client, desk, apple["block_id"])
    assert sorted(row["reference"] for row in rows) == ["cs-1", "cs-2", "cs-3"]
    assert {Decimal(row["price"]) for row in rows} == {Decimal("150.10")}
    block = client.get(f"/api/v1/blocks/{apple['block_id']}", headers=desk).json()
    assert Decimal(block["allocated_quantity"]) == Decimal(block["filled_quantity"]) == 600
    assert ledger_is_clean(demo_container)

    again = upload(client, desk, text)
    assert (again["booked"], again["already_imported"], again["blocks"]) == (0, 4, [])
    assert len(allocations_of(client, desk, apple["block_id"])) == 3


def test_an_ibkr_allocation_import_file_is_booked_by_the_cli_with_a_progress_bar(
    cli_env: Container, desk: dict[str, str], client: TestClient, tmp_path: Path
) -> None:
    header = ["Trading Account ID", "Allocation Account ID", "Symbol", "Side"]
    header += ["Executing Broker", "Quantity", "Price", "Commission"]
    rows = [
        ["AVG-F", "F-1", "MSFT", "B", "IBKR", "10", "400.00", "1.00"],
        ["AVG-F", "F-2", "MSFT", "B", "IBKR", "30", "401.00", "1.00"],
        ["AVG-F", "F-3", "AAPL", "B", "IBKR", "5", "150.00", ""],
    ]
    path = tmp_path / "ibkr_allocations.csv"
    path.write_text(csv_text(header, rows), encoding="utf-8")

    result = CliRunner().invoke(cli, ["import", str(path)])
    assert result.exit_code == 0, result.output
    assert "rows/s" in result.output and "booking" in result.output
    assert "ibkr file: 3 rows, booked 3 in 2 blocks" in result.output
    listed = client.get("/api/v1/blocks?limit=1000", headers=desk).json()
    msft = [b for b in listed if b["account_id"] == "AVG-F" and b["symbol"] == "MSFT"]
    assert [Decimal(b["average_price"]) for b in msft] == [Decimal("400.75")]
    prices = {Decimal(r["price"]) for r in allocations_of(client, desk, msft[0]["id"])}
    assert prices == {Decimal("400.75")}
    assert CliRunner().invoke(cli, ["ledger", "check"]).exit_code == 0

    again = CliRunner().invoke(cli, ["import", str(path)])
    assert again.exit_code == 0, again.output
    assert "booked 0 in 0 blocks, 3 imported before" in again.output


def bad_native_file(box: Container) -> str:
    day = business_day(box)
    header = ["average_account_id", "account_id", "symbol", "side", "quantity", "price"]
    header += ["trade_date", "reference"]
    rows = [
        ["AVG-F", "F-1", "AAPL", "Buy", "10", "150.00", day.isoformat(), "n-1"],
        ["AVG-F", "F-2", "AAPL", "Buy", "ten", "150.00", day.isoformat(), "n-2"],
        ["AVG-F", "NOPE", "AAPL", "Buy", "10", "150.00", day.isoformat(), "n-3"],
        ["AVG-F", "F-3", "ZZZZ", "Buy", "10", "150.00", day.isoformat(), "n-4"],
        ["AVG-F", "F-3", "AAPL", "Buy", "10", "150.00", (day + timedelta(days=9)).isoformat()],
        ["AVG-F", "F-3", "AAPL", "Hold", "10", "150.00", "", "n-6"],
        ["AVG-F", "F-3", "AAPL", "Buy", "10", "150.005", "", "n-7"],
        ["AVG-F", "F-2", "AAPL", "Buy", "10", "150.00", "", "n-1"],
    ]
    return csv_text(header, rows)


EXPECTED_REJECTS = [
    (3, "quantity"),
    (4, "account_id"),
    (5, "symbol"),
    (6, "trade_date"),
    (7, "side"),
    (8, "price"),
    (9, "reference"),
]


def test_a_dry_run_reports_each_bad_row_by_line_and_column_and_books_nothing(
    client: TestClient, desk: dict[str, str], demo_container: Container
) -> None:
    before = client.get("/api/v1/allocations?limit=1000", headers=desk).json()["items"]
    answer = upload(client, desk, bad_native_file(demo_container), dry_run="true")
    assert (answer["dry_run"], answer["committed"], answer["layout"]) == (True, False, "native")
    assert [(r["line"], r["column"]) for r in answer["rejects"]] == EXPECTED_REJECTS
    assert answer["booked"] == 1  # would book: the good row
    after = client.get("/api/v1/allocations?limit=1000", headers=desk).json()["items"]
    assert after == before
    blocks = client.get("/api/v1/blocks?limit=1000", headers=desk).json()
    assert not [b for b in blocks if b["account_id"] == "AVG-F"]


def test_the_cli_dry_run_writes_the_rejects_beside_the_file_and_books_nothing(
    cli_env: Container, desk: dict[str, str], client: TestClient, tmp_path: Path
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(bad_native_file(cli_env), encoding="utf-8")
    result = CliRunner().invoke(cli, ["import", str(path), "--dry-run"])
    assert result.exit_code == 1, result.output
    assert "would book 1" in result.output
    with (tmp_path / "bad.csv.rejects.csv").open(encoding="utf-8") as file:
        rejects = list(csv.DictReader(file))
    assert [(int(r["line"]), r["column"]) for r in rejects] == EXPECTED_REJECTS
    assert "is not a number" in rejects[0]["reason"]
    blocks = client.get("/api/v1/blocks?limit=1000", headers=desk).json()
    assert not [b for b in blocks if b["account_id"] == "AVG-F"]


def test_an_atomic_import_with_a_refused_row_books_nothing_and_a_per_row_one_books_the_rest(
    client: TestClient, desk: dict[str, str], demo_container: Container
) -> None:
    header = ["average_account_id", "account_id", "symbol", "side", "quantity", "price"]
    rows = [
        ["AVG-F", "F-1", "AAPL", "Buy", "10", "150.00"],
        ["AVG-F", "F-2", "AAPL", "Buy", "100000", "150.00"],  # more than F-2's cash
    ]
    text = csv_text(header, rows)
    atomic = upload(client, desk, text, atomic="true")
    assert (atomic["booked"], atomic["rejected"], atomic["committed"]) == (0, 1, False)
    assert atomic["rejects"][0]["line"] == 3
    assert "insufficient funds" in atomic["rejects"][0]["reason"]
    per_row = upload(client, desk, text)
    assert (per_row["booked"], per_row["rejected"], per_row["committed"]) == (1, 1, True)
    block = client.get(f"/api/v1/blocks/{per_row['blocks'][0]['block_id']}", headers=desk).json()
    assert Decimal(block["allocated_quantity"]) == 10
    assert ledger_is_clean(demo_container)


def test_a_file_whose_header_names_no_known_columns_is_refused_whole(
    client: TestClient, desk: dict[str, str]
) -> None:
    answer = client.post(
        "/api/v1/allocation-files",
        files={"file": ("x.csv", b"a,b\n1,2\n", "text/csv")},
        headers=desk,
    )
    assert answer.status_code == 422, answer.text
    assert "header" in answer.json()["detail"]


def test_rows_over_several_chunks_and_booking_windows_are_booked_block_by_block(
    client: TestClient,
    desk: dict[str, str],
    demo_container: Container,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Chunks of 2 rows and windows of 3: a block's rows are booked in batches across windows,
    a reference repeated in a later chunk is refused, a row the ledger refuses is released."""
    monkeypatch.setattr(allocation_files, "BOOK_ROWS", 3)
    day = business_day(demo_container).strftime("%Y%m%d")
    header = ["client_trade_id", "omni_account_id", "account_id", "date", "exec_mpid"]
    header += ["side.direction", "instrument.identifier", "instrument.identifier_type"]
    header += ["quantity", "price", "capacity"]
    cells = [
        ("w-1", "F-1", "AAPL", "10", "150.00"),
        ("w-2", "F-2", "MSFT", "5", "400.00"),
        ("w-3", "F-3", "AAPL", "20", "150.02"),
        ("w-4", "F-1", "MSFT", "5", "400.10"),
        ("w-1", "F-2", "AAPL", "1", "150.00"),  # line 6 repeats line 2's reference
        ("w-5", "F-3", "MSFT", "5000", "400.00"),  # 2,000,000 USD: more than F-3 holds
        ("w-6", "F-2", "AAPL", "30", "150.00"),
    ]
    rows = [[ref, "AVG-F", account, day, "CLST", "buy", symbol, "ticker", qty, price, "agency"]
            for ref, account, symbol, qty, price in cells]  # fmt: skip
    text = csv_text(header, rows)
    with demo_container.uow(write=False) as uow:
        company = uow.identity.company_by_name(demo.COMPANY)
        assert company is not None
    principal = Principal(company.id, "test", PrincipalKind.USER, ALL_SCOPES, None)
    ctx = Context(principal, "cli", demo_container.clock.now())

    def source() -> BinaryIO:
        return io.BytesIO(text.encode())

    summary = allocation_files.import_file(
        demo_container.uow, ctx, source, allocation_files.ImportOptions(chunk_rows=2)
    )
    assert (summary.rows, summary.booked, summary.rejected) == (7, 5, 2)
    assert [(r.line, r.column, r.reference) for r in summary.rejects] == [
        (6, "client_trade_id", "w-1"),
        (7, "quantity", "w-5"),
    ]
    assert "repeats line 2" in summary.rejects[0].reason
    assert "insufficient funds" in summary.rejects[1].reason
    by_symbol = {block.symbol: block for block in summary.blocks}
    assert (by_symbol["AAPL"].booked_rows, by_symbol["AAPL"].booked_quantity) == (3, Decimal(60))
    assert (by_symbol["MSFT"].booked_rows, by_symbol["MSFT"].booked_quantity) == (2, Decimal(10))
    apple = allocations_of(client, desk, by_symbol["AAPL"].block_id or 0)
    assert sorted((row["reference"], row["account_id"]) for row in apple) == [
        ("w-1", "F-1"),
        ("w-3", "F-3"),
        ("w-6", "F-2"),
    ]
    assert ledger_is_clean(demo_container)
    fixed = csv_text(header, [[*rows[5][:8], "50", "400.00", "agency"]])
    again = upload(client, desk, fixed)  # the refused row's claim was released
    assert (again["booked"], again["already_imported"], again["rejected"]) == (1, 0, 0)
