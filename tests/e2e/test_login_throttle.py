"""Failed logins are throttled on every token endpoint and on HTTP Basic, per user and per
address: the 11th wrong password within a minute answers 429 with Retry-After, in the
endpoint's own error shape, and a login that succeeds is not counted."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from allotment.bootstrap import Container, build
from allotment.entrypoints.http.app import create_app
from allotment.services import demo
from allotment.settings import Settings

Login = Callable[[TestClient, str, str], httpx.Response]


def etna(client: TestClient, user: str, password: str) -> httpx.Response:
    headers = {"Username": user, "Password": password, "Et-App-Key": "demo-app-key"}
    return client.post("/token", headers=headers)


def etna_versioned(client: TestClient, user: str, password: str) -> httpx.Response:
    headers = {"Username": user, "Password": password, "Et-App-Key": "demo-app-key"}
    return client.post("/v1.0/token", headers=headers)


def oauth(client: TestClient, user: str, password: str) -> httpx.Response:
    form = {"grant_type": "client_credentials", "client_id": user, "client_secret": password}
    return client.post("/connect/token", data=form)


def native(client: TestClient, user: str, password: str) -> httpx.Response:
    return client.post("/api/v1/auth/token", json={"username": user, "password": password})


def basic(client: TestClient, user: str, password: str) -> httpx.Response:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return client.post(
        "/api/orders/blockTrade/block-allocations",
        content="{}",
        headers={"Authorization": f"Basic {token}", "Content-Type": "application/json"},
    )


def _shape(response: httpx.Response) -> object:
    """The fields of a JSON object, or the type of any other JSON (block-trade: a string)."""
    body: Any = response.json()
    return (response.headers["content-type"], set(body) if isinstance(body, dict) else type(body))


@pytest.mark.parametrize("login", [etna, etna_versioned, oauth, native, basic])
def test_the_eleventh_wrong_password_within_a_minute_answers_429(
    client: TestClient, login: Login
) -> None:
    refusals = [login(client, "demo", f"wrong-{n}") for n in range(10)]
    assert [r.status_code for r in refusals] == [401] * 10

    throttled = login(client, "demo", "wrong-again")
    assert throttled.status_code == 429, throttled.text
    assert 1 <= int(throttled.headers["Retry-After"]) <= 60
    assert _shape(throttled) == _shape(refusals[0])
    # Throttled even with the right password: the window has to pass first.
    assert login(client, "demo", "demo").status_code == 429


def test_a_correct_login_is_not_counted(client: TestClient) -> None:
    for _ in range(15):
        assert native(client, "demo", "demo").status_code == 200
    refusals = [native(client, "demo", "wrong").status_code for _ in range(10)]
    assert refusals == [401] * 10


def test_the_throttle_of_one_user_leaves_the_others_alone(client: TestClient) -> None:
    for _ in range(11):
        native(client, "robert.z", "wrong")
    assert native(client, "robert.z", "robert.z").status_code == 429
    assert native(client, "demo", "demo").status_code == 200


@pytest.fixture
def strict_client(settings: Settings) -> Iterator[tuple[TestClient, Container]]:
    box = build(settings.model_copy(update={"login_failures_per_address_per_minute": 3}))
    with box.uow() as uow:
        demo.load(uow, box.hasher, box.clock.now())
        uow.commit()
    with TestClient(create_app(container=box)) as test_client:
        yield test_client, box
    box.engine.dispose()


def test_failed_logins_from_one_address_are_throttled_whatever_the_user(
    strict_client: tuple[TestClient, Container],
) -> None:
    client, _ = strict_client
    users = ["demo", "robert.z", "charlie"]
    assert [native(client, user, "wrong").status_code for user in users] == [401] * 3
    refused = native(client, "advisor", "advisor")
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "TooManyRequests"
