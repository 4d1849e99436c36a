"""An average cost is rounded at its named point (to 1e-9, half to even, decision 0023), so a
position bought at two prices answers its balances with 200 on both databases: the average
account's own (the demo's 6687) and a client's that bought from it twice."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from tests.e2e.test_etna_codes import request, send


def average_cost(client: TestClient, headers: dict[str, str], account: str) -> Any:
    response = client.get(f"/api/v1/accounts/{account}/balances", headers=headers)
    assert response.status_code == 200, response.text
    (position,) = [p for p in response.json()["positions"] if p["symbol"] == "AAPL"]
    return position["average_cost"]


def test_the_average_accounts_cost_after_a_second_price_is_rounded_to_nine_decimals(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    # 10,000 at 135.89 (the demo's) and 5,000 at 134.11: 2,029,450 / 15,000 = 135.29666…
    position = {"account_id": "6687", "symbol": "AAPL", "quantity": "5000", "price": "134.11"}
    response = client.post("/api/v1/ledger/opening-positions", json=position, headers=demo_headers)
    assert response.status_code == 201, response.text

    assert average_cost(client, demo_headers, "6687") == "135.296666667"


def test_a_client_that_bought_at_two_prices_reads_its_rounded_average_cost(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    # 100 at 135.00 and 200 at 134.00: 40,300 / 300 = 134.3333…
    first = send(client, [request(Quantity=100, Price=Decimal("135.00"))])
    second = send(client, [request(Quantity=200, Price=Decimal("134.00"))])
    assert (first.status_code, second.status_code) == (200, 200), second.text

    assert average_cost(client, demo_headers, "6688") == "134.333333333"
    assert average_cost(client, demo_headers, "6687") == "135.890000000"


def test_a_half_at_the_tenth_decimal_rounds_to_the_even_neighbour(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    # 10,000 at 135.89 and 10,000 at 135.890000001: the average 135.8900000005 is a half.
    position = {"account_id": "6687", "symbol": "AAPL", "quantity": "10000"}
    position["price"] = "135.890000001"
    response = client.post("/api/v1/ledger/opening-positions", json=position, headers=demo_headers)
    assert response.status_code == 201, response.text

    assert average_cost(client, demo_headers, "6687") == "135.890000000"
