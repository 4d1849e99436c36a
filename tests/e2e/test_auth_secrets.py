"""Passwords and client secrets are stored hashed (Argon2id) and never appear in a response
(other than the one that hands a new secret out), in the logs, in the audit trail or in the
idempotency store."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from allotment.adapters.database import tables as t
from allotment.adapters.security import Argon2PasswordHasher
from allotment.bootstrap import Container
from tests.conftest import bearer

PASSWORD = "Corr3ct-Horse-Battery-Staple"


def _create_user_and_api_client(client: TestClient) -> str:
    admin = bearer(client)
    user = {"username": "newbie", "password": PASSWORD, "scopes": ["allocations-read"]}
    response = client.post("/api/v1/users", json=user, headers=admin)
    assert response.status_code == 201, response.text
    response = client.post(
        "/api/v1/api-clients", json={"name": "robot", "scopes": ["allocations-read"]}, headers=admin
    )
    assert response.status_code == 201, response.text
    secret: str = response.json()["client_secret"]
    assert len(secret) >= 32
    form = {
        "grant_type": "client_credentials",
        "client_id": response.json()["client_id"],
        "client_secret": secret,
    }
    assert client.post("/connect/token", data=form).status_code == 200
    assert client.post("/connect/token", data={**form, "client_secret": "x"}).status_code == 401
    return secret


def test_neither_passwords_nor_secrets_appear_in_the_logs_at_debug_level(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = _create_user_and_api_client(client)
    bearer(client, "newbie", PASSWORD)
    etna = {"Username": "newbie", "Password": PASSWORD, "Et-App-Key": "demo-app-key"}
    assert client.post("/token", headers=etna).status_code == 200
    assert client.post("/token", headers={**etna, "Password": "wrong"}).status_code == 401
    wrong = {"username": "newbie", "password": PASSWORD + "!"}
    assert client.post("/api/v1/auth/token", json=wrong).status_code == 401
    auth_lines = [r.getMessage() for r in caplog.records if r.name == "allotment.auth"]
    assert "token issued to user 'newbie' of company 1" in auth_lines
    assert "login refused: wrong password or unknown user 'newbie'" in auth_lines
    assert any("client credentials refused" in line for line in auth_lines)
    logged = "\n".join(
        f"{record.getMessage()} {record.args!r} {record.exc_text or ''}"
        for record in caplog.records
    )
    assert PASSWORD not in logged
    assert secret not in logged
    assert "demo-secret" not in logged


def test_user_and_api_client_answers_carry_no_hash(client: TestClient) -> None:
    secret = _create_user_and_api_client(client)
    admin = bearer(client)
    for path in ["/api/v1/users", "/api/v1/users/1", "/api/v1/api-clients"]:
        response = client.get(path, headers=admin)
        assert response.status_code == 200, response.text
        for forbidden in ("argon2", "hash", PASSWORD, secret, "demo-secret"):
            assert forbidden not in response.text, (path, forbidden)
    users = client.get("/api/v1/users", headers=admin).json()
    assert set(users[0]) == {"id", "username", "scopes", "client_ids", "active", "two_factor"}
    api_clients = client.get("/api/v1/api-clients", headers=admin).json()
    assert set(api_clients[0]) == {"client_id", "name", "scopes", "active"}


def test_a_refused_password_is_not_echoed_in_the_error(client: TestClient) -> None:
    body = {"username": "shorty", "password": "tiny!", "scopes": []}
    response = client.post("/api/v1/users", json=body, headers=bearer(client))
    assert response.status_code == 422
    assert "password" in response.json()["detail"]
    assert "tiny!" not in response.text


def test_passwords_and_secrets_are_stored_only_as_argon2id_hashes(
    client: TestClient, demo_container: Container
) -> None:
    secret = _create_user_and_api_client(client)
    with demo_container.engine.connect() as connection:
        password_hash = connection.execute(
            select(t.users.c.password_hash).where(t.users.c.username == "newbie")
        ).scalar_one()
        secret_hashes = connection.execute(select(t.api_clients.c.secret_hash)).scalars().all()
        audit = " ".join(
            f"{row.before} {row.after}"
            for row in connection.execute(select(t.audit_events.c.before, t.audit_events.c.after))
        )
    assert password_hash.startswith("$argon2id$") and PASSWORD not in password_hash
    assert all(h.startswith("$argon2id$") and secret not in h for h in secret_hashes)
    assert PASSWORD not in audit and secret not in audit and "argon2" not in audit


def test_a_new_api_clients_secret_is_not_kept_for_idempotent_replay(
    client: TestClient, demo_container: Container
) -> None:
    headers = {**bearer(client), "Idempotency-Key": "new-robot-1"}
    body = {"name": "robot", "scopes": ["allocations-read"]}
    first = client.post("/api/v1/api-clients", json=body, headers=headers)
    assert first.status_code == 201, first.text
    assert first.headers["cache-control"] == "no-store"
    secret = first.json()["client_secret"]

    again = client.post("/api/v1/api-clients", json=body, headers=headers)
    assert again.status_code == 409, again.text
    assert again.json()["code"] == "Conflict"
    assert "shown only once" in again.json()["detail"]
    assert secret not in again.text
    with demo_container.engine.connect() as connection:
        stored = connection.execute(select(t.idempotency_keys.c.body)).scalars().all()
    assert all(secret.encode() not in (body or b"") for body in stored)
    names = [c["name"] for c in client.get("/api/v1/api-clients", headers=bearer(client)).json()]
    assert names.count("robot") == 1, "the replay created nothing"


def test_a_token_answer_is_not_kept_for_idempotent_replay(
    client: TestClient, demo_container: Container
) -> None:
    headers = {**bearer(client), "Idempotency-Key": "login-1"}
    login = {"username": "demo", "password": "demo"}
    first = client.post("/api/v1/auth/token", json=login, headers=headers)
    assert first.status_code == 200
    token = first.json()["access_token"]
    with demo_container.engine.connect() as connection:
        stored = connection.execute(select(t.idempotency_keys.c.body)).scalars().all()
    assert all(token.encode() not in (body or b"") for body in stored)


def test_an_unknown_name_costs_the_same_verification_as_a_wrong_password(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refusal for a name that does not exist runs the same slow hash verification as one
    for a wrong password (against a decoy hash of the same parameters): answering at once
    would tell a caller, by the time it took, which usernames and client ids exist."""
    checked: list[str] = []
    real = Argon2PasswordHasher.verify

    def counting(self: Argon2PasswordHasher, hashed: str, secret: str) -> bool:
        checked.append(hashed)
        return real(self, hashed, secret)

    monkeypatch.setattr(Argon2PasswordHasher, "verify", counting)
    for username in ("demo", "nobody-by-this-name"):
        response = client.post("/api/v1/auth/token", json={"username": username, "password": "x"})
        assert response.status_code == 401
        assert response.json()["detail"] == "invalid username or password"
    for client_id in ("no-such-client", "no-such-client-either"):
        form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": "x"}
        assert client.post("/connect/token", data=form).status_code == 401
    assert len(checked) == 4
    assert all(hashed.startswith("$argon2id$") for hashed in checked)
    # The decoy is made once per hasher, not per refusal.
    assert checked[1] == checked[2] == checked[3] != checked[0]
