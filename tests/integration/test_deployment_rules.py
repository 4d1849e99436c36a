"""`allotment serve` refuses a deployment that cannot work, in one line: several workers on
SQLite (one writer), PostgreSQL without a shared signing secret (tokens would not cross hosts).
Several workers on PostgreSQL share their metrics through one directory."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from allotment.bootstrap import Container
from allotment.entrypoints.cli import app as cli
from tests.conftest import SECRET
from tests.system import cluster as system_cluster

ROOT = Path(__file__).resolve().parents[2]


def _no_server(*args: object, **kwargs: object) -> None:
    raise AssertionError("the server must not start")


def _one_line(output: str) -> str:
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    return lines[0]


def test_serve_refuses_several_workers_on_sqlite_because_sqlite_has_one_writer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("uvicorn.run", _no_server)
    env = {
        "ALLOTMENT_DATABASE_URL": f"sqlite:///{tmp_path / 'allotment.db'}",
        "ALLOTMENT_SECRET_KEY": SECRET,
    }

    result = CliRunner().invoke(cli, ["serve", "--workers", "4"], env=env)

    assert result.exit_code == 2
    assert "SQLite has one writer" in _one_line(result.output)
    assert not (tmp_path / "allotment.db").exists()  # refused before anything was made


def test_serve_refuses_postgresql_without_a_shared_secret_and_generates_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("uvicorn.run", _no_server)
    env = {
        "ALLOTMENT_DATABASE_URL": "postgresql://allotment@db.invalid/allotment",
        "ALLOTMENT_SECRET_KEY": None,
        "ALLOTMENT_VAR_DIR": str(tmp_path / "var"),
    }

    result = CliRunner().invoke(cli, ["serve"], env=env)

    assert result.exit_code == 2
    line = _one_line(result.output)
    assert "ALLOTMENT_SECRET_KEY" in line and "refused by the next" in line
    assert not (tmp_path / "var" / "secret_key").exists()


def test_several_workers_on_postgresql_start_with_one_metrics_directory(
    cli_env: Container, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if cli_env.engine.dialect.name != "postgresql":
        pytest.skip("several workers need PostgreSQL")
    started: dict[str, Any] = {}
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    monkeypatch.setattr(
        "uvicorn.run",
        lambda *a, **kw: started.update(kw, metrics=os.environ.get("PROMETHEUS_MULTIPROC_DIR")),
    )

    result = CliRunner().invoke(cli, ["serve", "--workers", "3"])

    assert result.exit_code == 0, result.output
    assert started["workers"] == 3
    metrics = Path(started["metrics"])
    assert metrics.is_dir() and not any(metrics.iterdir())
    assert metrics.is_relative_to(tmp_path)


def _upstream_idle_seconds(conf: str) -> int:
    match = re.search(r"upstream allotment \{[^}]*?keepalive_timeout (\d+)s;", conf)
    assert match, "an upstream without an explicit keepalive_timeout keeps nginx's default"
    return int(match.group(1))


@pytest.mark.parametrize(
    "conf",
    [
        (ROOT / "deploy" / "nginx" / "allotment.conf").read_text(),
        (ROOT / "deploy" / "nginx" / "compose.conf").read_text(),
        system_cluster.NGINX_CONF.format(user="", root="/", servers="server app:1;", port=1),
    ],
    ids=["allotment.conf", "compose.conf", "system test"],
)
def test_the_proxy_closes_an_idle_connection_to_the_app_before_the_app_does(
    conf: str, cli_env: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Otherwise a POST nginx sends on a connection the app is closing is answered 502."""
    started: dict[str, Any] = {}
    monkeypatch.setattr("uvicorn.run", lambda *a, **kw: started.update(kw))

    result = CliRunner().invoke(cli, ["serve"])

    assert result.exit_code == 0, result.output
    assert started["timeout_keep_alive"] > _upstream_idle_seconds(conf)
