"""Shared fixtures: a migrated database on SQLite and (when ALLOTMENT_TEST_POSTGRES_URL is set)
on PostgreSQL, a wired container, the demo data set and an HTTP client.

Each PostgreSQL test session creates a database of its own (so that parallel runs never meet)
and empties every table between tests; each SQLite test gets a copy of a migrated file.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from allotment.adapters.database.engine import make_engine
from allotment.adapters.database.migrate import upgrade
from allotment.bootstrap import Container, build
from allotment.entrypoints.http.app import create_app
from allotment.services import demo
from allotment.settings import Settings

POSTGRES_URL = os.environ.get("ALLOTMENT_TEST_POSTGRES_URL", "")
SECRET = "test-secret-key-0123456789-abcdefghijklmnop"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    if not POSTGRES_URL:
        pytest.skip("ALLOTMENT_TEST_POSTGRES_URL is not set")
    admin_url = make_url(POSTGRES_URL).set(drivername="postgresql+psycopg")
    name = f"allotment_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_postgres(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        names = [
            row[0]
            for row in connection.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename <> 'alembic_version'"
                )
            )
        ]
        if names:
            quoted = ", ".join(f'"{name}"' for name in names)
            connection.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "allotment.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_database")
    _truncate_postgres(url)
    return url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        secret_key=SECRET,
        var_dir=tmp_path / "var",
        fast_password_hashing=True,
        max_body_bytes=2 * 1024 * 1024,
    )


@pytest.fixture
def container(settings: Settings) -> Iterator[Container]:
    box = build(settings)
    yield box
    box.engine.dispose()


@pytest.fixture
def demo_container(container: Container) -> Container:
    with container.uow() as uow:
        demo.load(uow, container.hasher, container.clock.now())
        uow.commit()
    return container


@pytest.fixture
def client(demo_container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container=demo_container)) as test_client:
        yield test_client


@pytest.fixture
def cli_env(
    demo_container: Container, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Container:
    """The demo database, and the environment that points the CLI at it."""
    monkeypatch.setenv("ALLOTMENT_DATABASE_URL", database_url)
    monkeypatch.setenv("ALLOTMENT_SECRET_KEY", SECRET)
    monkeypatch.setenv("ALLOTMENT_VAR_DIR", str(tmp_path / "cli-var"))
    monkeypatch.setenv("ALLOTMENT_LOG_LEVEL", "WARNING")
    return demo_container


def bearer(client: TestClient, username: str = "demo", password: str = "demo") -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
def demo_headers(client: TestClient) -> dict[str, str]:
    return bearer(client)
