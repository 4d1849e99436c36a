"""Writing behind: on PostgreSQL a unit of work's large writes run on a thread of their own, and
every statement after them sees them; a failed one fails the unit of work, nothing of it kept.
On SQLite the same calls write at once."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from sqlalchemy import text

from allotment.adapters.database import behind
from allotment.adapters.database import tables as t
from allotment.adapters.database.bulk import COPY_THRESHOLD, driver_rows, insert_values
from allotment.bootstrap import Container
from allotment.domain.errors import Conflict

COLUMNS = ["entry_id", "line", "account_id", "kind", "asset", "amount", "price"]
ENTRY = 910_000_000


def _rows(count: int, entry_id: int = ENTRY) -> list[tuple[object, ...]]:
    return [
        (entry_id, line, f"WB-{line:05d}", "cash", "USD", Decimal(line), None)
        for line in range(count)
    ]


def _count(connection: object, entry_id: int = ENTRY) -> int:
    return int(
        connection.execute(  # type: ignore[attr-defined]
            text("SELECT count(*) FROM postings WHERE entry_id = :e"), {"e": entry_id}
        ).scalar_one()
    )


def test_a_write_behind_runs_on_its_own_thread_on_postgresql_and_at_once_on_sqlite(
    container: Container,
) -> None:
    ran_on: list[int] = []
    with container.uow() as uow:
        connection = uow.connection  # type: ignore[attr-defined]
        behind.later(connection, lambda: ran_on.append(threading.get_ident()))
        behind.settle(connection)
    postgres = container.engine.dialect.name == "postgresql"
    assert len(ran_on) == 1
    assert (ran_on[0] != threading.get_ident()) is postgres


def test_every_later_statement_sees_the_rows_written_behind(container: Container) -> None:
    many = COPY_THRESHOLD * 5
    with container.uow() as uow:
        connection = uow.connection  # type: ignore[attr-defined]
        insert_values(connection, t.postings, COLUMNS, _rows(many))
        assert _count(connection) == many  # a statement through SQLAlchemy
        insert_values(connection, t.postings, COLUMNS, _rows(many, ENTRY + 1))
        placeholder = "%s" if container.engine.dialect.name == "postgresql" else "?"
        [(found,)] = driver_rows(  # a read at the driver's level
            connection,
            f"SELECT count(*) FROM postings WHERE entry_id = {placeholder}",
            (ENTRY + 1,),
        )
        assert found == many
        insert_values(connection, t.postings, COLUMNS, _rows(many, ENTRY + 2))
        found = connection.exec_driver_sql(  # a statement in the driver's own words
            f"SELECT count(*) FROM postings WHERE entry_id = {ENTRY + 2}"
        ).scalar_one()
        assert found == many
        insert_values(connection, t.postings, COLUMNS, _rows(many, ENTRY + 3))
        uow.commit()  # the unit of work settles before it commits
    with container.uow(write=False) as uow:
        assert _count(uow.connection, ENTRY + 3) == many  # type: ignore[attr-defined]


def test_a_failed_write_behind_fails_the_unit_of_work_and_keeps_nothing(
    container: Container,
) -> None:
    many = COPY_THRESHOLD * 2
    after: list[str] = []
    with pytest.raises(Conflict), container.uow() as uow:
        connection = uow.connection  # type: ignore[attr-defined]
        insert_values(connection, t.postings, COLUMNS, _rows(many))
        insert_values(connection, t.postings, COLUMNS, _rows(many))  # the same keys again
        behind.later(connection, lambda: after.append("ran"))
        uow.commit()
    assert after == [] or container.engine.dialect.name == "sqlite"
    with container.uow() as uow:  # the pooled connection comes back without a queue
        connection = uow.connection  # type: ignore[attr-defined]
        assert _count(connection) == 0
        insert_values(connection, t.postings, COLUMNS, _rows(many))
        uow.commit()
    with container.uow(write=False) as uow:
        assert _count(uow.connection) == many  # type: ignore[attr-defined]


def test_a_copy_after_writes_sent_in_a_pipeline_leaves_it_first_and_both_are_kept(
    container: Container,
) -> None:
    """A small booking's writes leave in the driver's pipeline, which a committing unit of work
    keeps open until its COMMIT (decision 0048); COPY has no pipeline mode, so a large write
    later in the same unit of work (the demo's set-up, a bench's accounts) leaves it first."""
    many = COPY_THRESHOLD * 5
    with container.uow() as uow:
        connection = uow.connection  # type: ignore[attr-defined]
        with uow.pipelined():
            insert_values(connection, t.postings, COLUMNS, _rows(3, ENTRY + 7))
        insert_values(connection, t.postings, COLUMNS, _rows(many, ENTRY + 8))
        assert _count(connection, ENTRY + 8) == many
        uow.commit()
    with container.uow(write=False) as uow:
        connection = uow.connection  # type: ignore[attr-defined]
        assert _count(connection, ENTRY + 7) == 3
        assert _count(connection, ENTRY + 8) == many
