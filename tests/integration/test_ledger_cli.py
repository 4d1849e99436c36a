"""`allotment ledger check` recomputes every balance from the journal: exit 0 when they agree,
exit 1 with a report naming each balance that does not."""

from __future__ import annotations

from sqlalchemy import text
from typer.testing import CliRunner

from allotment.bootstrap import Container
from allotment.entrypoints.cli import app


def test_ledger_check_passes_on_the_demo_ledger(cli_env: Container) -> None:
    result = CliRunner().invoke(app, ["ledger", "check"])
    assert result.exit_code == 0, result.output
    assert "ledger check passed" in result.output


def test_ledger_check_fails_with_a_report_when_a_balance_row_was_changed_behind_its_back(
    cli_env: Container,
) -> None:
    with cli_env.engine.begin() as connection:
        changed = connection.execute(
            text(
                "UPDATE balances SET quantity = :wrong "
                "WHERE account_id = '6688' AND kind = 'cash' AND asset = 'USD'"
            ),
            {"wrong": "100000.01"},
        )
        assert changed.rowcount == 1
    result = CliRunner().invoke(app, ["ledger", "check"])
    assert result.exit_code == 1, result.output
    assert "ledger check failed: 1 balances disagree" in result.output
    report = " ".join(result.output.split())
    assert "6688" in report
    assert "100000.01" in report
    assert "100000.00" in report
