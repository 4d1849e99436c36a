"""Bad input to the native API: each mistake gets its own 4xx problem+json answer that names the
problem, and nothing is written (no journal entry, posting, allocation, block or audit event)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from allotment.adapters.database import tables as t
from allotment.bootstrap import Container

WRITTEN = [t.journal_entries, t.postings, t.allocations, t.blocks, t.fills, t.audit_events]


def _counts(box: Container) -> dict[str, int]:
    with box.engine.connect() as connection:
        return {
            table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in WRITTEN
        }


def _assert_problem(response: Any, status: int, code: str, *named: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"https://allotment.dev/problems/{code}"
    for word in named:
        assert word in body["detail"], (word, body["detail"])
    return body


@pytest.fixture
def unchanged(demo_container: Container) -> Iterator[None]:
    """Whatever the test sends, the stored journal and audit trail stay as they were."""
    before = _counts(demo_container)
    yield
    assert _counts(demo_container) == before


pytestmark = pytest.mark.usefixtures("unchanged")
DEPOSIT = "/api/v1/ledger/deposits"


def test_malformed_json_is_named_as_such(client: TestClient, demo_headers: dict[str, str]) -> None:
    headers = {**demo_headers, "content-type": "application/json"}
    response = client.post(DEPOSIT, content=b'{"account_id": "6688", "amount": ', headers=headers)
    body = _assert_problem(response, 422, "MalformedJson", "not valid JSON", "character 33")
    assert body["detail"] == "the body is not valid JSON: Expecting value at character 33"
    response = client.post(DEPOSIT, content=b"{'account_id': '6688'}", headers=headers)
    _assert_problem(response, 422, "MalformedJson", "not valid JSON")
    response = client.post(DEPOSIT, content=b'{"account_id": "\xff"}', headers=headers)
    _assert_problem(response, 422, "MalformedJson", "cannot be parsed", "not UTF-8")


def test_a_field_of_the_wrong_type_or_shape_is_named_with_what_is_wrong(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    for body, field, message in [
        ({"account_id": 6688, "amount": "1.00"}, "account_id", "valid string"),
        ({"account_id": "6688", "amount": ["1.00"]}, "amount", "not a decimal number"),
        ({"account_id": "6688", "amount": {"value": "1"}}, "amount", "not a decimal number"),
        ({"account_id": "6688", "amount": True}, "amount", "not an exact decimal"),
        ({"account_id": "6688", "amount": "twelve"}, "amount", "not a decimal number"),
        ({"account_id": "6688", "amount": "NaN"}, "amount", "not a finite number"),
        ({"account_id": "6688", "amount": "1.00", "currency": "usd"}, "currency", "pattern"),
        ({"account_id": "6688"}, "amount", "Field required"),
        ({"account_id": "", "amount": "1.00"}, "account_id", "at least 1 character"),
    ]:
        response = client.post(DEPOSIT, json=body, headers=demo_headers)
        problem = _assert_problem(response, 422, "ValidationError", f"{field}: ", message)
        assert problem["errors"][0]["field"] == field


def test_a_body_that_is_not_an_object_is_refused(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    response = client.post(
        DEPOSIT, json=[{"account_id": "6688", "amount": "1.00"}], headers=demo_headers
    )
    _assert_problem(response, 422, "ValidationError", "valid dictionary")


def test_a_float_where_a_decimal_string_is_required_is_refused(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    for path, body in [
        (DEPOSIT, {"account_id": "6688", "amount": 12.5}),
        (
            "/api/v1/ledger/opening-positions",
            {"account_id": "6688", "symbol": "AAPL", "quantity": "1", "price": 0.1},
        ),
    ]:
        response = client.post(path, json=body, headers=demo_headers)
        problem = _assert_problem(
            response, 422, "ValidationError", "not an exact decimal", "as strings"
        )
        assert problem["errors"][0]["field"] in {"amount", "price"}


def test_an_unknown_field_is_refused_by_name(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    body = {"account_id": "6688", "amount": "1.00", "colour": "red"}
    problem = _assert_problem(
        client.post(DEPOSIT, json=body, headers=demo_headers), 422, "ValidationError"
    )
    assert problem["detail"] == "colour: Extra inputs are not permitted"


def test_negative_zero_over_precise_or_huge_amounts_are_refused(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    for amount, code, named in [
        ("-5.00", "InvalidInstruction", "amount must be positive"),
        ("0", "InvalidInstruction", "amount must be positive"),
        ("0.0000000001", "ValidationError", "0.0000000001 has more than 9 decimals"),
        ("1.001", "InvalidInstruction", "cash amounts are in whole cents"),
        ("1234567890123456", "ValidationError", "at most 15 digits before the decimal point"),
        ("1e400", "ValidationError", "at most 15 digits before the decimal point"),
    ]:
        body = {"account_id": "6688", "amount": amount}
        _assert_problem(client.post(DEPOSIT, json=body, headers=demo_headers), 422, code, named)


def test_positions_refuse_quantities_off_the_instruments_increment_or_sign(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    path = "/api/v1/ledger/opening-positions"
    for quantity, price, named in [
        ("1.5", "10", "quantity must be a multiple of 1"),
        ("-1", "10", "quantity must be positive"),
        ("1", "-10", "price must be zero or positive"),
    ]:
        body = {"account_id": "6688", "symbol": "AAPL", "quantity": quantity, "price": price}
        _assert_problem(
            client.post(path, json=body, headers=demo_headers), 422, "InvalidInstruction", named
        )


def test_unknown_ids_answer_404_naming_what_is_missing(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    position = {"account_id": "6688", "symbol": "NOPE", "quantity": "1", "price": "1"}
    block = {"account_id": "6687", "symbol": "NOPE", "side": "Buy", "quantity": "1"}
    for method, path, body, named in [
        ("post", DEPOSIT, {"account_id": "nope", "amount": "1.00"}, "account nope does not exist"),
        ("post", "/api/v1/ledger/opening-positions", position, "instrument NOPE does not exist"),
        ("post", "/api/v1/blocks", block, "instrument NOPE does not exist"),
        ("post", "/api/v1/blocks/999999/fills", {"quantity": "1", "price": "1"}, "block 999999"),
        (
            "post",
            "/api/v1/ledger/entries/999999/reverse",
            {},
            "journal entry 999999 does not exist",
        ),
        ("get", "/api/v1/ledger/entries/999999", None, "journal entry 999999 does not exist"),
        ("get", "/api/v1/accounts/nope/balances", None, "account nope does not exist"),
        ("get", "/api/v1/clients/424242", None, "client 424242 does not exist"),
        ("get", "/api/v1/instruments/NOPE", None, "instrument NOPE does not exist"),
        ("get", "/api/v1/allocations/999999", None, "allocation 999999 does not exist"),
        ("get", "/api/v1/users/999999", None, "user 999999 does not exist"),
    ]:
        response = client.request(method, path, json=body, headers=demo_headers)
        _assert_problem(response, 404, "NotFound", named)


def test_bad_query_and_path_parameters_are_named(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    cases: list[tuple[str, dict[str, str | int] | None, str]] = [
        ("/api/v1/ledger/journal", {"limit": 5000}, "limit"),
        ("/api/v1/ledger/journal", {"after_id": -1}, "after_id"),
        ("/api/v1/ledger/journal", {"trade_date_from": "yesterday"}, "trade_date_from"),
        ("/api/v1/ledger/entries/abc", None, "entry_id"),
        ("/api/v1/allocations", {"limit": 0}, "limit"),
        ("/api/v1/blocks/99999999999999999999", None, "block_id"),
        ("/api/v1/accounts", {"client_id": 2**63}, "client_id"),
    ]
    for path, params, field in cases:
        response = client.get(path, params=params, headers=demo_headers)
        problem = _assert_problem(response, 422, "ValidationError", f"{field}: ")
        assert problem["errors"][0]["field"] == field


def test_a_body_over_the_size_limit_is_refused_before_it_is_read(
    client: TestClient, demo_headers: dict[str, str], demo_container: Container
) -> None:
    limit = demo_container.settings.max_body_bytes
    assert limit == 2 * 1024 * 1024
    padding = "x" * limit
    headers = {**demo_headers, "content-type": "application/json"}
    body = f'{{"account_id": "6688", "amount": "1.00", "comment": "{padding}"}}'.encode()
    response = client.post(DEPOSIT, content=body, headers=headers)
    _assert_problem(response, 413, "ContentTooLarge", f"larger than {limit} bytes")

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while it streams
        yield b'{"account_id": "6688", "amount": "1.00", "comment": "'
        for _ in range(3):
            yield b"x" * (limit // 2)
        yield b'"}'

    response = client.post(DEPOSIT, content=chunks(), headers=headers)
    _assert_problem(response, 413, "ContentTooLarge", f"larger than {limit} bytes")
    headers["Idempotency-Key"] = "too-big-1"
    _assert_problem(client.post(DEPOSIT, content=body, headers=headers), 413, "ContentTooLarge")


def test_an_amount_computed_beyond_exact_arithmetic_is_refused_not_a_crash(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    huge = "999999999999999"
    block = {
        "account_id": "6687",
        "symbol": "AAPL",
        "side": "Buy",
        "quantity": huge,
        "fills": [{"quantity": huge, "price": f"{huge}.99"}],
    }
    response = client.post("/api/v1/blocks", json=block, headers=demo_headers)
    _assert_problem(response, 422, "NumberOutOfRange", "more digits than allotment keeps exactly")


def test_a_closed_or_wrong_role_account_is_refused_with_the_reason(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    block = {"account_id": "6688", "symbol": "AAPL", "side": "Buy", "quantity": "1"}
    response = client.post("/api/v1/blocks", json=block, headers=demo_headers)
    _assert_problem(response, 422, "InvalidInstruction", "account 6688 is not an average account")
    response = client.post("/api/v1/blocks", json={**block, "side": "Short"}, headers=demo_headers)
    _assert_problem(response, 422, "ValidationError", "side: ")
    response = client.post(
        "/api/v1/ledger/withdrawals",
        json={"account_id": "6688", "amount": "100000.01"},
        headers=demo_headers,
    )
    _assert_problem(response, 409, "InsufficientFunds", "not enough cash")
