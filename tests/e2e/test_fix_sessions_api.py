"""FIX sessions configured through the native API (admin scope) and the CLI."""

from __future__ import annotations

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from allotment.bootstrap import Container
from allotment.entrypoints.cli import app
from allotment.services.fix import sessions as fix_sessions
from tests.conftest import bearer

SESSIONS = "/api/v1/fix-sessions"


def test_the_demo_session_is_listed_and_an_admin_adds_and_removes_another(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    listed = client.get(SESSIONS, headers=demo_headers)
    assert listed.status_code == 200
    assert [(s["sender_comp_id"], s["target_comp_id"], s["username"]) for s in listed.json()] == [
        ("DEMO-OMS", "ALLOTMENT", "demo")
    ]
    body = {"sender_comp_id": "BUYSIDE", "target_comp_id": "ALLOTMENT", "username": "advisor"}
    created = client.post(SESSIONS, json=body, headers=demo_headers)
    assert created.status_code == 201, created.text
    assert created.json()["begin_string"] == "FIX.4.4"
    assert created.json()["subscribe_allocations"] is False
    assert client.post(SESSIONS, json=body, headers=demo_headers).status_code == 409
    removed = client.delete(f"{SESSIONS}/BUYSIDE/ALLOTMENT", headers=demo_headers)
    assert removed.status_code == 204
    assert client.delete(f"{SESSIONS}/BUYSIDE/ALLOTMENT", headers=demo_headers).status_code == 404


def test_a_session_needs_the_admin_scope_a_user_of_the_company_and_clean_comp_ids(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    advisor = bearer(client, "advisor", "advisor")
    assert client.get(SESSIONS, headers=advisor).status_code == 403
    body = {"sender_comp_id": "OMS-2", "target_comp_id": "ALLOTMENT", "username": "nobody"}
    assert client.post(SESSIONS, json=body, headers=demo_headers).status_code == 404
    spaced = {**body, "username": "demo", "sender_comp_id": "OMS 2"}
    response = client.post(SESSIONS, json=spaced, headers=demo_headers)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")


def test_the_cli_adds_and_lists_sessions(cli_env: Container) -> None:
    runner = CliRunner()
    added = runner.invoke(
        app,
        ["fix", "sessions", "add", "OMS-CLI", "ALLOTMENT", "--user", "demo", "--company",
         "Demo Broker"],
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    listed = runner.invoke(app, ["fix", "sessions", "list", "--company", "Demo Broker"])
    assert "OMS-CLI" in listed.output and "DEMO-OMS" in listed.output
    again = runner.invoke(
        app,
        ["fix", "sessions", "add", "OMS-CLI", "ALLOTMENT", "--user", "demo", "--company",
         "Demo Broker"],
    )  # fmt: skip
    assert again.exit_code == 2 and "exists already" in again.output
    subscribed = runner.invoke(
        app,
        ["fix", "sessions", "add", "OMS-ALL", "ALLOTMENT", "--user", "demo", "--company",
         "Demo Broker", "--subscribe-allocations"],
    )  # fmt: skip
    assert subscribed.exit_code == 0, subscribed.output
    with cli_env.uow(write=False) as uow:
        session = fix_sessions.every_session(uow)[-1]
    assert (session.name, session.subscribe_allocations) == ("OMS-ALL->ALLOTMENT", True)
