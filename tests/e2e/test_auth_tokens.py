"""Tokens: both token endpoints on their happy and failing paths, and the bearer tokens every
native route checks (missing, expired, tampered, forged, or of a user who is gone → 401)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
from fastapi.testclient import TestClient
from sqlalchemy import update

from allotment.adapters.database import tables as t
from allotment.adapters.security import JwtTokenCodec
from allotment.bootstrap import Container
from allotment.services.ports import TokenClaims
from tests.conftest import bearer

ETNA_HEADERS = {"Username": "demo", "Password": "demo", "Et-App-Key": "demo-app-key"}
CLIENT_FORM = {
    "grant_type": "client_credentials",
    "client_id": "demo-client",
    "client_secret": "demo-secret",
}


def _demo_company_id(box: Container) -> int:
    with box.uow(write=False) as uow:
        company = uow.identity.company_by_name("Demo Broker")
    assert company is not None
    return company.id


def _claims(box: Container, expires_at: datetime, subject: str = "demo") -> TokenClaims:
    return TokenClaims(
        company_id=_demo_company_id(box),
        subject=subject,
        kind="user",
        scopes=frozenset({"allocations-read", "allocations-write", "admin"}),
        expires_at=expires_at,
    )


def _problem(response: object, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"https://allotment.dev/problems/{code}"
    return body


# ETNA POST /token --------------------------------------------------------------------------------
def test_the_etna_token_endpoint_answers_a_24_hour_token_that_opens_the_native_api(
    client: TestClient, demo_container: Container
) -> None:
    for path in ["/token", "/v1.0/token"]:
        response = client.post(path, headers=ETNA_HEADERS)
        assert response.status_code == 200, (path, response.text)
        body = response.json()
        assert body["State"] == "Succeeded"
        headers = {"Authorization": f"Bearer {body['Token']}"}
        assert client.get("/api/v1/accounts", headers=headers).status_code == 200
        lifetime = demo_container.tokens.decode(body["Token"]).expires_at - datetime.now(UTC)
        assert timedelta(hours=23, minutes=59) < lifetime <= timedelta(hours=24)
    assert response.headers["cache-control"] == "no-store"


def test_the_etna_token_endpoint_refuses_wrong_credentials_with_401_and_app_keys_with_403(
    client: TestClient,
) -> None:
    without_key = {k: v for k, v in ETNA_HEADERS.items() if k != "Et-App-Key"}
    failed = {"State": "Failed", "Step": "BaseAuthentication", "Reason": "Invalid credentials"}
    no_key = {"error": "Application key is not defined or does not exist"}
    cases = [
        ({**ETNA_HEADERS, "Password": "wrong"}, 401, failed),
        ({**ETNA_HEADERS, "Username": "nobody"}, 401, failed),
        ({"Et-App-Key": "demo-app-key", "Username": "demo"}, 401, failed),
        (without_key, 403, no_key),
        ({**without_key, "Et-App-Key": "nope"}, 403, no_key),
    ]
    for headers, status, answer in cases:
        response = client.post("/token", headers=headers)
        assert response.status_code == status, (headers, response.text)
        assert response.json() == answer


# OAuth2 POST /connect/token ----------------------------------------------------------------------
def test_client_credentials_answer_a_bearer_token_for_1200_seconds(client: TestClient) -> None:
    response = client.post("/connect/token", data={**CLIENT_FORM, "scope": "allocations-read"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 1200
    assert body["scope"] == "allocations-read"
    assert response.headers["cache-control"] == "no-store"
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert client.get("/api/v1/accounts", headers=headers).status_code == 200
    everything = client.post("/connect/token", data=CLIENT_FORM)
    assert everything.json()["scope"] == "allocations-read allocations-write"


def test_the_oauth_token_endpoint_answers_rfc_6749_errors(client: TestClient) -> None:
    cases = [
        ({**CLIENT_FORM, "client_secret": "wrong"}, 401, "invalid_client"),
        ({**CLIENT_FORM, "client_id": "nobody"}, 401, "invalid_client"),
        ({**CLIENT_FORM, "grant_type": "password"}, 400, "unsupported_grant_type"),
        ({**CLIENT_FORM, "scope": "admin"}, 400, "invalid_scope"),
        ({**CLIENT_FORM, "scope": "allocations-read admin"}, 400, "invalid_scope"),
        ({**CLIENT_FORM, "scope": "launch-missiles"}, 400, "invalid_scope"),
        ({"grant_type": "client_credentials"}, 400, "invalid_request"),
    ]
    for form, status, error in cases:
        response = client.post("/connect/token", data=form)
        assert response.status_code == status, (form, response.text)
        assert response.json()["error"] == error, form
        assert response.json()["error_description"]
        assert response.headers["cache-control"] == "no-store"
    assert "client_id" in response.json()["error_description"]


# Bearer tokens on the native API -----------------------------------------------------------------
def test_a_native_route_without_valid_credentials_answers_401_with_a_challenge(
    client: TestClient,
) -> None:
    response = client.get("/api/v1/accounts")
    body = _problem(response, 401, "Unauthorized")
    assert body["detail"] == "authentication is required"
    assert response.headers["www-authenticate"] == "Bearer"
    for header in ["Bearer", "Bearer not-a-jwt", "Basic ZGVtbzpkZW1v", "Token abc", "bearer a.b.c"]:
        response = client.get("/api/v1/accounts", headers={"Authorization": header})
        _problem(response, 401, "Unauthorized")


def test_an_expired_token_answers_401(client: TestClient, demo_container: Container) -> None:
    token = demo_container.tokens.encode(
        _claims(demo_container, datetime.now(UTC) - timedelta(seconds=5))
    )
    response = client.get("/api/v1/accounts", headers={"Authorization": f"Bearer {token}"})
    body = _problem(response, 401, "Unauthorized")
    assert body["detail"] == "the token has expired"


def test_a_tampered_forged_or_unsigned_token_answers_401(
    client: TestClient, demo_container: Container
) -> None:
    token = bearer(client, "advisor", "advisor")["Authorization"].removeprefix("Bearer ")
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "demo"  # try to become the all-clients admin
    changed = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    damaged = signature[:-3] + ("AAA" if not signature.endswith("AAA") else "BBB")
    valid_for_an_hour = _claims(demo_container, datetime.now(UTC) + timedelta(hours=1))
    forger = JwtTokenCodec("another-secret-of-at-least-32-characters!")
    unsigned = {
        "iss": "allotment",
        "sub": "demo",
        "cid": valid_for_an_hour.company_id,
        "knd": "user",
        "scope": "admin",
        "exp": int(valid_for_an_hour.expires_at.timestamp()),
    }
    for bad in [
        f"{header}.{changed}.{signature}",
        f"{header}.{payload}.{damaged}",
        forger.encode(valid_for_an_hour),
        jwt.encode(unsigned, key=None, algorithm="none"),
    ]:
        response = client.get("/api/v1/accounts", headers={"Authorization": f"Bearer {bad}"})
        body = _problem(response, 401, "Unauthorized")
        assert body["detail"] == "the token is not valid"
    assert client.get("/api/v1/accounts", headers={"Authorization": f"Bearer {token}"}).is_success


def test_a_token_of_a_user_who_is_gone_or_never_was_answers_401(
    client: TestClient, demo_container: Container
) -> None:
    headers = bearer(client, "robert.z", "robert.z")
    assert client.get("/api/v1/accounts", headers=headers).status_code == 200
    with demo_container.engine.begin() as connection:
        connection.execute(update(t.users).where(t.users.c.username == "robert.z").values(active=0))
    _problem(client.get("/api/v1/accounts", headers=headers), 401, "Unauthorized")
    claims = _claims(demo_container, datetime.now(UTC) + timedelta(hours=1), subject="ghost")
    ghost = {"Authorization": f"Bearer {demo_container.tokens.encode(claims)}"}
    _problem(client.get("/api/v1/accounts", headers=ghost), 401, "Unauthorized")


def test_the_native_login_answers_a_24_hour_token_or_401(client: TestClient) -> None:
    response = client.post("/api/v1/auth/token", json={"username": "demo", "password": "demo"})
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "Bearer"
    assert response.json()["expires_in"] == 86400
    assert response.headers["cache-control"] == "no-store"
    response = client.post("/api/v1/auth/token", json={"username": "demo", "password": "nope"})
    body = _problem(response, 401, "Unauthorized")
    assert body["detail"] == "invalid username or password"
