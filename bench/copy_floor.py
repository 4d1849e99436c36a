"""The floor of a bulk write on PostgreSQL: the rows one transaction wrote, copied into the same
tables of a freshly migrated database with nothing else around them.

A benchmark books something (a fill, a batch) in one transaction, then asks `copy_floor` for the
time PostgreSQL takes to COPY exactly the rows that transaction inserted or updated. The rows
are found by their `xmin` (the id of the transaction that wrote them) and exported in COPY's
binary format. The fresh database first gets every other row (what was there before, untimed,
foreign-key triggers off), then the transaction's rows in one timed transaction, parents before
children (indexes and constraints included, as the real tables have them). Its ratio to the
benchmark's own figure says how much of the time is work around the writes rather than the
writes themselves.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from allotment.adapters.database.engine import make_engine
from allotment.adapters.database.migrate import upgrade
from allotment.adapters.database.tables import metadata


@dataclass(frozen=True)
class Floor:
    rows: int
    seconds: float


def copy_floor(url: str, admin_url: str, anchor_table: str = "journal_entries") -> Floor:
    """The COPY time of the rows written by the transaction that wrote `anchor_table`'s newest
    row."""
    before, written = _export(url, anchor_table)
    with postgres_database(admin_url) as floor_url:
        engine = make_engine(floor_url)
        upgrade(engine)
        raw = engine.raw_connection()
        try:
            with raw.cursor() as cursor:  # type: ignore[attr-defined]
                cursor.execute("SET session_replication_role = replica")
                _load(cursor, before)
                cursor.execute("SET session_replication_role = DEFAULT")
            raw.commit()
            started = time.perf_counter()
            with raw.cursor() as cursor:  # type: ignore[attr-defined]
                _load(cursor, written)
            raw.commit()
            seconds = time.perf_counter() - started
        finally:
            raw.close()
            engine.dispose()
    return Floor(sum(count for _, count, _ in written), seconds)


Exported = list[tuple[str, int, bytes]]


def _load(cursor: Any, exported: Exported) -> None:
    for table, _, data in exported:
        with cursor.copy(f'COPY "{table}" FROM STDIN (FORMAT BINARY)') as copy:
            copy.write(data)


def _export(url: str, anchor_table: str) -> tuple[Exported, Exported]:
    """Each table's other rows and its rows whose xmin is that transaction's, in COPY's binary
    format."""
    engine = make_engine(url)
    raw = engine.raw_connection()
    before: Exported = []
    written: Exported = []
    try:
        with raw.cursor() as cursor:  # type: ignore[attr-defined]
            cursor.execute(f'SELECT xmin::text FROM "{anchor_table}" ORDER BY id DESC LIMIT 1')
            (xid,) = cursor.fetchone()
            cursor.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version' ORDER BY tablename"
            )
            tables = _parents_first([row[0] for row in cursor.fetchall()])
            for table in tables:
                for found, test in ((written, "="), (before, "<>")):
                    where = f"xmin::text {test} '{int(xid)}'"
                    cursor.execute(f'SELECT count(*) FROM "{table}" WHERE {where}')
                    (count,) = cursor.fetchone()
                    if count:
                        rows = f'SELECT * FROM "{table}" WHERE {where}'
                        with cursor.copy(f"COPY ({rows}) TO STDOUT (FORMAT BINARY)") as copy:
                            data = b"".join(bytes(block) for block in copy)
                        found.append((table, count, data))
    finally:
        raw.close()
        engine.dispose()
    return before, written


def _parents_first(names: list[str]) -> list[str]:
    order = {table.name: n for n, table in enumerate(metadata.sorted_tables)}
    return sorted(names, key=lambda name: (order.get(name, len(order)), name))


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A database of its own on the server `admin_url` names, dropped afterwards."""
    admin = make_url(admin_url).set(drivername="postgresql+psycopg")
    name = f"allotment_bench_{uuid.uuid4().hex[:12]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()
