"""Operations commands: `allotment db current | history | upgrade | downgrade | backup` and the
report of `allotment ledger check`."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from allotment.adapters.database import backup as backups
from allotment.adapters.database import tables as t
from allotment.adapters.database.migrate import head_revisions
from allotment.bootstrap import Container
from allotment.entrypoints.cli import app


def _count(box: Container, table: object) -> int:
    with box.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_db_current_names_every_head_and_says_the_schema_is_up_to_date(
    cli_env: Container,
) -> None:
    result = CliRunner().invoke(app, ["db", "current"])

    assert result.exit_code == 0, result.output
    for head in head_revisions():
        assert head in result.output
    assert "up to date" in result.output


def test_db_history_lists_every_migration_and_marks_the_applied_ones(cli_env: Container) -> None:
    result = CliRunner().invoke(app, ["db", "history"])

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    foundation = next(line for line in lines if " 0001 <- base" in line)
    assert foundation.startswith("*")
    assert len([line for line in lines if line.startswith("*")]) >= len(head_revisions())


def test_db_downgrade_undoes_one_branch_and_upgrade_brings_it_back(cli_env: Container) -> None:
    newest = max(head_revisions())
    below = f"{newest}@-1"

    down = CliRunner().invoke(app, ["db", "downgrade", below])
    behind = CliRunner().invoke(app, ["db", "current"])
    up = CliRunner().invoke(app, ["db", "upgrade"])
    current = CliRunner().invoke(app, ["db", "current"])

    assert down.exit_code == 0, down.output
    assert behind.exit_code == 1 and "not current" in behind.output
    assert newest not in behind.output.splitlines()[0]
    assert up.exit_code == 0, up.output
    assert current.exit_code == 0 and "up to date" in current.output


def test_db_downgrade_to_an_unknown_revision_is_one_line_and_exit_2(cli_env: Container) -> None:
    result = CliRunner().invoke(app, ["db", "downgrade", "nosuchrevision"])

    assert result.exit_code == 2
    assert "cannot downgrade to nosuchrevision" in result.output


def test_db_backup_of_sqlite_is_a_consistent_copy_taken_while_a_connection_writes(
    cli_env: Container, tmp_path: Path
) -> None:
    if cli_env.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's online backup")
    output = tmp_path / "copies" / "allotment-backup.db"
    entries = _count(cli_env, t.journal_entries)
    # An open writer's uncommitted work stays out of the copy; the WAL's committed pages are in.
    with cli_env.engine.connect() as writer:
        writer.execute(text("UPDATE companies SET name = name"))
        result = CliRunner().invoke(app, ["db", "backup", "--output", str(output)])
        writer.rollback()

    assert result.exit_code == 0, result.output
    assert "backed up" in result.output
    copy = sqlite3.connect(output)
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert copy.execute("SELECT count(*) FROM journal_entries").fetchone() == (entries,)
        heads = {row[0] for row in copy.execute("SELECT version_num FROM alembic_version")}
        assert heads == set(head_revisions())
    finally:
        copy.close()


def test_db_backup_of_postgresql_runs_pg_dump_into_a_restorable_file(
    cli_env: Container, tmp_path: Path
) -> None:
    if cli_env.engine.dialect.name != "postgresql":
        pytest.skip("pg_dump")
    output = tmp_path / "allotment.dump"

    result = CliRunner().invoke(app, ["db", "backup", "--output", str(output)])

    if "pg_dump is not installed" in result.output:
        assert result.exit_code == 3 and "pg_dump --format=custom" in result.output
        return
    assert result.exit_code == 0, result.output
    assert output.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format


def test_the_pg_dump_command_carries_no_password_and_names_the_database() -> None:
    command = backups.pg_dump_command(
        "postgresql+psycopg://ops:s3cret@db.internal:5433/allotment", Path("nightly.dump")
    )

    assert "s3cret" not in command.shown()
    assert command.shown() == (
        "PGPASSWORD=... pg_dump --format=custom --no-owner --file=nightly.dump "
        "--dbname=postgresql://ops@db.internal:5433/allotment"
    )
    assert command.password == "s3cret"


def test_ledger_check_reports_the_entries_postings_and_balances_it_read(
    cli_env: Container,
) -> None:
    entries = _count(cli_env, t.journal_entries)
    postings = _count(cli_env, t.postings)
    balances = _count(cli_env, t.balances)

    result = CliRunner().invoke(app, ["ledger", "check"])

    assert result.exit_code == 0, result.output
    assert f"read {entries} journal entries, {postings} postings, {balances} balances" in (
        " ".join(result.output.split())
    )
    assert entries > 0 and postings > entries
