"""The ledger tables carry no per-row foreign keys (decision 0009): `allotment ledger check` finds
a posting, allocation or balance row whose account or entry does not exist, set-based, and exits
1; and migrations 0006 and 0007 take the foreign keys off a populated database and put them
back, as 0009 and 0010 rekey and reindex it both ways."""

from __future__ import annotations

from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import IntegrityError
from typer.testing import CliRunner

from allotment.adapters.database.migrate import MIGRATIONS, is_current, upgrade
from allotment.bootstrap import Container
from allotment.entrypoints.cli import app
from allotment.services.journal import ledger
from allotment.services.ports import DanglingReference

UNKNOWN_ACCOUNT = "NO-SUCH-ACCOUNT"
UNKNOWN_ENTRY = 987654321

# Rows written straight to the tables, past the repositories: a copy of a demo posting (for zero,
# so that every balance still agrees and only the reference is wrong), or an allocation of the
# demo's block 195 (its fill's entry), with one reference naming nothing.
POSTING = (
    "INSERT INTO postings (entry_id, line, account_id, kind, asset, amount, price) "
    "SELECT {entry_id}, 1000 + (SELECT count(*) FROM postings), {account_id}, kind, asset, "
    "amount - amount, price FROM postings "
    "WHERE entry_id = (SELECT min(entry_id) FROM postings) AND line = 0"
)
ALLOCATION = (
    "INSERT INTO allocations (company_id, entry_id, dialect, trade_date, account_id, "
    "source_account_id, instrument_id, side, action, quantity, price, trade_value, commission, "
    "tax, other_fees, net_amount, block_id, reference, comment, status, created_at, created_by) "
    "SELECT b.company_id, {entry_id}, b.dialect, j.trade_date, {account_id}, b.account_id, "
    "b.instrument_id, b.side, 'allocation', b.filled_quantity, f.price, b.filled_notional, "
    "b.allocated_quantity, b.allocated_quantity, b.allocated_quantity, b.filled_notional, b.id, "
    "NULL, '', 'booked', b.created_at, b.created_by "
    "FROM blocks AS b JOIN fills AS f ON f.block_id = b.id "
    "JOIN journal_entries AS j ON j.id = f.entry_id WHERE b.id = 195"
)
CASES = {
    "posting-unknown-account": (
        POSTING.format(entry_id="entry_id", account_id=":missing"),
        "postings",
        "account_id",
        UNKNOWN_ACCOUNT,
    ),
    "posting-unknown-entry": (
        POSTING.format(entry_id=":missing", account_id="account_id"),
        "postings",
        "entry_id",
        UNKNOWN_ENTRY,
    ),
    "allocation-unknown-account": (
        ALLOCATION.format(entry_id="f.entry_id", account_id=":missing"),
        "allocations",
        "account_id",
        UNKNOWN_ACCOUNT,
    ),
    "allocation-unknown-entry": (
        ALLOCATION.format(entry_id=":missing", account_id="b.account_id"),
        "allocations",
        "entry_id",
        UNKNOWN_ENTRY,
    ),
}


def _insert(connection: Connection, sql: str, missing: Any) -> int | str:
    """Run one of the INSERTs above; how the check names the new row (an allocation by its id,
    a posting by its entry and line)."""
    assert connection.execute(text(sql), {"missing": missing}).rowcount == 1
    if sql.startswith("INSERT INTO postings"):
        entry_id, line = connection.execute(
            text("SELECT entry_id, line FROM postings ORDER BY line DESC LIMIT 1")
        ).one()
        return f"{entry_id} {line}"
    row_id: int = connection.execute(text("SELECT max(id) FROM allocations")).scalar_one()
    return row_id


def _references(box: Container) -> list[DanglingReference]:
    with box.uow(write=False) as uow:
        return ledger.check_references(uow)


def _check() -> tuple[int, str]:
    """`allotment ledger check`: its exit code and its output (stdout and stderr)."""
    result = CliRunner().invoke(app, ["ledger", "check"])
    return result.exit_code, result.output


def _one_line(output: str) -> str:
    return " ".join(output.split())


def _has_row(output: str, *cells: object) -> bool:
    """Whether a line of the report's table shows every one of `cells`."""
    return any(all(str(cell) in line for cell in cells) for line in output.splitlines())


def test_a_clean_demo_ledger_has_no_dangling_references(cli_env: Container) -> None:
    assert _references(cli_env) == []
    exit_code, output = _check()
    assert exit_code == 0, output
    assert "ledger check passed" in output
    assert "balances equal their postings; every reference resolves" in output


