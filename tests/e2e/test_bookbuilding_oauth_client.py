"""An off-the-shelf OAuth2 client library (Authlib's httpx integration, over httpx2),
configured as a CAS client would be (client credentials, `client_secret_basic`), obtains a
token from allotment's `/connect/token` and reads an allocation through the book-building
dialect."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx2
import pytest
from authlib.integrations.httpx_client import AsyncOAuth2Client
from fastapi.testclient import TestClient

from tests.e2e.test_bookbuilding_allocations import cas_token, create

BASE = "http://allotment.test"
ALLOCATIONS = "/book-building/allocations/v4/allocations"


@pytest.fixture
def cas(client: TestClient) -> dict[str, str]:
    return cas_token(client)


class RecordingTransport(httpx2.ASGITransport):
    """The application itself, over ASGI, remembering each request it was sent."""

    def __init__(self, app: Any) -> None:
        super().__init__(app=app)
        self.requests: list[httpx2.Request] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        return await super().handle_async_request(request)


async def _read_with_authlib(
    transport: RecordingTransport, allocation_id: str
) -> tuple[dict[str, Any], httpx2.Response]:
    async with AsyncOAuth2Client(
        client_id="demo-client",
        client_secret="demo-secret",
        scope="allocations-read",
        token_endpoint_auth_method="client_secret_basic",
        base_url=BASE,
        transport=transport,
    ) as oauth:
        token = await oauth.fetch_token(f"{BASE}/connect/token", grant_type="client_credentials")
        response = await oauth.get(f"{ALLOCATIONS}/{allocation_id}")
    return dict(token), response


def test_authlib_gets_a_token_by_client_secret_basic_and_reads_an_allocation(
    client: TestClient, cas: dict[str, str]
) -> None:
    created = create(client, cas, sourceId="authlib-1")
    transport = RecordingTransport(client.app)
    token, response = asyncio.run(_read_with_authlib(transport, created["id"]))

    assert token["token_type"] == "Bearer" and token["scope"] == "allocations-read"
    token_request, read_request = transport.requests
    assert token_request.url.path == "/connect/token"
    assert token_request.headers["authorization"].startswith("Basic ")
    assert b"client_secret" not in token_request.content
    assert read_request.headers["authorization"] == f"Bearer {token['access_token']}"
    assert response.status_code == 200, response.text
    assert response.json() == created
