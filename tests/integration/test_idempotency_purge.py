"""`allotment idempotency purge` forgets the stored answers of idempotent writes older than
the retention (seven days unless told), of every company, and keeps the recent ones."""

from __future__ import annotations

from datetime import timedelta

from typer.testing import CliRunner

from allotment.bootstrap import Container
from allotment.entrypoints.cli import app


def _claim(box: Container, company_id: int, key: str, age: timedelta) -> None:
    with box.uow() as uow:
        assert uow.idempotency.reserve(company_id, key, "0" * 64, box.clock.now() - age)
        uow.idempotency.complete(company_id, key, 201, "application/json", b"{}")
        uow.commit()


def _kept(box: Container) -> list[tuple[int, str]]:
    return [
        (company_id, key)
        for company_id in (1, 2)
        for key in ("ancient", "last-week", "yesterday", "just-now")
        if _exists(box, company_id, key)
    ]


def _exists(box: Container, company_id: int, key: str) -> bool:
    with box.uow(write=False) as uow:
        return uow.idempotency.get(company_id, key) is not None


def test_purge_forgets_the_keys_older_than_the_retention_and_keeps_the_others(
    cli_env: Container,
) -> None:
    for company_id in (1, 2):
        _claim(cli_env, company_id, "ancient", timedelta(days=400))
        _claim(cli_env, company_id, "last-week", timedelta(days=7, hours=1))
        _claim(cli_env, company_id, "yesterday", timedelta(days=1))
        _claim(cli_env, company_id, "just-now", timedelta(0))

    result = CliRunner().invoke(app, ["idempotency", "purge"])
    assert result.exit_code == 0, result.output
    assert "removed 4 idempotency keys claimed before" in result.output
    assert _kept(cli_env) == [(c, k) for c in (1, 2) for k in ("yesterday", "just-now")]

    result = CliRunner().invoke(app, ["idempotency", "purge", "--keep-days", "0.5"])
    assert result.exit_code == 0, result.output
    assert "removed 2 idempotency keys" in result.output
    assert _kept(cli_env) == [(1, "just-now"), (2, "just-now")]


def test_purge_refuses_a_retention_shorter_than_an_hour(cli_env: Container) -> None:
    _claim(cli_env, 1, "just-now", timedelta(minutes=5))
    result = CliRunner().invoke(app, ["idempotency", "purge", "--keep-days", "0.01"])
    assert result.exit_code == 2, result.output
    assert "keep idempotency keys for at least one hour" in result.output
    assert _exists(cli_env, 1, "just-now")
