"""`allotment allocate` gives the engine's answer, as a table or as exactly the JSON that
`POST /api/v1/allocations/preview` answers for the same input (from options or from the
endpoint's JSON in a file); it opens the database only for an allocation key or ledger
weights, and names each bad input on stderr with a non-zero exit code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from allotment.bootstrap import Container
from allotment.entrypoints.cli import app
from tests.conftest import SECRET
from tests.e2e.test_engine_preview import (
    FILLS_1000,
    KEY_227,
    PREVIEW,
    assert_same_as_engine,
    participants_of,
)

SALE = [
    "--method",
    "Percentage",
    "--total",
    "25",
    "--participant",
    "1574444-01=100",
    "--price",
    "6.75",
    "--side",
    "Sell",
    "--commission-rate",
    "0.05",
    "--tax-rate",
    "0.10",
]
SALE_BODY = {
    "method": "Percentage",
    "total": "25",
    "participants": [{"key": "1574444-01", "weight": "100"}],
    "price": "6.75",
    "side": "Sell",
    "fees": {"commission_rate": "0.05", "tax_rate": "0.10"},
}


@pytest.fixture
def no_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A database URL that cannot be opened: a command that tried would fail."""
    monkeypatch.setenv("ALLOTMENT_DATABASE_URL", f"sqlite:///{tmp_path}/missing/dir/x.db")
    monkeypatch.setenv("ALLOTMENT_SECRET_KEY", SECRET)
    monkeypatch.setenv("ALLOTMENT_VAR_DIR", str(tmp_path / "cli-var"))


def allocate(*arguments: str) -> Result:
    return CliRunner().invoke(app, ["allocate", *arguments])


def as_json(*arguments: str) -> dict[str, Any]:
    result = allocate(*arguments, "--json")
    assert result.exit_code == 0, result.output
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer


