"""A unit of work's writes sent without waiting for each answer (PostgreSQL, decision 0048).

A small booking holds its hot account from the lock to the COMMIT. Its writes after the
decision (the entry, its postings, the allocation, the balances, the audit event) need no
answer: in the driver's pipeline mode they leave one after another and are answered together.
A unit of work that commits keeps the pipeline open after the block (`held`) until its COMMIT
has been answered: the Idempotency-Key's mark, the one statement before the COMMIT that needs
its answer, is answered with the writes, and the COMMIT is one wait more. Leaving pipeline mode
costs a wait of its own, after the COMMIT, when the accounts are no longer held.

A statement in the pipeline that returns rows after all (a read, an insert returning its key)
waits for its answer where it is asked for: correct, one wait more. A write the server refuses
is raised when its answer is waited for, as SQLAlchemy raises it (an IntegrityError, …). COPY
has no pipeline mode: a COPY later in the same unit of work first leaves it (`leave`).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import DBAPIError

from allotment.adapters.database import behind

_HELD: weakref.WeakKeyDictionary[Connection, Pipeline] = weakref.WeakKeyDictionary()
"""Each connection's pipeline, for a COPY to leave first (`leave`)."""
_ANSWERING: dict[Connection, Callable[..., None]] = {}
"""The connections in pipeline mode now, each with what its statements call once sent."""
_LISTENING: weakref.WeakSet[Engine] = weakref.WeakSet()
"""The engines whose statements are seen by `_sent`: one listener each, for good (listening
on each connection as it entered pipeline mode, and no longer after, cost more than the
pipeline saved on a small write; decision 0052)."""


def _sent(connection: Connection, *args: Any) -> None:
    answer = _ANSWERING.get(connection)
    if answer is not None:
        answer(connection, *args)


class Pipeline:
    """The pipeline of one unit of work's connection: opened by `block`, ended by `close`."""

    def __init__(self, connection: Connection, *, held: bool) -> None:
        self._connection = connection
        self._held = held
        _HELD[connection] = self
        if connection.dialect.name == "postgresql" and connection.engine not in _LISTENING:
            event.listen(connection.engine, "after_cursor_execute", _sent)
            _LISTENING.add(connection.engine)
        self._open: tuple[AbstractContextManager[Any], Callable[..., None]] | None = None
        self.unanswered = False
        """Statements were sent since the last wait for answers."""

    @contextmanager
    def block(self) -> Iterator[None]:
        connection = self._connection
        if connection.dialect.name != "postgresql" or self._open is not None:
            yield
            return
        behind.settle(connection)
        raw = connection.connection.driver_connection
        assert raw is not None
        manager = raw.pipeline()
        answer = self._answering(manager.__enter__())
        _ANSWERING[connection] = answer
        self._open = (manager, answer)
        try:
            yield
        except BaseException:
            self.close(failed=True)
            raise
        if not self._held:
            self.close()

    def _answering(self, pipeline: Any) -> Callable[..., None]:
        def answer(_: Connection, cursor: Any, statement: str, *__: Any) -> None:
            if cursor.description is None and _returns_rows(statement):
                pipeline.sync()  # inside SQLAlchemy's execute: a refusal is raised as its own
                self.unanswered = False
            else:
                self.unanswered = True

        return answer

    def close(self, *, failed: bool = False) -> None:
        """Wait for what is still unanswered and leave pipeline mode; a refusal among it is
        raised unless the unit of work `failed` already (it is rolled back anyway)."""
        if self._open is None:
            return
        manager, _ = self._open
        self._open = None
        self.unanswered = False
        _ANSWERING.pop(self._connection, None)
        failure = self._connection.dialect.loaded_dbapi.Error
        if failed:
            with suppress(failure):
                manager.__exit__(None, None, None)
            return
        try:
            manager.__exit__(None, None, None)
        except failure as error:
            raise DBAPIError.instance(None, None, error, failure) from error


def _returns_rows(statement: str) -> bool:
    """A read, or a write that returns rows (its first word, or RETURNING anywhere)."""
    upper = statement.upper()
    words = upper.split(None, 1)
    return (bool(words) and words[0] in _READS) or "RETURNING" in upper


_READS = frozenset({"SELECT", "WITH", "VALUES", "TABLE", "SHOW", "EXPLAIN"})


def leave(connection: Connection) -> None:
    """Before a COPY on this connection (which pipeline mode refuses): the pipeline a block
    left open (`held`) is answered and left; the unit of work commits out of it."""
    pipeline = _HELD.get(connection)
    if pipeline is not None:
        pipeline.close()
