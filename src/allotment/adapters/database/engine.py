"""Building the SQLAlchemy engine for SQLite (embedded default) or PostgreSQL."""

from __future__ import annotations

import select
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import NullPool

from allotment.adapters.database import behind


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    """An engine for the URL; SQLite gets WAL, foreign keys and writer-first transactions."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    # The connect timeout keeps a request from hanging on a database that does not answer.
    connect_args = {} if "connect_timeout" in parsed.query else {"connect_timeout": 10}
    engine = create_engine(
        url, pool_size=pool_size, max_overflow=pool_size, connect_args=connect_args
    )
    event.listen(engine, "checkout", _still_connected)
    behind.install(engine)
    return engine


def _still_connected(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """A pooled connection the server dropped (a restart, a terminated backend) is replaced
    before use, so the service recovers by itself once the database is back.

    Checked without a round trip (a ping cost one per unit of work, several per request): an
    idle connection has nothing to read, so a socket that is readable (the server's goodbye,
    or its end of file) or a connection the driver knows is broken is dropped; SQLAlchemy then
    checks out another (decision 0037)."""
    if getattr(dbapi_connection, "closed", False) or getattr(dbapi_connection, "broken", False):
        raise DisconnectionError("the connection is closed")
    pgconn = getattr(dbapi_connection, "pgconn", None)
    if pgconn is None:
        return
    try:
        fd = pgconn.socket
    except Exception as error:  # the driver no longer has a socket for it
        raise DisconnectionError("the connection has no socket") from error
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP)
    if poller.poll(0):
        raise DisconnectionError("the server closed the connection or spoke out of turn")


def _sqlite_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    # Not tied to the thread that opened it: a dry run's one connection serves every thread
    # of its request, one at a time (adapters/database/dryrun.py).
    connect_args = {"timeout": 60, "check_same_thread": False}
    engine = create_engine(url, poolclass=NullPool, connect_args=connect_args)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=60000")
        # Temporary files in memory, the statement journal among them: a bulk write's
        # multi-row statements keep one (to undo a statement that fails half-way), and on disk
        # its system calls outweighed the rest of a bulk write (decision 0028).
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A writer takes the write lock when it begins, so that reading balances and writing
        # them back is one serialised step (SQLite's equivalent of row locks).
        mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"
