"""The Fair remainder policy chosen per allocation key, per block and per fill request
(decision 0045), on SQLite and PostgreSQL: a key set to Fair rotates the odd share between
equal accounts so that each account's cumulative deviation, read from the fairness report,
stays within one increment, where LargestRemainder gives it to the same account every time;
the request overrides the block, the block its key; each allocation records the policy used;
a bad policy is refused in the native error shape."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from allotment.bootstrap import Container
from allotment.entrypoints.cli import app
from tests.e2e.test_saxo_block_orders_api import OWNER, order_body

ACCOUNTS = ("SX-2001", "SX-2002")
PARTICIPANT_KEYS = ("Hk9Jw0lYxXO7qcBuZMR1bQ==", "W1Y2v3E4R5t6y7U8i9O0pA==")
NATIVE_ERROR = {"type", "title", "status", "detail", "code"}


def equal_key(client: TestClient, headers: dict[str, str], name: str) -> str:
    """A key splitting equally between the two demo client accounts, the first (priority 1)
    winning every tie: under LargestRemainder it takes every odd share."""
    participants = [
        {"AccountKey": key, "UnitValue": 50, "Priority": priority, "AcceptRemainderAmount": True}
        for priority, key in enumerate(PARTICIPANT_KEYS, start=1)
    ]
    created = client.post(
        "/trade/v1/allocationkeys",
        json={
            "AllocationKeyName": name,
            "AllocationUnitType": "Percentage",
            "OwnerAccountKey": OWNER,
            "MarginHandling": "Reduce",
            "OneTime": False,
            "ParticipatingAccountsInfo": participants,
        },
        headers=headers,
    )
    assert created.status_code == 201, created.text
    key_id: str = created.json()["AllocationKeyId"]
    return key_id


def set_policy(client: TestClient, headers: dict[str, str], key_id: str, policy: str) -> None:
    route = f"/api/v1/allocation-keys/{key_id}/remainder-policy"
    answer = client.put(route, json={"remainder_policy": policy}, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"allocation_key_id": key_id, "remainder_policy": policy}
    assert client.get(route, headers=headers).json()["remainder_policy"] == policy


def deviations(client: TestClient, headers: dict[str, str], key_id: str) -> dict[str, Fraction]:
    """Each account's cumulative deviation under the key, in increments, from the report."""
    lines = client.get(f"/api/v1/fairness?key={key_id}", headers=headers).json()
    return {line["account_id"]: Fraction(line["deviation_increments"]) for line in lines}


def one_share_order(client: TestClient, headers: dict[str, str], key_id: str) -> str:
    """A Saxo block order of one share with the key, filled at once."""
    placed = client.post(
        "/trade/v2/orders", json=order_body(Amount=1, AllocationKeyId=key_id), headers=headers
    )
    assert placed.status_code == 200, placed.text
    order_id: str = placed.json()["OrderId"]
    fill(client, headers, order_id)
    return order_id


def fill(client: TestClient, headers: dict[str, str], block_id: str, **extra: Any) -> None:
    body = {"quantity": "1", "price": "10.00", **extra}
    answer = client.post(f"/api/v1/blocks/{block_id}/fills", json=body, headers=headers)
    assert answer.status_code == 201, answer.text


def policies(client: TestClient, headers: dict[str, str], block_id: str) -> dict[str, str]:
    """The policy each of the block's allocations recorded, by account (its explanation)."""
    page = client.get(f"/api/v1/allocations?block_id={block_id}", headers=headers).json()
    found = {}
    for item in page["items"]:
        explained = client.get(f"/api/v1/allocations/{item['id']}/explanation", headers=headers)
        assert explained.status_code == 200, explained.text
        found[item["account_id"]] = explained.json()["remainder_policy"]
    return found


