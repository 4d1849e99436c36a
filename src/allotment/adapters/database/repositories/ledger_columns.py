"""Entries of one shape written from their columns (`domain.entry_columns`): a uniform batch's
entries and postings go to the database without a row object per posting built first.

A column is either a list (one value per row) or `Same` (one value for every row). On
PostgreSQL the rows are zipped from the columns as COPY takes them, on the writing thread
(`behind`); on SQLite a value shared by every row is written once into the statement and only
the others are bound. Small batches take the ordinary bulk insert.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from itertools import chain, repeat
from typing import Any, NamedTuple

from sqlalchemy import Connection, Table

from allotment.adapters import metrics
from allotment.adapters.database import behind, pipelined
from allotment.adapters.database import tables as t
from allotment.adapters.database.bulk import (
    COPY_THRESHOLD,
    FOLD_THRESHOLD,
    ROWS_PER_STATEMENT,
    copy_rows,
    copy_value,
    insert_values,
    sqlite_decimal_texts,
    sqlite_literal,
)
from allotment.domain.entry_columns import EntryColumns

ENTRY_COLUMNS = (
    "id",
    "company_id",
    "entry_type",
    "description",
    "trade_date",
    "created_at",
    "created_by",
    "dialect",
    "reverses_entry_id",
)
POSTING_COLUMNS = ("entry_id", "line", "account_id", "kind", "asset", "amount", "price")


class Same(NamedTuple):
    """A column holding one value in every row."""

    value: Any


Column = list[Any] | Same
Part = tuple[Sequence[Column], int]
"""Columns in a table's order, and their number of rows."""


class LedgerColumnWrites:
    """What `SqlLedgerRepository` writes from columns."""

    _db: Connection

    def add_entry_columns(
        self,
        company_id: int,
        entries: EntryColumns,
        trade_date: date,
        created_at: datetime,
        created_by: str,
        dialect: str,
        ids: Sequence[int],
    ) -> None:
        """Write the entries (with their reserved ids, one per entry) and their postings."""
        if len(ids) != entries.count:
            raise ValueError(f"{entries.count} entries, {len(ids)} ids")
        if not entries.count:
            return
        metrics.entries_written(self._db, entries.count, dialect)
        shared = (company_id, entries.entry_type, entries.description, trade_date, created_at)
        entry_columns: list[Column] = [list(ids), *map(Same, shared)]
        entry_columns += [Same(created_by), Same(dialect), Same(None)]
        insert_columns(self._db, t.journal_entries, ENTRY_COLUMNS, [(entry_columns, len(ids))])
        parts: list[Part] = []
        for line in entries.lines:
            rows = list(ids) if line.rows is None else list(map(ids.__getitem__, line.rows))
            account = Same(line.account) if isinstance(line.account, str) else line.account
            columns: list[Column] = [rows, Same(line.number), account, Same(line.kind.value)]
            columns += [Same(line.asset), line.amounts, Same(line.price)]
            parts.append((columns, len(rows)))
        insert_columns(self._db, t.postings, POSTING_COLUMNS, parts)


def insert_columns(
    connection: Connection, table: Table, names: Sequence[str], parts: Sequence[Part]
) -> None:
    """Insert the rows of every part (see the module docstring). A list of Decimals goes as it
    is; any other list holds values its column type binds as they are (ids, text)."""
    total = sum(size for _, size in parts)
    postgres = connection.dialect.name == "postgresql"
    if total < (COPY_THRESHOLD if postgres else FOLD_THRESHOLD) or not _plain(
        connection, table, names, parts
    ):
        rows = [row for columns, size in parts for row in _rows(columns, size)]
        insert_values(connection, table, names, rows)
        return
    if postgres:
        copied = [
            (
                [
                    Same(copy_value(connection, table, name, column.value))
                    if isinstance(column, Same)
                    else column
                    for name, column in zip(names, columns, strict=True)
                ],
                size,
            )
            for columns, size in parts
        ]
        lazy = chain.from_iterable(_rows(columns, size) for columns, size in copied)
        pipelined.leave(connection)
        behind.later(connection, lambda: copy_rows(connection, table.name, names, lazy))
        return
    for columns, size in parts:
        _sqlite_part(connection, table, names, columns, size)


def _rows(columns: Sequence[Column], size: int) -> Iterator[tuple[Any, ...]]:
    return zip(*(repeat(c.value, size) if isinstance(c, Same) else c for c in columns), strict=True)


def _plain(
    connection: Connection, table: Table, names: Sequence[str], parts: Sequence[Part]
) -> bool:
    """Does every list hold values the driver takes as they are: only Decimals, or values of
    a column type that binds nothing (ids, text)?"""
    dialect = connection.dialect
    for columns, _ in parts:
        for name, column in zip(names, columns, strict=True):
            if isinstance(column, Same):
                continue
            kinds = set(map(type, column))
            if kinds == {Decimal}:
                continue
            if kinds & {Decimal, float} or table.c[name].type.bind_processor(dialect) is not None:
                return False
    return True


def _sqlite_part(
    connection: Connection, table: Table, names: Sequence[str], columns: Sequence[Column], size: int
) -> None:
    """One part on SQLite: the shared values written into the statement (as SQLite quotes
    them), the others bound, `ROWS_PER_STATEMENT` rows a statement."""
    dialect = connection.dialect
    marks: list[str] = []
    varying: list[Sequence[Any]] = []
    for name, column in zip(names, columns, strict=True):
        if isinstance(column, Same):
            bind = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            value = column.value if bind is None else bind(column.value)
            marks.append(sqlite_literal(connection, value))
        else:
            marks.append("?")
            decimals = column and column[0].__class__ is Decimal
            varying.append(sqlite_decimal_texts(column) if decimals else column)
    column_list = ", ".join(f'"{name}"' for name in names)
    head = f'INSERT INTO "{table.name}" ({column_list}) VALUES '
    row = f"({', '.join(marks)})"
    flat = list(chain.from_iterable(zip(*varying, strict=True)))
    per, width = ROWS_PER_STATEMENT, len(varying)
    whole = size - size % per
    step = per * width
    if whole:
        connection.exec_driver_sql(
            head + ", ".join([row] * per),
            [tuple(flat[start : start + step]) for start in range(0, whole * width, step)],
        )
    if whole < size:
        connection.exec_driver_sql(
            head + ", ".join([row] * (size - whole)), tuple(flat[whole * width :])
        )
