"""HTTP hygiene: every 405 names the allowed methods (RFC 9110 §15.5.6), and a date in a path
is a real date written YYYY-MM-DD (not a number of seconds since 1970)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import bearer


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/api/v1/ledger/deposits", {"POST"}),
        ("GET", "/token", {"POST"}),
        ("DELETE", "/v1.0/allocations/simple", {"POST", "PUT"}),
        ("PATCH", "/api/v1/accounts", {"GET", "POST"}),
    ],
)
def test_a_405_carries_an_allow_header_with_every_method_of_the_path(
    client: TestClient, method: str, path: str, allowed: set[str]
) -> None:
    response = client.request(method, path, headers=bearer(client))
    assert response.status_code == 405, response.text
    assert set(response.headers["Allow"].split(", ")) == allowed


@pytest.mark.parametrize("text", ["0", "1700000000", "2026-02-30", "2026-1-5", "yesterday"])
def test_a_path_date_that_is_not_a_real_date_answers_422_problem(
    client: TestClient, text: str
) -> None:
    response = client.get(f"/api/v1/clearing/sessions/{text}", headers=bearer(client))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "trade_date"


def test_a_real_path_date_still_answers(client: TestClient) -> None:
    response = client.get("/api/v1/clearing/sessions/2026-01-05", headers=bearer(client))
    assert response.status_code in (200, 404), response.text