@pytest.mark.parametrize("case", list(CASES))
def test_a_row_naming_an_unknown_account_or_entry_is_reported_and_fails_the_check(
    cli_env: Container, case: str
) -> None:
    sql, table, column, missing = CASES[case]
    with cli_env.engine.begin() as connection:
        row_id = _insert(connection, sql, missing)

    assert _references(cli_env) == [DanglingReference(table, column, row_id, str(missing))]
    exit_code, output = _check()
    assert exit_code == 1, output
    assert "ledger check failed: 1 references name rows that do not exist" in _one_line(output)
    assert _has_row(output, table, column, row_id, missing)
    assert "balances disagree" not in output


def test_a_balance_of_an_unknown_account_is_reported_by_its_key(cli_env: Container) -> None:
    with cli_env.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO balances (account_id, kind, asset, quantity, cost_amount) "
                "VALUES (:missing, 'cash', 'USD', '0', '0')"
            ),
            {"missing": UNKNOWN_ACCOUNT},
        )

    key = f"{UNKNOWN_ACCOUNT} cash USD"
    assert _references(cli_env) == [
        DanglingReference("balances", "account_id", key, UNKNOWN_ACCOUNT)
    ]
    exit_code, output = _check()
    assert exit_code == 1, output
    assert _has_row(output, "balances", "account_id", key)
    assert "balances disagree" not in output


def test_the_check_lists_the_first_twenty_and_counts_them_all(cli_env: Container) -> None:
    with cli_env.engine.begin() as connection:
        for n in range(25):
            _insert(connection, CASES["posting-unknown-account"][0], f"{UNKNOWN_ACCOUNT}-{n:02}")

    assert len(_references(cli_env)) == 25
    exit_code, output = _check()
    assert exit_code == 1, output
    assert "ledger check failed: 25 references name rows that do not exist" in _one_line(output)
    assert "... and 5 more, not listed" in output
    listed = [n for n in range(25) if f"{UNKNOWN_ACCOUNT}-{n:02}" in output]
    assert listed == list(range(20))


# Migration 0006 ---------------------------------------------------------------------------------
LEDGER_REFERENCES = {
    "postings": {("entry_id", "journal_entries"), ("account_id", "accounts")},
    "allocations": {
        ("company_id", "companies"),
        ("entry_id", "journal_entries"),
        ("account_id", "accounts"),
        ("source_account_id", "accounts"),
        ("instrument_id", "instruments"),
        ("block_id", "blocks"),
    },
    "journal_entries": {("company_id", "companies")},
    "balances": {("account_id", "accounts")},
}
KEPT = {("journal_entries", "reverses_entry_id", "journal_entries")}


def _foreign_keys(engine: Engine) -> set[tuple[str, str, str]]:
    found = inspect(engine)
    return {
        (table, fk["constrained_columns"][0], fk["referred_table"])
        for table in LEDGER_REFERENCES
        for fk in found.get_foreign_keys(table)
    }


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _downgrade(engine: Engine, target: str) -> None:
    config = _config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, target)


def _below(revision: str) -> str:
    """The target undoing `revision` and whatever its branch built on it since, and no other
    branch: `revision@-n`, n counted down from its branch's head."""
    script = ScriptDirectory.from_config(_config())
    for head in script.get_heads():
        steps, current = 1, script.get_revision(head)
        while current is not None and current.revision != "0001":
            if current.revision == revision:
                return f"{revision}@-{steps}"
            steps += 1
            current = script.get_revision(current.down_revision)  # type: ignore[arg-type]
    raise LookupError(revision)


def _without_0006(engine: Engine) -> None:
    """Down to 0001 on the ledger's branch (0007 and 0009, which build on 0006, go first)."""
    _downgrade(engine, _below("0006"))


def test_0006_takes_the_foreign_keys_off_a_populated_database_and_puts_them_back(
    demo_container: Container,
) -> None:
    engine = demo_container.engine
    restored = KEPT | {(t, c, r) for t, refs in LEDGER_REFERENCES.items() for c, r in refs}
    assert _foreign_keys(engine) == KEPT
    try:
        _without_0006(engine)
        assert _foreign_keys(engine) == restored
        assert not is_current(engine)
    finally:
        upgrade(engine)
    assert _foreign_keys(engine) == KEPT
    assert is_current(engine)
    assert _references(demo_container) == []


def test_0006_cannot_be_undone_while_a_row_dangles(demo_container: Container) -> None:
    engine = demo_container.engine
    with engine.begin() as connection:
        _insert(connection, CASES["posting-unknown-account"][0], UNKNOWN_ACCOUNT)
    try:
        with pytest.raises((RuntimeError, IntegrityError)):
            _without_0006(engine)
    finally:
        upgrade(engine)
    assert _foreign_keys(engine) == KEPT
    assert is_current(engine)