def test_a_fair_key_rotates_the_odd_share_and_keeps_every_account_within_one_increment(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    key_id = equal_key(client, demo_headers, "Fair halves")
    set_policy(client, demo_headers, key_id, "Fair")
    for _ in range(6):
        one_share_order(client, demo_headers, key_id)
        found = deviations(client, demo_headers, key_id)
        assert set(found) == set(ACCOUNTS)
        assert all(abs(value) < 1 for value in found.values()), found
        assert sum(found.values()) == 0
    lines = client.get(f"/api/v1/fairness?key={key_id}", headers=demo_headers).json()
    assert {line["account_id"]: line["given_quantity"] for line in lines} == {
        "SX-2001": "3",
        "SX-2002": "3",
    }


def test_largest_remainder_gives_the_odd_share_to_the_same_account_every_time(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    key_id = equal_key(client, demo_headers, "Largest remainder halves")
    route = f"/api/v1/allocation-keys/{key_id}/remainder-policy"
    assert client.get(route, headers=demo_headers).json()["remainder_policy"] == "LargestRemainder"
    for _ in range(6):
        one_share_order(client, demo_headers, key_id)
    # Measured against the key's exact halves, not the whole targets of each order's split.
    assert deviations(client, demo_headers, key_id) == {
        "SX-2001": Fraction(3),
        "SX-2002": Fraction(-3),
    }


def test_the_request_overrides_the_block_and_the_block_its_key(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    key_id = equal_key(client, demo_headers, "Precedence")
    set_policy(client, demo_headers, key_id, "Fair")
    # The key's Fair: the first order's odd share goes to the priority account (no deviation
    # yet), the second's to the other one.
    first = one_share_order(client, demo_headers, key_id)
    assert policies(client, demo_headers, first) == {"SX-2001": "Fair"}
    # A block naming LargestRemainder overrides its key's Fair: the priority account again.
    block = client.post(
        "/api/v1/blocks",
        json={
            "account_id": "SAXO-AVG",
            "symbol": "CFD4361",
            "side": "Buy",
            "quantity": "2",
            "allocation_key_id": key_id,
            "remainder_policy": "LargestRemainder",
        },
        headers=demo_headers,
    )
    assert block.status_code == 201, block.text
    assert block.json()["remainder_policy"] == "LargestRemainder"
    block_id = str(block.json()["id"])
    fill(client, demo_headers, block_id)
    assert policies(client, demo_headers, block_id) == {"SX-2001": "LargestRemainder"}
    assert deviations(client, demo_headers, key_id) == {
        "SX-2001": Fraction(1),
        "SX-2002": Fraction(-1),
    }
    # The fill's request names Fair, overriding the block: the account behind gets it.
    fill(client, demo_headers, block_id, remainder_policy="Fair")
    assert policies(client, demo_headers, block_id) == {
        "SX-2001": "LargestRemainder",
        "SX-2002": "Fair",
    }
    assert deviations(client, demo_headers, key_id) == {
        "SX-2001": Fraction(1, 2),
        "SX-2002": Fraction(-1, 2),
    }
    details = client.get(f"/api/v1/blocks/{block_id}", headers=demo_headers).json()["details"]
    assert details["saxo"]["remainder_policy"] == "LargestRemainder"


def test_a_block_order_keeps_the_policy_its_key_had_when_it_was_placed(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    key_id = equal_key(client, demo_headers, "Recorded at placement")
    placed = client.post(
        "/trade/v2/orders", json=order_body(Amount=2, AllocationKeyId=key_id), headers=demo_headers
    )
    assert placed.status_code == 200, placed.text
    order_id = placed.json()["OrderId"]
    set_policy(client, demo_headers, key_id, "Fair")
    fill(client, demo_headers, order_id)
    assert policies(client, demo_headers, order_id) == {"SX-2001": "LargestRemainder"}
    details = client.get(f"/api/v1/blocks/{order_id}", headers=demo_headers).json()["details"]
    assert details["saxo"]["remainder_policy"] == "LargestRemainder"


def test_a_bad_policy_is_refused_in_the_native_error_shape(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    key_id = equal_key(client, demo_headers, "Refusals")
    route = f"/api/v1/allocation-keys/{key_id}/remainder-policy"
    for bad in ("Fairest", "fair", "", 1, None):
        answer = client.put(route, json={"remainder_policy": bad}, headers=demo_headers)
        assert answer.status_code == 422, answer.text
        assert set(answer.json()) >= NATIVE_ERROR
    unknown = client.put(
        "/api/v1/allocation-keys/999999/remainder-policy",
        json={"remainder_policy": "Fair"},
        headers=demo_headers,
    )
    assert unknown.status_code == 404 and set(unknown.json()) >= NATIVE_ERROR
    order_id = client.post(
        "/trade/v2/orders", json=order_body(Amount=2, AllocationKeyId=key_id), headers=demo_headers
    ).json()["OrderId"]
    bad_fill = client.post(
        f"/api/v1/blocks/{order_id}/fills",
        json={"quantity": "1", "price": "10.00", "remainder_policy": "Hamilton"},
        headers=demo_headers,
    )
    assert bad_fill.status_code == 422 and set(bad_fill.json()) >= NATIVE_ERROR
    base = {"account_id": "SAXO-AVG", "symbol": "CFD4361", "side": "Buy", "quantity": "2"}
    bad_block = client.post(
        "/api/v1/blocks", json={**base, "remainder_policy": "Hamilton"}, headers=demo_headers
    )
    assert bad_block.status_code == 422 and set(bad_block.json()) >= NATIVE_ERROR
    keyless = client.post(
        "/api/v1/blocks", json={**base, "remainder_policy": "Fair"}, headers=demo_headers
    )
    assert keyless.status_code == 422 and set(keyless.json()) >= NATIVE_ERROR
    plain = client.post("/api/v1/blocks", json=base, headers=demo_headers).json()["id"]
    keyless_fill = client.post(
        f"/api/v1/blocks/{plain}/fills",
        json={"quantity": "1", "price": "10.00", "remainder_policy": "Fair"},
        headers=demo_headers,
    )
    assert keyless_fill.status_code == 422 and set(keyless_fill.json()) >= NATIVE_ERROR
    # Nothing of the refused fills was booked.
    assert client.get(f"/api/v1/blocks/{order_id}", headers=demo_headers).json()["fills"] == []
    assert client.get(f"/api/v1/blocks/{plain}", headers=demo_headers).json()["fills"] == []


def test_the_command_line_reads_and_sets_a_keys_policy(cli_env: Container) -> None:
    runner = CliRunner()
    company = ["--company", "Demo Broker"]
    shown = runner.invoke(app, ["fairness", "policy", "227", *company])
    assert shown.exit_code == 0, shown.output
    assert shown.output.strip() == "allocation key 227: LargestRemainder"
    made = runner.invoke(app, ["fairness", "policy", "227", "--set", "Fair", *company])
    assert made.exit_code == 0, made.output
    assert runner.invoke(app, ["fairness", "policy", "227", *company]).output.strip() == (
        "allocation key 227: Fair"
    )
    bad = runner.invoke(app, ["fairness", "policy", "227", "--set", "Hamilton", *company])
    assert bad.exit_code == 1 and "remainder_policy must be one of" in bad.output
    unknown = runner.invoke(app, ["fairness", "policy", "999999", *company])
    assert unknown.exit_code == 1 and "does not exist" in unknown.output