def endpoint(client: TestClient, headers: dict[str, str], body: dict[str, Any]) -> Any:
    response = client.post(PREVIEW, json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def words(result: Result) -> str:
    return " ".join(result.output.split())


def test_key_227_splits_15_as_2_and_13_in_a_table_and_as_the_endpoints_json(
    cli_env: Container, client: TestClient, demo_headers: dict[str, str]
) -> None:
    body = {"allocation_key_id": "227", "total": "15"}
    answer = as_json("--key", "227", "--total", "15")
    assert answer == endpoint(client, demo_headers, body)
    assert [(p["key"], p["quantity"]) for p in answer["parts"]] == [
        ("SX-2001", "2"),
        ("SX-2002", "13"),
    ]
    assert_same_as_engine(answer, {"method": "Percentage", "total": "15"}, KEY_227)
    result = allocate("--key", "227", "--total", "15", "--company", "Demo Broker")
    assert result.exit_code == 0, result.output
    table = words(result)
    for cells in (
        "SX-2001 │ 10 │ 1.500000 (3/2) │ 2 │ +1/2 │ ProRata",
        "allocated 15, remainder 0",
    ):
        assert cells in table, table
    assert "SX-2002 │ 90 │ 13.500000 (27/2) │ 13 │ -1/2 │ ProRata" in table


def test_fills_of_300_500_and_200_average_10_06_as_the_endpoint_says(
    cli_env: Container, client: TestClient, demo_headers: dict[str, str]
) -> None:
    fills = [argument for q, p in FILLS_1000 for argument in ("--fill", f"{q}@{p}")]
    options = ["--key", "227", "--total", "1000", *fills, "--price-places", "2"]
    body = {
        "allocation_key_id": "227",
        "total": "1000",
        "fills": [{"quantity": q, "price": p} for q, p in FILLS_1000],
        "price_places": 2,
    }
    answer = as_json(*options)
    assert answer == endpoint(client, demo_headers, body)
    assert answer["average_price"]["reported"] == "10.06"
    assert_same_as_engine(answer, {**body, "method": "Percentage"}, KEY_227)
    result = allocate(*options)
    assert result.exit_code == 0, result.output
    text = words(result)
    assert "average price 10.06 (exact 503/50; 2 places, ROUND_HALF_UP)" in text
    assert "cash residue 0.00 (to the error account)" in text
    assert "allocated 1000, remainder 0 (of 1000 filled)" in text


def test_options_a_json_file_and_the_endpoint_agree_on_the_sale_of_25_at_6_75(
    client: TestClient, demo_headers: dict[str, str], tmp_path: Path, no_database: None
) -> None:
    request = tmp_path / "sale.json"
    request.write_text(json.dumps(SALE_BODY), encoding="utf-8")
    from_options = as_json(*SALE)
    assert from_options == as_json("--input", str(request))
    assert from_options == endpoint(client, demo_headers, SALE_BODY)
    assert_same_as_engine(from_options, SALE_BODY, participants_of(SALE_BODY))
    result = allocate(*SALE)
    assert result.exit_code == 0, result.output
    text = words(result)
    assert "1574444-01 │ 6.75 │ 168.75 │ 8.44 │ 0.84 │ 0.00 │ 159.47" in text
    assert "Sell: trade value 168.75, commission 8.44, tax 0.84, other fees 0.00, net 159.47" in (
        text
    )


def test_a_split_of_given_participants_needs_no_database(no_database: None) -> None:
    options = ["--method", "Percentage", "--total", "15", "-p", "A=10:accept", "-p", "B=90"]
    answer = as_json(*options)
    body = {
        "method": "Percentage",
        "total": "15",
        "participants": [
            {"key": "A", "weight": "10", "accepts_remainder": True},
            {"key": "B", "weight": "90"},
        ],
    }
    assert_same_as_engine(answer, body, participants_of(body))
    assert [p["quantity"] for p in answer["parts"]] == ["2", "13"]
    ranked = as_json(
        *("-m", "Ratio", "-t", "10", "--increment", "0.5", "--round-lot", "1"),
        *("-p", "A=1:priority=2:min=2:max=4", "-p", "B=1:p=1", "-p", "C=2:accept"),
    )
    assert [(p["key"], p["quantity"]) for p in ranked["parts"]] == [
        ("A", "2.0"),
        ("B", "2.0"),
        ("C", "6.0"),
    ]
    ranked_body = {
        "method": "Ratio",
        "total": "10",
        "increment": "0.5",
        "round_lot": "1",
        "participants": [
            {
                "key": "A",
                "weight": "1",
                "priority": 2,
                "minimum_quantity": "2",
                "maximum_quantity": "4",
            },
            {"key": "B", "weight": "1", "priority": 1},
            {"key": "C", "weight": "2", "accepts_remainder": True},
        ],
    }
    assert_same_as_engine(ranked, ranked_body, participants_of(ranked_body))


BAD = [
    (["-m", "Percentage", "-t", "15", "-p", "A=10", "-p", "B=80"], "PercentagesDoNotTotal100"),
    (["-m", "Ratio", "-t", "15", "-p", "A=-1", "-p", "B=2"], "NegativeWeight: participant 'A'"),
    (["-m", "Ratio", "-t", "-15", "-p", "A=1"], "InvalidQuantity: total must be"),
    (["-m", "Ratio", "-t", "15"], "NoParticipants"),
    (["-m", "Ratio", "-t", "15", "--increment", "2", "-p", "A=1"], "IncrementDoesNotDivide"),
    (["-m", "Ratio", "-t", "15", "-p", "A=1", "--price", "2", "--tax-rate", "-1"], "tax_rate"),
    (["-m", "Thirds", "-t", "15", "-p", "A=1"], "method: Input should be"),
    (["-m", "Ratio", "-t", "15", "-p", "A=1:often"], "unknown flag 'often'"),
    (["-m", "Ratio", "-t", "15", "-p", "A=1", "--fill", "300"], "'300' is not QTY@PRICE"),
]


def test_each_bad_input_exits_2_naming_the_problem(no_database: None) -> None:
    for arguments, named in BAD:
        result = allocate(*arguments)
        assert result.exit_code == 2, (arguments, result.output)
        assert named in words(result), (named, result.output)


def test_a_bad_request_file_is_named_as_the_endpoint_names_it(
    tmp_path: Path, no_database: None
) -> None:
    path = tmp_path / "request.json"
    path.write_text('{"method": "Ratio", "total": 15.5, "participants": []}', encoding="utf-8")
    result = allocate("--input", str(path))
    assert result.exit_code == 2
    assert "total: 15.5 is not an exact decimal" in words(result)
    path.write_text('{"method": ', encoding="utf-8")
    assert "is not JSON" in words(allocate("--input", str(path)))
    result = allocate("--input", str(path), "--total", "3")
    assert result.exit_code == 2
    assert "--input takes the whole request" in words(result)


def test_an_unknown_key_or_company_is_named(cli_env: Container) -> None:
    result = allocate("--key", "999", "--total", "15")
    assert result.exit_code == 2, result.output
    assert "UnknownAllocationKey: allocation key 999 does not exist" in words(result)
    result = allocate("--key", "227", "--total", "15", "--company", "Nobody")
    assert result.exit_code == 3, result.output
    assert "no company is named 'Nobody'" in words(result)


def test_the_help_shows_the_participant_syntax_and_the_json_options() -> None:
    result = CliRunner().invoke(app, ["allocate", "--help"])
    assert result.exit_code == 0
    text = words(result)
    for shown in ("KEY=WEIGHT", ":accept", "--participant", "--input", "--json", "--key"):
        assert shown in text, shown
