"""Who may claim an Idempotency-Key, and what a key left behind by a crash does: only a caller
whose credentials (and, on ETNA, application key) pass claims one; a claim held by a request
that died is released once its lease has passed, and a retry then books exactly once."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from allotment.adapters.database import claims
from allotment.adapters.database import tables as t
from allotment.bootstrap import Container
from allotment.domain.errors import Conflict
from allotment.entrypoints.http.idempotency import IdempotencyMiddleware
from tests.conftest import bearer
from tests.e2e.test_etna_seed import SEED_REQUEST, allocation_count, etna_headers

ETNA = "/v1.0/allocations/simple"
BLOCKTRADE = "/api/orders/blockTrade/block-allocations"


def _keys(box: Container, key: str) -> list[str]:
    k = t.idempotency_keys
    with box.engine.connect() as connection:
        return [row.state for row in connection.execute(select(k).where(k.c.key == key))]


def _expire_lease(box: Container, key: str) -> None:
    """What the passing of time does to the claim of a request that was killed."""
    k = t.idempotency_keys
    past = box.clock.now() - timedelta(minutes=5)
    with box.engine.begin() as connection:
        connection.execute(update(k).where(k.c.key == key).values(leased_until=past))


def _basic(username: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}", "Content-Type": "application/json"}


def test_a_wrong_basic_password_claims_no_idempotency_key(
    client: TestClient, demo_container: Container
) -> None:
    key = {"Idempotency-Key": "basic-wrong-password"}
    refused = client.post(BLOCKTRADE, content="{}", headers={**_basic("demo", "nope"), **key})
    assert refused.status_code == 401
    assert _keys(demo_container, "basic-wrong-password") == []

    right = client.post(BLOCKTRADE, content="{}", headers={**_basic("demo", "demo"), **key})
    assert right.status_code != 401
    assert "Idempotent-Replayed" not in right.headers


def test_a_missing_or_unknown_app_key_burns_no_idempotency_key(
    client: TestClient, demo_container: Container
) -> None:
    headers = {**etna_headers(client), "Idempotency-Key": "etna-no-app-key"}
    without = {name: value for name, value in headers.items() if name != "Et-App-Key"}
    assert client.post(ETNA, content=SEED_REQUEST, headers=without).status_code == 403
    unknown = {**headers, "Et-App-Key": "not-a-key"}
    assert client.post(ETNA, content=SEED_REQUEST, headers=unknown).status_code == 403
    assert _keys(demo_container, "etna-no-app-key") == []

    booked = client.post(ETNA, content=SEED_REQUEST, headers=headers)
    assert booked.status_code == 200, booked.text
    assert allocation_count(demo_container) == 1


def test_a_key_whose_request_was_killed_before_booking_is_retried_and_books_exactly_once(
    client: TestClient, demo_container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = {**etna_headers(client), "Idempotency-Key": "etna-killed"}
    # The process dies mid-batch: nothing is booked, and nothing after runs (no answer kept).
    monkeypatch.setattr(IdempotencyMiddleware, "_store", lambda *args: None)
    monkeypatch.setattr("allotment.entrypoints.http.etna.routes._book", _killed)
    with pytest.raises(RuntimeError, match="killed"):
        client.post(ETNA, content=SEED_REQUEST, headers=headers)
    monkeypatch.undo()
    assert _keys(demo_container, "etna-killed") == ["in_progress"]

    held = client.post(ETNA, content=SEED_REQUEST, headers=headers)
    assert held.status_code == 409
    assert "still being processed" in held.json()["error"]
    assert int(held.headers["Retry-After"]) >= 1

    _expire_lease(demo_container, "etna-killed")
    retried = client.post(ETNA, content=SEED_REQUEST, headers=headers)
    again = client.post(ETNA, content=SEED_REQUEST, headers=headers)
    assert retried.status_code == 200, retried.text
    assert again.content == retried.content
    assert again.headers["Idempotent-Replayed"] == "true"
    assert allocation_count(demo_container) == 1


def _killed(*args: object) -> object:
    raise RuntimeError("killed")


def test_a_key_whose_request_was_killed_after_booking_is_never_booked_again(
    client: TestClient, demo_container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = {**etna_headers(client), "Idempotency-Key": "etna-killed-late"}
    monkeypatch.setattr(IdempotencyMiddleware, "_store", lambda *args: None)
    assert client.post(ETNA, content=SEED_REQUEST, headers=headers).status_code == 200
    monkeypatch.undo()
    assert _keys(demo_container, "etna-killed-late") == ["booked"]

    _expire_lease(demo_container, "etna-killed-late")
    retried = client.post(ETNA, content=SEED_REQUEST, headers=headers)
    assert retried.status_code == 409
    assert "was booked" in retried.json()["error"]
    assert allocation_count(demo_container) == 1


def test_a_request_whose_claim_was_taken_over_commits_nothing(demo_container: Container) -> None:
    box = demo_container
    now = box.clock.now()
    with box.uow() as uow:
        assert uow.idempotency.reserve(1, "taken", "h", now, now - timedelta(seconds=1), "first")
        assert uow.idempotency.reserve(1, "taken", "h", now, now + timedelta(minutes=1), "second")
        uow.commit()
    stale = claims.Claim(1, "taken", "first")
    with claims.holding(stale), pytest.raises(Conflict, match="taken over"), box.uow() as uow:
        uow.commit()  # whatever it wrote: the commit itself is refused
    assert _keys(box, "taken") == ["in_progress"]


def test_the_same_key_through_another_app_key_is_another_request(
    client: TestClient, demo_container: Container
) -> None:
    created = client.post("/api/v1/app-keys", json={"name": "second"}, headers=bearer(client))
    assert created.status_code == 201, created.text
    headers = {**etna_headers(client), "Idempotency-Key": "etna-app-key-in-print"}
    assert client.post(ETNA, content=SEED_REQUEST, headers=headers).status_code == 200

    other = {**headers, "Et-App-Key": created.json()["key"]}
    refused = client.post(ETNA, content=SEED_REQUEST, headers=other)
    assert refused.status_code == 422
    assert "different request" in refused.json()["error"]
    assert allocation_count(demo_container) == 1
