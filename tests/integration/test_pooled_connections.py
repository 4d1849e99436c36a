"""PostgreSQL's pooled connections (decision 0037): one the server dropped is replaced before
use, without a ping per checkout; a unit of work marked `single` runs without a transaction."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from allotment.adapters.database.engine import make_engine

pytestmark = pytest.mark.postgres


def test_a_connection_the_server_terminated_is_replaced_before_use(
    postgres_database: str,
) -> None:
    engine = make_engine(postgres_database, pool_size=1)
    try:
        with engine.connect() as connection:
            first = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        killer = make_engine(postgres_database, pool_size=1)
        with killer.connect() as other:
            assert other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first}).scalar()
            other.commit()
            # pg_terminate_backend only signals: wait until the backend has gone (and so has
            # closed its end), as a connection dropped while it sat in the pool has.
            gone = text("SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = :pid")
            deadline = time.monotonic() + 10
            while not other.execute(gone, {"pid": first}).scalar_one():
                other.commit()  # the activity view is read once per transaction
                assert time.monotonic() < deadline, "the backend did not end"
                time.sleep(0.01)
        killer.dispose()
        with engine.connect() as connection:  # the pool's one connection is dead: not handed out
            second = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        assert second != first
    finally:
        engine.dispose()


def test_a_live_pooled_connection_is_reused(postgres_database: str) -> None:
    engine = make_engine(postgres_database, pool_size=1)
    try:
        pids = set()
        for _ in range(3):
            with engine.connect() as connection:
                pids.add(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())
        assert len(pids) == 1
    finally:
        engine.dispose()


def test_a_single_unit_of_work_runs_outside_a_transaction(postgres_database: str) -> None:
    from allotment.adapters.database.uow import SqlUnitOfWorkFactory

    engine = make_engine(postgres_database)
    factory = SqlUnitOfWorkFactory(engine)
    try:
        with factory(single=True) as uow:
            inside = uow.connection.execute(text("SELECT now() = statement_timestamp()"))
            assert inside.scalar_one()  # each statement is its own transaction
        with factory(write=False) as uow:
            uow.connection.execute(text("SELECT pg_sleep(0.01)"))
            later = uow.connection.execute(text("SELECT now() = statement_timestamp()"))
            assert not later.scalar_one()  # one transaction around both statements
    finally:
        engine.dispose()
