"""ledger without row foreign keys: postings, allocations and journal entries

Revision ID: 0006
Revises: 0001
Written by hand. Bulk booking writes these append-only tables hundreds of thousands of rows at a
time, and both databases checked their foreign keys row by row; `allotment ledger check` checks
the same references set-based instead (docs/decisions/0009). Columns, indexes and unique
constraints stay as they are; `journal_entries.reverses_entry_id` keeps its foreign key.

SQLite: batch mode ("move and copy") cannot be used here. It drops and re-creates the table, and
with `PRAGMA foreign_keys=ON` (which cannot be switched off inside the migration's transaction)
SQLite refuses to drop `journal_entries` or `allocations` while fills or block-trade orders
refer to them. A foreign key does not change how rows are stored, so the constraint clauses are
taken out of (or put back into) the stored CREATE TABLE text, as SQLite's documentation
describes for removing foreign key constraints: `writable_schema`, then `schema_version` + 1.
This is one step in the same transaction, and no rows are copied.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from alembic import op
from sqlalchemy import Connection

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> (column, referred table); every reference is to the referred table's `id`.
DROPPED: dict[str, list[tuple[str, str]]] = {
    "postings": [("entry_id", "journal_entries"), ("account_id", "accounts")],
    "allocations": [
        ("company_id", "companies"),
        ("entry_id", "journal_entries"),
        ("account_id", "accounts"),
        ("source_account_id", "accounts"),
        ("instrument_id", "instruments"),
        ("block_id", "blocks"),
    ],
    "journal_entries": [("company_id", "companies")],
}


def _name(table: str, column: str, referred: str) -> str:
    """The name the metadata's naming convention gave the constraint in 0001."""
    return f"fk_{table}_{column}_{referred}"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        _rewrite_sqlite(bind, _without_clauses)
        return
    for table, references in DROPPED.items():
        for column, referred in references:
            op.drop_constraint(op.f(_name(table, column, referred)), table, type_="foreignkey")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        _rewrite_sqlite(bind, _with_clauses)
        _refuse_dangling_rows(bind)
        return
    for table, references in DROPPED.items():
        for column, referred in references:
            op.create_foreign_key(
                op.f(_name(table, column, referred)), table, referred, [column], ["id"]
            )


# SQLite ---------------------------------------------------------------------------------------
_QUOTE_OPEN = r'["`\[]?'
_QUOTE_CLOSE = r'["`\]]?'


def _ident(name: str) -> str:
    return _QUOTE_OPEN + re.escape(name) + _QUOTE_CLOSE


def _clause_pattern(table: str, column: str, referred: str) -> re.Pattern[str]:
    """`, CONSTRAINT fk_… FOREIGN KEY(column) REFERENCES referred (id)` and nothing after it
    but the next item or the closing parenthesis (so no ON DELETE … is left behind)."""
    return re.compile(
        r",\s*CONSTRAINT\s+"
        + _ident(_name(table, column, referred))
        + r"\s+FOREIGN\s+KEY\s*\(\s*"
        + _ident(column)
        + r"\s*\)\s*REFERENCES\s+"
        + _ident(referred)
        + r"\s*\(\s*"
        + _ident("id")
        + r"\s*\)(?=\s*[,)])",
        re.IGNORECASE,
    )


def _without_clauses(table: str, sql: str) -> str:
    for column, referred in DROPPED[table]:
        sql, found = _clause_pattern(table, column, referred).subn("", sql)
        if found != 1:
            raise RuntimeError(
                f"{table}: expected the foreign key {_name(table, column, referred)} once in "
                f"the stored schema, found it {found} times; the table is not as 0001 made it"
            )
    return sql


def _with_clauses(table: str, sql: str) -> str:
    clauses = []
    for column, referred in DROPPED[table]:
        if _clause_pattern(table, column, referred).search(sql):
            raise RuntimeError(f"{table}: {_name(table, column, referred)} is there already")
        clauses.append(
            f"CONSTRAINT {_name(table, column, referred)} "
            f"FOREIGN KEY({column}) REFERENCES {referred} (id)"
        )
    close = sql.rindex(")")
    return sql[:close].rstrip() + "".join(f", \n\t{c}" for c in clauses) + "\n" + sql[close:]


def _rewrite_sqlite(bind: Connection, edit: Callable[[str, str], str]) -> None:
    """Replace each table's stored CREATE TABLE text with `edit(table, text)`, then make every
    connection re-read the schema, and check that SQLite now sees the intended foreign keys."""
    before = {table: _foreign_keys(bind, table) for table in DROPPED}
    texts = {
        table: bind.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).scalar_one()
        for table in DROPPED
    }
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    try:
        for table, sql in texts.items():
            bind.exec_driver_sql(
                "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?",
                (edit(table, sql), table),
            )
        bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    finally:
        bind.exec_driver_sql("PRAGMA writable_schema = OFF")
    # A statement that reads the database (a PRAGMA does not) sees the new schema version and
    # re-reads the schema; a text SQLite cannot parse fails here, inside the transaction.
    bind.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar_one()
    for table, references in DROPPED.items():
        expected = before[table] ^ set(references)
        if _foreign_keys(bind, table) != expected:
            raise RuntimeError(f"{table}: the rewritten schema does not have the foreign keys")


def _foreign_keys(bind: Connection, table: str) -> set[tuple[str, str]]:
    """(column, referred table) of each foreign key SQLite sees on `table`."""
    rows = bind.exec_driver_sql(f"PRAGMA foreign_key_list({table})").all()
    return {(row[3], row[2]) for row in rows}


def _refuse_dangling_rows(bind: Connection) -> None:
    """The restored foreign keys hold for every stored row (as PostgreSQL's ADD CONSTRAINT
    checks), or the downgrade fails and its transaction rolls back."""
    for table in DROPPED:
        dangling = bind.exec_driver_sql(f"PRAGMA foreign_key_check({table})").all()
        if dangling:
            raise RuntimeError(
                f"{table}: {len(dangling)} rows refer to rows that do not exist; "
                "`allotment ledger check` lists them"
            )
