"""Writing behind (PostgreSQL): a unit of work's large writes run on one background thread, in
the order they were asked for, while the thread that asked goes on computing.

A large write (a COPY, a staged update) mostly waits on the server. Run where it is asked for,
it keeps the deciding thread waiting too, with nothing left to compute in the meantime
(decision 0015). Queued here instead, the deciding
thread builds the next rows while the server takes the last ones.

The connection is used by one thread at a time, and every statement sees the writes asked for
before it:

* a write is queued with `later`; one queued from the writing thread itself runs at once;
* any other statement of the unit of work first waits for the queue (`settle`): SQLAlchemy's
  `before_cursor_execute` event on PostgreSQL engines (`install`), and the driver-level reads
  and COPYs of `bulk`, which call `settle` themselves;
* the unit of work settles before it commits, and waits (without raising) before it rolls
  back; the first failed write is raised by the next `settle`, and the writes queued after it
  are not run (the transaction is lost anyway).

SQLite has no writing thread (its connection belongs to the thread that opened it, and its
work is all in this process): `later` runs the write at once there.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from typing import Any

from sqlalchemy import Connection, Engine, event

_QUEUES: weakref.WeakKeyDictionary[Connection, WriteBehind] = weakref.WeakKeyDictionary()
"""Each unit of work's queue, by its connection (kept off `connection.info`, which a connection
the database dropped cannot reach until it is rolled back: ending its unit of work then answered
500 instead of 503)."""


class WriteBehind:
    """The queue of one unit of work's writes (see the module docstring)."""

    def __init__(self) -> None:
        self._executor: ThreadPoolExecutor | None = None
        self._pending: list[Future[None]] = []
        self._writer: int | None = None
        self._failed = False

    def submit(self, work: Callable[[], None]) -> None:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="write-behind")
        self._pending.append(self._executor.submit(self._run, work))

    def _run(self, work: Callable[[], None]) -> None:
        self._writer = threading.get_ident()
        if self._failed:
            return
        try:
            work()
        except BaseException:
            self._failed = True
            raise

    @property
    def busy(self) -> bool:
        """Are writes queued that nobody has waited for yet?"""
        return bool(self._pending)

    @property
    def on_writer(self) -> bool:
        return self._writer is not None and self._writer == threading.get_ident()

    def settle(self) -> None:
        """Wait for every queued write; raise the first that failed."""
        pending, self._pending = self._pending, []
        failure: BaseException | None = None
        for future in pending:
            error = future.exception()
            if error is not None and failure is None:
                failure = error
        if failure is not None:
            raise failure

    def close(self) -> None:
        """Wait for the queue without raising, and stop the writing thread."""
        try:
            with suppress(BaseException):  # the unit of work is rolled back or failed already
                self.settle()
        finally:
            if self._executor is not None:
                self._executor.shutdown(wait=True)
                self._executor = None


def begin(connection: Connection) -> None:
    """Let this unit of work write behind (PostgreSQL only; SQLite writes at once)."""
    if connection.dialect.name == "postgresql":
        _QUEUES[connection] = WriteBehind()


def later(connection: Connection, work: Callable[[], None]) -> None:
    """Run `work`, which only writes, after the writes asked for before it: on the writing
    thread when this unit of work writes behind, at once otherwise."""
    behind: WriteBehind | None = _QUEUES.get(connection)
    if behind is None or behind.on_writer:
        work()
    else:
        behind.submit(work)


def settle(connection: Connection) -> None:
    """Before a statement of this thread: every queued write done (the first failure raised)."""
    behind: WriteBehind | None = _QUEUES.get(connection)
    if behind is not None and behind.busy and not behind.on_writer:
        behind.settle()


def end(connection: Connection, *, wait_only: bool = False) -> None:
    """The unit of work ends: its writes done (raising the first failure unless `wait_only`,
    when it is rolled back anyway) and the writing thread stopped. The connection goes back
    to the pool without a queue."""
    behind: WriteBehind | None = _QUEUES.pop(connection, None)
    if behind is None:
        return
    if wait_only:
        behind.close()
        return
    try:
        behind.settle()
    finally:
        behind.close()


def install(engine: Engine) -> None:
    """Every statement run through SQLAlchemy on this engine settles the queue first (the
    cursor event: `before_execute` misses `exec_driver_sql`)."""

    @event.listens_for(engine, "before_cursor_execute")
    def _settle_first(connection: Connection, *_: Any) -> None:
        settle(connection)
