"""The native book-building API (deals, tranches, investor accounts, indications) and the
automatic distribution of a tranche, over HTTP and from the CLI."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from allotment.entrypoints.cli.main import app as cli
from allotment.services.bookbuilding.demo import TRANCHE_ID
from allotment.settings import Settings
from tests.e2e.test_bookbuilding_allocations import V4, cas_token

API = "/api/v1"


def post(client: TestClient, headers: dict[str, str], path: str, body: Any) -> dict[str, Any]:
    response = client.post(API + path, json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def worked_example(client: TestClient, headers: dict[str, str]) -> tuple[str, dict[str, str]]:
    """1,000,000 shares at 20.00; A 1.5m, B 750k, C 250k limit 19.50, D 500k restricted."""
    deal = post(client, headers, "/deals", {"name": "Example IPO", "issuer": "Example Inc."})
    tranche = post(
        client,
        headers,
        f"/deals/{deal['id']}/tranches",
        {"name": "main", "offered_size": "1000000", "offer_price": "20.00", "currency": "USD"},
    )
    indications = {}
    for name, demand, limit, restricted in [
        ("A", "1500000", None, False),
        ("B", "750000", None, False),
        ("C", "250000", "19.50", False),
        ("D", "500000", None, True),
    ]:
        investor = post(
            client, headers, "/investor-accounts", {"name": name, "finra_5130": restricted}
        )
        body = {"investor_account_id": investor["id"], "demand_amount": demand}
        if limit:
            body["limit_price"] = limit
        indications[name] = post(client, headers, f"/tranches/{tranche['id']}/indications", body)[
            "id"
        ]
    return tranche["id"], indications


def quantities(result: dict[str, Any], ids: dict[str, str]) -> dict[str, str]:
    names = {v: k for k, v in ids.items()}
    return {names[row["indication_id"]]: row["quantity"] for row in result["allocations"]}


def auto_allocations(client: TestClient, tranche_id: str) -> dict[str, Any]:
    criteria = [
        {"field": "trancheId", "operator": "=", "value": tranche_id},
        {"field": "distributionType", "operator": "=", "value": "auto"},
    ]
    response = client.post(f"{V4}/search", json={"criteria": criteria}, headers=cas_token(client))
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def test_the_worked_example_distributes_to_a_and_b_and_lists_c_and_d(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    tranche_id, ids = worked_example(client, demo_headers)
    preview = client.post(f"{API}/tranches/{tranche_id}/distribute/preview", headers=demo_headers)
    assert preview.status_code == 200, preview.text
    assert preview.json()["preview"] is True
    assert quantities(preview.json(), ids) == {"A": "666667", "B": "333333"}
    assert auto_allocations(client, tranche_id)["totalCount"] == 0  # a preview stores nothing

    response = client.post(f"{API}/tranches/{tranche_id}/distribute", headers=demo_headers)
    assert response.status_code == 200, response.text
    result = response.json()
    assert quantities(result, ids) == {"A": "666667", "B": "333333"}
    assert (result["allocated"], result["unallocated"]) == ("1000000", "0")
    excluded = {row["indication_id"]: row for row in result["excluded"]}
    assert excluded[ids["C"]]["reason"] == "LimitBelowOfferPrice"
    assert excluded[ids["D"]]["reason"] == "Restricted"
    assert "5130" in excluded[ids["D"]]["message"]

    stored = auto_allocations(client, tranche_id)
    assert stored["totalCount"] == 2
    amounts = {item["indicationId"]: item["allocationValue"] for item in stored["items"]}
    assert amounts[ids["A"]] == {"type": "quantity", "data": {"amount": 666667}}
    assert all(item["orderStatus"] == "pending" for item in stored["items"])


def test_an_override_is_kept_and_the_rest_is_re_split_replacing_earlier_auto_allocations(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    tranche_id, ids = worked_example(client, demo_headers)
    first = client.post(f"{API}/tranches/{tranche_id}/distribute", headers=demo_headers).json()
    a_allocation = next(
        r["allocation_id"] for r in first["allocations"] if r["indication_id"] == ids["A"]
    )
    override = [
        {
            "op": "add",
            "path": "/allocationValue/overrideAllocation",
            "value": {"type": "quantity", "data": {"amount": 500000}},
        }
    ]
    cas = cas_token(client)
    patched = client.patch(f"{V4}/{a_allocation}", json=override, headers=cas)
    assert patched.status_code == 200, patched.text

    again = client.post(
        f"{API}/tranches/{tranche_id}/distribute?preview=false", headers=demo_headers
    )
    assert again.status_code == 200, again.text
    result = again.json()
    assert quantities(result, ids) == {"A": "500000", "B": "500000"}
    basis = {row["indication_id"]: row["basis"] for row in result["allocations"]}
    assert basis == {ids["A"]: "fixed", ids["B"]: "auto"}
    b_before = next(
        r["allocation_id"] for r in first["allocations"] if r["indication_id"] == ids["B"]
    )
    assert result["replaced_allocation_ids"] == [b_before]
    assert client.get(f"{V4}/{b_before}", headers=cas).status_code == 404
    assert client.get(f"{V4}/{a_allocation}", headers=cas).status_code == 200
    assert auto_allocations(client, tranche_id)["totalCount"] == 2


def test_a_read_only_token_may_preview_but_not_distribute(client: TestClient) -> None:
    reader = cas_token(client, "allocations-read")
    path = f"{API}/tranches/{TRANCHE_ID}/distribute"
    assert client.post(f"{path}?preview=true", headers=reader).status_code == 200
    refused = client.post(path, headers=reader)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"


def test_the_native_book_reads_back_and_refuses_bad_input(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    tranche = client.get(f"{API}/tranches/{TRANCHE_ID}", headers=demo_headers).json()
    assert (tranche["offered_size"], tranche["offer_price"]) == ("1000000", "20.00")
    deal_tranches = client.get(f"{API}/deals/{tranche['deal_id']}/tranches", headers=demo_headers)
    assert [t["id"] for t in deal_tranches.json()] == [TRANCHE_ID]
    indications = client.get(f"{API}/tranches/{TRANCHE_ID}/indications", headers=demo_headers)
    assert len(indications.json()) == 3
    investors = client.get(f"{API}/investor-accounts", headers=demo_headers).json()
    assert sorted(i["restriction"] or "" for i in investors)[-1].endswith("5130")
    assert client.get(f"{API}/deals/nope", headers=demo_headers).status_code == 404

    fractional = client.post(
        f"{API}/deals/{tranche['deal_id']}/tranches",
        json={"name": "x", "offered_size": "10.5", "offer_price": "1"},
        headers=demo_headers,
    )
    assert fractional.status_code == 422
    assert fractional.json()["facts"]["field"] == "offered_size"
    floats = client.post(
        f"{API}/tranches/{TRANCHE_ID}/indications",
        json={"investor_account_id": investors[0]["id"], "demand_amount": 10.5},
        headers=demo_headers,
    )
    assert floats.status_code == 422


def test_the_cli_distributes_the_demo_tranche(
    client: TestClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLOTMENT_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("ALLOTMENT_SECRET_KEY", settings.secret() or "")
    monkeypatch.setenv("ALLOTMENT_VAR_DIR", str(settings.var_dir))
    runner = CliRunner()
    preview = runner.invoke(
        cli, ["bookbuilding", "distribute", "--tranche", TRANCHE_ID, "--preview"]
    )
    assert preview.exit_code == 0, preview.output
    assert "preview" in preview.output
    assert "Restricted" in preview.output
    assert auto_allocations(client, TRANCHE_ID)["totalCount"] == 0

    stored = runner.invoke(cli, ["bookbuilding", "distribute", "--tranche", TRANCHE_ID])
    assert stored.exit_code == 0, stored.output
    # The demo: Alpha wants 600,000 shares, Beta 10,000,000.00 of cash (500,000 shares at 20),
    # Gamma is restricted: 1,000,000 are split 6:5.
    assert "545455" in stored.output and "454545" in stored.output
    assert auto_allocations(client, TRANCHE_ID)["totalCount"] == 2

    missing = runner.invoke(cli, ["bookbuilding", "distribute", "--tranche", "nope"])
    assert missing.exit_code == 3
