"""`allotment serve --demo`, as a user starts it: the ETNA seed's samples answer as documented
and the transfer shows on the ledger (one real server process, SQLite)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_etna_seed import NO_APP_KEY, SEED_REQUEST, USERNAMES_REQUEST
from tests.serving import served_demo


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    with served_demo(tmp_path / "var") as base:
        yield base


def test_the_seed_samples_work_verbatim_against_allotment_serve_demo(served: str) -> None:
    with httpx.Client(base_url=served, timeout=30) as http:
        token = http.post(
            "/token",
            headers={"Username": "demo", "Password": "demo", "Et-App-Key": "demo-app-key"},
        ).json()["Token"]
        etna = {"Et-App-Key": "demo-app-key", "Authorization": f"Bearer {token}"}
        native = {"Authorization": f"Bearer {token}"}
        before = http.get("/api/v1/accounts/6688/balances", headers=native).json()

        booked = http.post("/v1.0/allocations/simple", content=SEED_REQUEST, headers=etna)
        refused = http.post("/v1.0/allocations/simple", content=USERNAMES_REQUEST, headers=etna)
        no_key = http.post(
            "/v1.0/allocations/simple",
            content=SEED_REQUEST,
            headers={"Authorization": etna["Authorization"]},
        )
        after = http.get("/api/v1/accounts/6688/balances", headers=native).json()

    assert booked.status_code == 200 and booked.json()[0]["IsSucceed"] is True
    assert refused.status_code == 409 and refused.json()[0]["Description"] == "InvalidAccount"
    assert no_key.status_code == 403 and no_key.json() == NO_APP_KEY
    assert before["positions"] == []
    assert [(p["symbol"], p["quantity"]) for p in after["positions"]] == [("AAPL", "100")]
    assert before["cash"][0]["amount"] == "100000.00"
    assert after["cash"][0]["amount"] == "86409.64"  # 100,000.00 - 100 x 135.89 - 1.36
