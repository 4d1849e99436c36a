"""A dry run: a request that runs for real on one transaction that is rolled back at its end.

While a dry run is active (a context variable, carried into the threads the request hands work
to), every unit of work the request opens, reading or writing, uses the dry run's one
connection and one transaction: each unit of work is a savepoint in it, released when the
service commits and rolled back when it does not. A service that commits twice, or a route
that commits and then reads its own writes back in another unit of work, therefore sees what
it would see for real, and answers what it would answer. At the end the whole transaction is
rolled back: nothing is kept.

The audit events the request writes are noted as they are written (and forgotten with a
savepoint that is rolled back), so that one event saying what the request would have recorded
can be written once the dry run's transaction is gone.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import Connection, Engine, RootTransaction

from allotment.services.ports import AuditEvent


class DryRun:
    """One request's dry run: its connection, its transaction and the audit events noted."""

    def __init__(self) -> None:
        self.noted: list[AuditEvent] = []
        self.lock = threading.RLock()
        """Held by a unit of work: the request's threads use the connection one at a time."""
        self._connection: Connection | None = None
        self._transaction: RootTransaction | None = None

    def connection(self, engine: Engine) -> Connection:
        """The dry run's connection, opened (and its transaction begun) on first use."""
        if self._connection is None:
            self._connection = engine.connect()
            self._transaction = self._connection.begin()
        return self._connection

    def end(self) -> None:
        """Roll everything back and give the connection back."""
        with self.lock:
            connection, transaction = self._connection, self._transaction
            self._connection = self._transaction = None
            if connection is None:
                return
            try:
                if transaction is not None and transaction.is_active:
                    transaction.rollback()
            finally:
                connection.close()


_ACTIVE: ContextVar[DryRun | None] = ContextVar("allotment_dry_run", default=None)


def current() -> DryRun | None:
    """The dry run this request runs as, if any."""
    return _ACTIVE.get()


@contextmanager
def running() -> Iterator[DryRun]:
    """Within this block (and the threads it hands work to) nothing is committed."""
    dry = DryRun()
    reset = _ACTIVE.set(dry)
    try:
        yield dry
    finally:
        _ACTIVE.reset(reset)
        dry.end()


def note(event: AuditEvent) -> None:
    """Called as an audit event is written: a dry run keeps it to report what it would do."""
    dry = _ACTIVE.get()
    if dry is not None:
        dry.noted.append(event)