def test_0007_takes_the_balances_foreign_key_off_and_puts_it_back(
    demo_container: Container,
) -> None:
    engine = demo_container.engine
    try:
        _downgrade(engine, _below("0007"))
        assert _foreign_keys(engine) == KEPT | {("balances", "account_id", "accounts")}
    finally:
        upgrade(engine)
    assert _foreign_keys(engine) == KEPT
    assert is_current(engine)
    with demo_container.uow(write=False) as uow:
        assert ledger.check_ledger(uow) == []


def _postings_in_order(engine: Engine, order: str) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        return [
            tuple(row)
            for row in connection.execute(
                text(f"SELECT entry_id, account_id, kind, asset, amount FROM postings {order}")
            )
        ]


def test_0009_keys_postings_by_entry_and_line_keeping_their_order_both_ways(
    demo_container: Container,
) -> None:
    engine = demo_container.engine
    keyed = _postings_in_order(engine, "ORDER BY entry_id, line")
    assert keyed
    try:
        _downgrade(engine, _below("0009"))
        assert _postings_in_order(engine, "ORDER BY id") == keyed
        with engine.begin() as connection:  # the sequence follows the copied ids
            connection.execute(
                text(
                    "INSERT INTO postings (entry_id, account_id, kind, asset, amount) "
                    "VALUES (1, 'X', 'cash', 'USD', '0')"
                )
            )
            assert connection.execute(text("SELECT max(id) FROM postings")).scalar_one() == (
                len(keyed) + 1
            )
            connection.execute(text("DELETE FROM postings WHERE account_id = 'X'"))
    finally:
        upgrade(engine)
    assert is_current(engine)
    assert _postings_in_order(engine, "ORDER BY entry_id, line") == keyed
    with demo_container.uow(write=False) as uow:
        assert ledger.check_ledger(uow) == []


def _ledger_indexes(engine: Engine) -> set[str]:
    found = inspect(engine)
    return {
        index["name"]
        for table in ("postings", "allocations")
        for index in found.get_indexes(table)
        if index["name"] is not None
    }


def _balances_clustered(engine: Engine) -> bool:
    """SQLite: is `balances` a WITHOUT ROWID table (clustered on its key)?"""
    with engine.connect() as connection:
        sql = connection.execute(
            text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'balances'")
        ).scalar_one()
    return "WITHOUT ROWID" in sql.upper()


def test_0010_lightens_the_ledger_indexes_and_puts_them_back(
    demo_container: Container,
) -> None:
    engine = demo_container.engine
    sqlite = engine.dialect.name == "sqlite"
    # 0010's lighter indexes, keyed by id since 0024.
    lighter = {"ix_postings_account_entry", "ix_allocations_account_keyset"}
    with demo_container.uow(write=False) as uow:
        before = dict(uow.ledger.iter_balances())
    assert before
    assert lighter <= _ledger_indexes(engine)
    assert {"ix_postings_account_asset", "ix_allocations_block_id"}.isdisjoint(
        _ledger_indexes(engine)
    )
    assert not sqlite or _balances_clustered(engine)
    try:
        _downgrade(engine, _below("0010"))
        indexes = _ledger_indexes(engine)
        assert {"ix_postings_account_asset", "ix_allocations_block_id"} <= indexes
        assert "ix_postings_account_id" not in indexes
        assert not sqlite or not _balances_clustered(engine)
    finally:
        upgrade(engine)
    assert is_current(engine)
    assert lighter <= _ledger_indexes(engine)
    assert not sqlite or _balances_clustered(engine)
    with demo_container.uow(write=False) as uow:
        assert dict(uow.ledger.iter_balances()) == before
        assert ledger.check_ledger(uow) == []


def test_0024_keys_the_account_indexes_by_id_and_puts_the_plain_ones_back(
    demo_container: Container,
) -> None:
    engine = demo_container.engine
    paged = {"ix_postings_account_entry", "ix_allocations_account_keyset"}
    plain = {"ix_postings_account_id", "ix_allocations_account_id"}
    indexes = _ledger_indexes(engine)
    assert paged <= indexes and plain.isdisjoint(indexes)
    try:
        _downgrade(engine, _below("0024"))
        indexes = _ledger_indexes(engine)
        assert plain <= indexes and paged.isdisjoint(indexes)
    finally:
        upgrade(engine)
    assert is_current(engine)
    assert paged <= _ledger_indexes(engine)
    with demo_container.uow(write=False) as uow:
        assert ledger.check_ledger(uow) == []
