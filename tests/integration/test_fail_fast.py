"""Fail fast, fail clear: a schema behind stops `serve` with one line, `/health` tells the
schema and the database's reachability (503), a database that goes away answers 503 with
Retry-After in each dialect's shape and the service recovers by itself when it is back, and a
bad setting is one line."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from allotment.bootstrap import build
from allotment.entrypoints.cli import app as cli
from allotment.entrypoints.http.app import create_app
from allotment.services import demo
from allotment.settings import Settings
from tests.conftest import SECRET, bearer


def _no_server(*args: object, **kwargs: object) -> None:
    raise AssertionError("the server must not start")


def test_serve_on_an_unmigrated_database_exits_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("uvicorn.run", _no_server)
    env = {
        "ALLOTMENT_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}",
        "ALLOTMENT_SECRET_KEY": SECRET,
        "ALLOTMENT_LOG_LEVEL": "WARNING",
    }
    result = CliRunner().invoke(cli, ["serve"], env=env)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "allotment db upgrade" in lines[0]


@pytest.mark.parametrize(
    ("name", "value", "named"),
    [
        ("ALLOTMENT_SECRET_KEY", "short", "at least 32 characters"),
        ("ALLOTMENT_LOG_LEVEL", "LOUD", "INFO"),
        ("ALLOTMENT_DATABASE_URL", "mysql://db/allotment", "SQLite or PostgreSQL"),
        ("ALLOTMENT_DATABASE_URL", "not a url", "not a database URL"),
        ("ALLOTMENT_MAX_BATCH_ITEMS", "-1", "greater than 0"),
    ],
)
def test_a_bad_setting_is_one_line_that_names_it(
    name: str, value: str, named: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("uvicorn.run", _no_server)
    result = CliRunner().invoke(cli, ["serve"], env={name: value})
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert name in lines[0] and named in lines[0]
    assert value not in lines[0]  # a value may be a secret: never printed


def test_health_answers_503_on_an_unmigrated_database(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'empty.db'}", secret_key=SECRET, var_dir=tmp_path
    )
    box = build(settings)
    try:
        with TestClient(create_app(container=box)) as client:
            response = client.get("/health")
        assert response.status_code == 503
        assert "allotment db upgrade" in response.json()["reason"]
    finally:
        box.engine.dispose()


class Proxy:
    """A TCP proxy between allotment and PostgreSQL that a test can cut and restore: while
    cut, it drops the connections it carries and hangs up on new ones."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.open = True
        self.stopped = False
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stopped:
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            if not self.open:
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.open = False
        with self.lock:
            for end in self.sockets:
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
            self.sockets.clear()

    def restore(self) -> None:
        self.open = True

    def stop(self) -> None:
        self.cut()
        self.stopped = True
        self.thread.join()
        self.listener.close()


@pytest.fixture
def proxied(postgres_database: str, tmp_path: Path) -> Iterator[tuple[TestClient, Proxy]]:
    url = make_url(postgres_database)
    proxy = Proxy((url.host or "127.0.0.1", url.port or 5432))
    through = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    settings = Settings(
        database_url=through, secret_key=SECRET, var_dir=tmp_path, fast_password_hashing=True
    )
    box = build(settings)
    with box.uow() as uow:
        demo.load(uow, box.hasher, box.clock.now())
        uow.commit()
    try:
        with TestClient(create_app(container=box)) as client:
            yield client, proxy
    finally:
        proxy.stop()
        box.engine.dispose()


@pytest.mark.postgres
def test_a_database_that_goes_away_answers_503_and_comes_back_without_a_restart(
    proxied: tuple[TestClient, Proxy],
) -> None:
    client, proxy = proxied
    headers = bearer(client)
    etna = {**headers, "Et-App-Key": "demo-app-key"}
    assert client.get("/health").status_code == 200
    assert client.get("/api/v1/accounts", headers=headers).status_code == 200

    proxy.cut()
    health = client.get("/health")
    assert health.status_code == 503
    assert health.headers["Retry-After"]
    native = client.get("/api/v1/accounts", headers=headers)
    assert native.status_code == 503, native.text
    assert native.headers["content-type"] == "application/problem+json"
    assert native.json()["code"] == "ServiceUnavailable"
    assert int(native.headers["Retry-After"]) >= 1
    vendor = client.post("/v1.0/allocations/simple", content="[]", headers=etna)
    assert vendor.status_code == 503, vendor.text
    assert set(vendor.json()) == {"error"}
    keyed = client.post(
        "/api/v1/ledger/deposits",
        json={"account_id": "6688", "amount": "1.00"},
        headers={**headers, "Idempotency-Key": "while-down"},
    )
    assert keyed.status_code == 503, keyed.text

    proxy.restore()
    assert client.get("/health").status_code == 200
    assert client.get("/api/v1/accounts", headers=headers).status_code == 200
