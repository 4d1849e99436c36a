"""Replaying an ETNA request with the same Idempotency-Key answers the first answer and books
nothing more; the same key with another body is refused in ETNA's error shape."""

from __future__ import annotations

from fastapi.testclient import TestClient

from allotment.bootstrap import Container
from tests.e2e.test_etna_seed import SEED_REQUEST, allocation_count, etna_headers

PATH = "/v1.0/allocations/simple"


def test_a_replay_returns_the_same_status_and_body_and_books_nothing_more(
    client: TestClient, demo_container: Container
) -> None:
    headers = {**etna_headers(client), "Idempotency-Key": "etna-replay-1"}

    first = client.post(PATH, content=SEED_REQUEST, headers=headers)
    again = client.post(PATH, content=SEED_REQUEST, headers=headers)

    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert allocation_count(demo_container) == 1


def test_a_replay_of_a_refused_batch_answers_the_same_409(
    client: TestClient, demo_container: Container
) -> None:
    headers = {**etna_headers(client), "Idempotency-Key": "etna-replay-2"}
    refused = SEED_REQUEST.replace('"AAPL"', '"NOPE"')

    first = client.post(PATH, content=refused, headers=headers)
    again = client.post(PATH, content=refused, headers=headers)

    assert first.status_code == again.status_code == 409
    assert again.content == first.content
    assert allocation_count(demo_container) == 0


def test_the_same_key_with_another_body_answers_422_and_books_nothing(
    client: TestClient, demo_container: Container
) -> None:
    headers = {**etna_headers(client), "Idempotency-Key": "etna-replay-3"}
    client.post(PATH, content=SEED_REQUEST, headers=headers)

    other = client.post(PATH, content=SEED_REQUEST.replace("100", "50"), headers=headers)

    assert other.status_code == 422
    assert set(other.json()) == {"error"}
    assert allocation_count(demo_container) == 1
