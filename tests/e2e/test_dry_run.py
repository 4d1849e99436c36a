"""`?dryRun=true` on every write route of every dialect (decision 0032): the same status and
body as the real request made afterwards (apart from the ids and times the real write
assigns), a `Dry-Run: true` header, nothing kept (every table as it was but for one audit event
marked as a dry run), no Idempotency-Key claimed, on SQLite and PostgreSQL.

The routes are the app's own (`write_routes`) and the valid request of each is the hostile-input
test's table (`WRITES`), so a new route is dry run as soon as it has its line there.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine, MetaData, func, select, text

from allotment.bootstrap import Container
from allotment.entrypoints.http.app import create_app
from allotment.services.journal import ledger
from tests.e2e.test_hostile_inputs import (
    ETNA_ITEM,
    WRITES,
    Call,
    credentials,
    resolve,
    resolved,
    send,
    shape_of,
    write_routes,
)
from tests.e2e.test_saxo_dropin import batch, key_body

LOGINS = {"/token", "/v1.0/token", "/v1/token", "/connect/token", "/api/v1/auth/token"}
"""A login refuses a dry run: a token issued cannot be taken back."""
DRY = {"dryRun": "true"}
ASSIGNED = re.compile(
    r"(?i)(^|_)(id|ids|at|time|date|datetime|timestamp|created|updated|secret|token|key)$"
    r"|[a-z](Id|ID|Ids|IDs|At|Time|DateTime|Date|Created|Key|Secret)$|^(id|key|secret|location|provisioning_uri)$"
)
"""Names of the fields whose values the real write assigns (ids, times, secrets)."""


@pytest.fixture
def app(demo_container: Container) -> FastAPI:
    return create_app(container=demo_container)


def snapshot(engine: Engine) -> dict[str, Any]:
    """Every table's rows (the audit events' count apart: a dry run adds one)."""
    metadata = MetaData()
    metadata.reflect(engine)
    seen: dict[str, Any] = {}
    with engine.connect() as connection:
        for name, table in sorted(metadata.tables.items()):
            if name == "alembic_version":
                continue
            if name == "audit_events":
                seen[name] = connection.execute(select(func.count()).select_from(table)).scalar()
                continue
            rows = connection.execute(select(table)).all()
            seen[name] = sorted(repr(tuple(row)) for row in rows)
    return seen


def dry_run_events(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT action, object_id, after FROM audit_events WHERE action = 'dry_run'")
        ).all()
    return [{"object_id": row[1], "after": json.loads(row[2])} for row in rows]


def normalised(response: Response) -> Any:
    """The body with the values of assigned fields (ids, times, secrets) blanked."""
    kind = response.headers.get("content-type", "")
    if kind.startswith("multipart/"):
        return [_part(part) for part in _parts(response.text, kind)]
    if "json" not in kind:
        return re.sub(r">(\d+|\d{4}-\d\d-\d\dT[\d:.]+Z?)<", ">#<", response.text)
    return _blank(response.json())


def _parts(text: str, kind: str) -> list[str]:
    """A multipart answer's parts (a Saxo batch: each an embedded HTTP answer), without the
    boundary the server chose."""
    boundary = re.search(r'boundary="?([^";]+)', kind)
    assert boundary, kind
    return [p for p in text.split(f"--{boundary.group(1)}") if p.strip() not in ("", "--")]


def _part(part: str) -> Any:
    """An embedded answer: its head as text, its JSON body with assigned fields blanked."""
    head, _, body = part.strip().partition("\r\n\r\n" if "\r\n\r\n" in part else "\n\n")
    head, _, inner = body.partition("\r\n\r\n" if "\r\n\r\n" in body else "\n\n")
    try:
        return head, _blank(json.loads(inner))
    except ValueError:
        return head, inner


def _blank(node: Any, name: str = "") -> Any:
    if isinstance(node, dict):
        return {key: _blank(value, key) for key, value in node.items()}
    if isinstance(node, list):
        return [_blank(value, name) for value in node]
    if name and ASSIGNED.search(name):
        return "#"
    return node


def with_dry_run(call: Call, value: str = "true") -> Call:
    return Call(**{**call.__dict__, "query": call.query | {"dryRun": value}})


def unknown(path: str) -> Call:
    """A request for a route the table has no line for yet (its completeness is checked by
    the hostile-input test): no body, each path value 1; dry or real, the same answer."""
    return Call(path={name: "1" for name in re.findall(r"{(\w+)}", path)})


def ordered(routes: set[str]) -> list[str]:
    """Deletions last, so that the objects they delete are there for the other routes."""
    return sorted(routes, key=lambda route: (route.startswith("DELETE"), route))


def test_a_dry_run_of_every_write_answers_as_the_real_request_and_keeps_nothing(
    app: FastAPI, demo_container: Container
) -> None:
    engine = demo_container.engine
    routes = write_routes(app)
    failures: list[str] = []
    succeeded = 0
    with TestClient(app, raise_server_exceptions=False) as client:
        headers = credentials(client)
        ids = resolve(client, headers)
        for route in ordered(routes - {f"POST {path}" for path in LOGINS}):
            method, path = route.split(" ", 1)
            for call in WRITES.get(route) or [unknown(path)]:
                call = resolved(call, ids)
                key = {"Idempotency-Key": f"dry-{uuid.uuid4()}"}
                sent = headers[call.auth] | key
                before, events = snapshot(engine), len(dry_run_events(engine))
                dry = send(client, method, path, with_dry_run(call), sent)
                after = snapshot(engine)
                real = send(client, method, path, call, sent)
                where = f"{route} ({call.content_type})"
                if dry.headers.get("Dry-Run") != "true":
                    failures.append(f"{where}: no Dry-Run header")
                if real.headers.get("Dry-Run") is not None:
                    failures.append(f"{where}: the real request says Dry-Run")
                if real.headers.get("Idempotent-Replayed"):
                    failures.append(f"{where}: the dry run claimed the Idempotency-Key")
                if (dry.status_code, normalised(dry)) != (real.status_code, normalised(real)):
                    failures.append(
                        f"{where}: dry {dry.status_code} {dry.text[:300]}\n"
                        f"   real {real.status_code} {real.text[:300]}"
                    )
                changed = [name for name in before if before[name] != after[name]]
                if (
                    changed != ["audit_events"]
                    or after["audit_events"] != before["audit_events"] + 1
                ):
                    failures.append(f"{where}: the dry run changed {changed}")
                if len(dry_run_events(engine)) != events + 1:
                    failures.append(f"{where}: not one dry-run audit event")
                succeeded += real.status_code < 400
    with demo_container.uow(write=False) as uow:
        assert ledger.check_ledger(uow) == []
        assert ledger.check_references(uow) == []
    assert not failures, "\n".join(failures)
    print(f"succeeded {succeeded} of {len(routes)}")
    assert succeeded >= len(routes) // 2


def test_a_dry_run_is_audited_once_as_a_dry_run_saying_what_it_would_have_recorded(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    deposit = {"account_id": "6688", "amount": "10.50"}
    balances = client.get("/api/v1/accounts/6688/balances", headers=demo_headers).json()
    before = client.get("/api/v1/audit-events?limit=1000", headers=demo_headers).json()["items"]
    answer = client.post("/api/v1/ledger/deposits?dryRun=true", json=deposit, headers=demo_headers)
    assert answer.status_code == 201, answer.text
    assert answer.headers["Dry-Run"] == "true"
    assert client.get("/api/v1/accounts/6688/balances", headers=demo_headers).json() == balances
    after = client.get("/api/v1/audit-events?limit=1000", headers=demo_headers).json()["items"]
    added = after[len(before) :]
    assert len(added) == 1, added
    assert added[0]["action"] == "dry_run"
    assert added[0]["object_id"] == "POST /api/v1/ledger/deposits"
    assert added[0]["actor"] == "demo" and added[0]["dialect"] == "native"
    assert added[0]["after"]["status"] == 201
    assert added[0]["after"]["would_record"], added[0]


def test_dry_run_false_is_the_real_request_and_dry_run_given_twice_is_refused(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    before = client.get("/api/v1/accounts/6688/balances", headers=demo_headers).json()
    deposit = {"account_id": "6688", "amount": "10.50"}
    answer = client.post("/api/v1/ledger/deposits?dryRun=false", json=deposit, headers=demo_headers)
    assert answer.status_code == 201, answer.text
    assert "Dry-Run" not in answer.headers
    twice = client.post(
        "/api/v1/ledger/deposits?dryRun=true&dryRun=true", json=deposit, headers=demo_headers
    )
    assert twice.status_code == 422 and twice.json()["code"] == "InvalidInstruction", twice.text
    assert client.get("/api/v1/accounts/6688/balances", headers=demo_headers).json() != before


@pytest.mark.parametrize("value", ["yes", "1", "", "on"])
def test_an_unknown_dry_run_value_is_refused_in_each_dialects_error_shape(
    app: FastAPI, value: str
) -> None:
    with TestClient(app) as client:
        headers = credentials(client)
        ids = resolve(client, headers)
        for route in ordered(write_routes(app) & set(WRITES)):
            method, path = route.split(" ", 1)
            call = resolved(WRITES[route][0], ids)
            answer = send(client, method, path, with_dry_run(call, value), headers[call.auth])
            assert answer.status_code in (400, 422), (route, answer.text)
            assert shape_of(path)(answer), (route, answer.text)
            assert "dryRun" in answer.text, (route, answer.text)


def test_a_login_refuses_a_dry_run_in_its_own_error_shape(app: FastAPI) -> None:
    with TestClient(app) as client:
        headers = credentials(client)
        for path in sorted(LOGINS & {route.split(" ", 1)[1] for route in write_routes(app)}):
            call = WRITES[f"POST {path}"][0]
            answer = send(client, "POST", path, with_dry_run(call), headers[call.auth])
            assert answer.status_code in (400, 422), (path, answer.text)
            assert shape_of(path)(answer), (path, answer.text)
            assert "access_token" not in answer.text and "Token" not in answer.json()


def test_every_write_operation_but_a_login_documents_dry_run(app: FastAPI) -> None:
    for path, item in app.openapi()["paths"].items():
        for method, operation in item.items():
            if method not in ("post", "put", "patch", "delete"):
                continue
            names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
            assert ("dryRun" in names) == (path not in LOGINS), (method, path)


def test_a_dry_run_of_a_saxo_batch_runs_its_embedded_writes_dry_too(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    key = json.dumps(key_body(ExternalReference="dry batch"))
    parts = [
        f"POST /openapi/trade/v1/allocationkeys HTTP/1.1\r\nContent-Type: application/json"
        f"\r\n\r\n{key}",
        f"POST /trade/v1/allocationkeys?dryRun=true HTTP/1.1\r\nContent-Type: application/json"
        f"\r\n\r\n{key}",
    ]
    mixed = {**demo_headers, "Content-Type": "multipart/mixed; boundary=batch-1"}
    keys = client.get("/trade/v1/allocationkeys", headers=demo_headers).json()["Data"]
    answer = client.post("/openapi/trade/batch?dryRun=true", content=batch(parts), headers=mixed)
    assert answer.status_code == 200 and answer.headers["Dry-Run"] == "true", answer.text
    assert answer.text.count("HTTP/1.1 201 Created") == 2, answer.text
    assert client.get("/trade/v1/allocationkeys", headers=demo_headers).json()["Data"] == keys
    real = client.post("/openapi/trade/batch", content=batch(parts[:1]), headers=mixed)
    assert "HTTP/1.1 201 Created" in real.text and "Dry-Run" not in real.headers
    after = client.get("/trade/v1/allocationkeys", headers=demo_headers).json()["Data"]
    assert [k.get("ExternalReference") for k in after].count("dry batch") == 1


def test_a_dry_run_of_a_large_etna_batch_answers_each_item_as_the_real_batch(
    app: FastAPI, demo_container: Container
) -> None:
    items = [ETNA_ITEM | {"Comment": f"Dry {n}"} for n in range(250)]  # COPY on PostgreSQL
    with TestClient(app) as client:
        headers = credentials(client)["etna"]
        before = snapshot(demo_container.engine)
        dry = send(client, "POST", "/v1.0/allocations/simple", Call(items, query=DRY), headers)
        assert dry.headers["Dry-Run"] == "true"
        assert snapshot(demo_container.engine)["journal_entries"] == before["journal_entries"]
        real = send(client, "POST", "/v1.0/allocations/simple", Call(items), headers)
    assert dry.status_code == real.status_code
    assert normalised(dry) == normalised(real)
    assert sum(item["IsSucceed"] for item in real.json()) > 0, real.text
    with demo_container.uow(write=False) as uow:
        assert ledger.check_ledger(uow) == []
