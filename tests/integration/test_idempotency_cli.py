"""`allotment idempotency show KEY` and `forget KEY`: what a key holds, per company, and
forgetting it so that its next request runs as new."""

from __future__ import annotations

from typer.testing import CliRunner

from allotment.bootstrap import Container
from allotment.entrypoints.cli import app
from tests.e2e.test_auth_companies import _second_company


def _companies(box: Container) -> tuple[int, int]:
    _second_company(box)
    with box.uow(write=False) as uow:
        other = uow.identity.company_by_name("Other Broker")
    assert other is not None
    return 1, other.id


def _claim(box: Container, company_id: int, key: str, done: bool) -> None:
    now = box.clock.now()
    with box.uow() as uow:
        assert uow.idempotency.reserve(company_id, key, "0" * 64, now, now, "token")
        if done:
            uow.idempotency.complete(company_id, key, 201, "application/json", b'{"id": 1}')
        uow.commit()


def _name(box: Container, company_id: int) -> str:
    with box.uow(write=False) as uow:
        company = uow.identity.company(company_id)
    assert company is not None
    return company.name


def test_show_lists_the_key_of_each_company_with_its_state_and_answer(cli_env: Container) -> None:
    first, second = _companies(cli_env)
    _claim(cli_env, first, "shown", done=True)
    _claim(cli_env, second, "shown", done=False)

    result = CliRunner().invoke(app, ["idempotency", "show", "shown"])
    assert result.exit_code == 0, result.output
    assert _name(cli_env, first) in result.output and _name(cli_env, second) in result.output
    assert "done" in result.output and "in_progress" in result.output
    assert "201 (9 bytes application/json)" in result.output
    assert len(result.output.strip().splitlines()) == 2

    one = CliRunner().invoke(
        app,
        ["idempotency", "show", "shown", "--company", _name(cli_env, second)],
        env={"COLUMNS": "200"},
    )
    assert one.exit_code == 0, one.output
    assert "in_progress" in one.output and "done" not in one.output


def test_forget_removes_the_key_so_that_its_next_request_runs_as_new(cli_env: Container) -> None:
    first, second = _companies(cli_env)
    _claim(cli_env, first, "forgotten", done=True)
    _claim(cli_env, second, "forgotten", done=True)

    result = CliRunner().invoke(
        app, ["idempotency", "forget", "forgotten", "--company", _name(cli_env, first)]
    )
    assert result.exit_code == 0, result.output
    with cli_env.uow(write=False) as uow:
        assert uow.idempotency.get(first, "forgotten") is None
        assert uow.idempotency.get(second, "forgotten") is not None


def test_an_unknown_key_or_company_is_one_line_and_exit_3(cli_env: Container) -> None:
    for args in (["show", "nobody-has-it"], ["forget", "x", "--company", "No Such Company"]):
        result = CliRunner().invoke(app, ["idempotency", *args])
        assert result.exit_code == 3, result.output
        assert len(result.output.strip().splitlines()) == 1
