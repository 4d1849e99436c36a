"""Bulk writes without a round trip per row: ids reserved in one statement, rows written with
COPY on PostgreSQL and executemany on SQLite (PERFORMANCE.md)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table, func, select, text

COPY_THRESHOLD = 200


def reserve_ids(connection: Connection, table: Table, count: int) -> list[int]:
    """`count` fresh primary keys for `table`, in one round trip.

    On PostgreSQL they come from the table's sequence. On SQLite the caller holds the write lock
    (transactions begin IMMEDIATE), so the next ids after the current maximum are free.
    """
    if count == 0:
        return []
    if connection.dialect.name == "postgresql":
        rows = connection.execute(
            text(
                "SELECT nextval(pg_get_serial_sequence(:table, 'id')) "
                "FROM generate_series(1, :count)"
            ),
            {"table": table.name, "count": count},
        )
        return [row[0] for row in rows]
    highest = connection.execute(select(func.max(table.c.id))).scalar_one() or 0
    return list(range(highest + 1, highest + 1 + count))


def insert_rows(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert many rows: COPY on PostgreSQL for large batches, executemany otherwise."""
    if not rows:
        return
    if connection.dialect.name == "postgresql" and len(rows) >= COPY_THRESHOLD:
        _copy_rows(connection, table, rows)
        return
    connection.execute(table.insert(), list(rows))


def _copy_rows(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    columns = list(rows[0].keys())
    processors = [_bind_processor(connection, table, name) for name in columns]
    column_list = ", ".join(f'"{name}"' for name in columns)
    raw = connection.connection.driver_connection
    assert raw is not None
    with raw.cursor().copy(f'COPY "{table.name}" ({column_list}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(
                [
                    proc(row[name]) if proc else row[name]
                    for name, proc in zip(columns, processors, strict=True)
                ]
            )


def _bind_processor(connection: Connection, table: Table, name: str) -> Any:
    column_type = table.c[name].type
    return column_type.bind_processor(connection.dialect)
