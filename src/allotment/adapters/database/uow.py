"""The unit of work: one database transaction with the repositories bound to it."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from allotment.adapters.calendar import CALENDARS
from allotment.adapters.database import behind, claims, dryrun
from allotment.adapters.database.allocation_files import SqlAllocationFileRepository
from allotment.adapters.database.blocktrade.repository import SqlBlockTradeRepository
from allotment.adapters.database.bookbuilding.repository import SqlBookbuildingRepository
from allotment.adapters.database.clearing import SqlClearingRepository
from allotment.adapters.database.dates import SqlDatesRepository
from allotment.adapters.database.desk import SqlDeskRepository
from allotment.adapters.database.exports import SqlExportRepository
from allotment.adapters.database.fairness import SqlFairnessRepository
from allotment.adapters.database.fix.repository import SqlFixRepository
from allotment.adapters.database.intent import SqlIntentRepository
from allotment.adapters.database.pipelined import Pipeline
from allotment.adapters.database.repositories.accounts import (
    SqlAccountRepository,
    SqlInstrumentRepository,
)
from allotment.adapters.database.repositories.idempotency import SqlIdempotencyRepository
from allotment.adapters.database.repositories.identity import SqlIdentityRepository
from allotment.adapters.database.repositories.ledger import SqlLedgerRepository
from allotment.adapters.database.repositories.records import (
    SqlAllocationRepository,
    SqlAuditRepository,
    SqlBlockRepository,
)
from allotment.adapters.database.saxo.repository import SqlSaxoRepository
from allotment.domain.errors import Conflict
from allotment.services import capabilities as c

log = logging.getLogger("allotment.database")

_ALONE: ContextVar[SqlUnitOfWork | None] = ContextVar("allotment_alone", default=None)
"""The autocommit unit of work open in this context (`shared_single`), if any."""


class SqlUnitOfWork:
    """Every repository of the foundation and of each capability, on one connection; each is
    built here, by name (decision 0038)."""

    def __init__(self, connection: Connection, *, held: bool = False) -> None:
        self.connection = connection
        self.pipeline = Pipeline(connection, held=held)
        self.dialect_name = connection.dialect.name
        self.identity = SqlIdentityRepository(connection)
        self.accounts = SqlAccountRepository(connection)
        self.instruments = SqlInstrumentRepository(connection)
        self.ledger = SqlLedgerRepository(connection)
        self.allocations = SqlAllocationRepository(connection)
        self.audit = SqlAuditRepository(connection)
        self.idempotency = SqlIdempotencyRepository(connection)
        self.blocks = SqlBlockRepository(connection)
        self.allocation_files: c.FileClaims = SqlAllocationFileRepository(connection)
        self.blocktrade: c.ClientOrderRepository = SqlBlockTradeRepository(connection)
        self.bookbuilding: c.BookbuildingRepository = SqlBookbuildingRepository(connection)
        self.clearing: c.ClearingRepository = SqlClearingRepository(connection)
        self.dates: c.DatesRepository = SqlDatesRepository(connection)
        self.desk: c.DeskRepository = SqlDeskRepository(connection)
        self.exchange_calendar: c.ExchangeCalendar = CALENDARS
        self.exports: c.ExportRepository = SqlExportRepository(connection)
        self.fairness: c.FairnessRepository = SqlFairnessRepository(connection)
        self.fix: c.FixRepository = SqlFixRepository(connection)
        self.intent: c.IntentRepository = SqlIntentRepository(connection)
        self.saxo: c.SaxoRepository = SqlSaxoRepository(connection)
        self._committed = False

    def __enter__(self) -> SqlUnitOfWork:
        return self

    def __exit__(self, *args: object) -> None:
        return None

    def commit(self) -> None:
        self._committed = True

    def rollback(self) -> None:
        self._committed = False

    def pipelined(self) -> AbstractContextManager[None]:
        """Writes only, sent without waiting for each answer (`pipelined`, decision 0048); a
        unit of work that commits has them answered with the Idempotency-Key's mark."""
        return self.pipeline.block()

    def savepoint(self) -> Savepoint:
        """A savepoint of this transaction (see `Savepoint`)."""
        return Savepoint(self)


class Savepoint:
    """Rolled back, it undoes what the transaction did since it was taken, locks included;
    the ledger repository then forgets the balances and locks it knew, which it otherwise
    trusts until the transaction ends. Committed, it is released."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow
        self._nested = uow.connection.begin_nested()

    def commit(self) -> None:
        self._nested.commit()

    def rollback(self) -> None:
        self._nested.rollback()
        self._uow.ledger = SqlLedgerRepository(self._uow.connection)


class SqlUnitOfWorkFactory:
    """Opens a transaction per unit of work; commits only when the service called commit()."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def __call__(self, *, write: bool = True, single: bool = False) -> Iterator[SqlUnitOfWork]:
        """`single`: statements that need no transaction around them (each stands alone, as
        a claim of an Idempotency-Key or a look-up of who calls): on PostgreSQL they run in
        autocommit, saving the BEGIN and the COMMIT or ROLLBACK round trips (decision 0037)."""
        dry = dryrun.current()
        if dry is not None:
            with self._dry(dry) as uow:
                yield uow
            return
        if single and self.engine.dialect.name == "postgresql":
            with self._alone() as uow:
                yield uow
            return
        options = {} if write else {"sqlite_begin": "DEFERRED"}
        with self.engine.connect().execution_options(**options) as connection:
            transaction = connection.begin()
            if write:
                behind.begin(connection)
            uow = SqlUnitOfWork(connection, held=write)

            def abandon() -> None:
                # The queued writes finish first (a failure among them no longer matters).
                uow.pipeline.close(failed=True)
                behind.end(connection, wait_only=True)
                transaction.rollback()

            try:
                yield uow
                # The writes still queued (PostgreSQL writes large batches behind) are done
                # before anything is committed; a failure among them is handled below.
                behind.end(connection)
                if write and uow._committed:
                    # Its answer is waited for with the pipelined writes' (`pipelined`).
                    claims.before_commit(connection)
                if uow.pipeline.unanswered or not uow._committed:
                    uow.pipeline.close()
            except IntegrityError as error:
                abandon()
                # The database's words name tables and constraints: log them, never answer them.
                log.info("integrity error turned into a conflict: %s", error.orig)
                raise Conflict("the change clashes with data stored meanwhile") from error
            except OperationalError as error:
                abandon()
                if _is_retryable(error):
                    raise Conflict("the database refused a concurrent change; retry") from error
                raise
            except BaseException:
                abandon()
                raise
            if uow._committed:
                try:
                    transaction.commit()
                except DBAPIError as error:
                    uow.pipeline.close(failed=True)
                    if _is_retryable(error):
                        raise Conflict("the database refused a concurrent change; retry") from error
                    raise
                uow.pipeline.close()  # a wait of its own, the accounts no longer held
            else:
                transaction.rollback()

    def shared_single(self) -> AbstractContextManager[object]:
        """A block whose `single` units of work share one connection (PostgreSQL: each of
        their statements is its own transaction anyway, so sharing changes nothing but the
        checkouts saved, decision 0052); elsewhere each keeps its own."""
        if self.engine.dialect.name != "postgresql" or dryrun.current() is not None:
            return nullcontext()
        return self._alone()

    @contextmanager
    def _alone(self) -> Iterator[SqlUnitOfWork]:
        shared = _ALONE.get()
        if shared is not None and shared.connection.engine is self.engine:
            with _conflicts():
                yield shared
            return
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            uow = SqlUnitOfWork(connection)
            reset = _ALONE.set(uow)
            try:
                with _conflicts():
                    yield uow
            finally:
                _ALONE.reset(reset)

    @contextmanager
    def _dry(self, dry: dryrun.DryRun) -> Iterator[SqlUnitOfWork]:
        """A unit of work of a dry run: a savepoint on the dry run's one transaction, released
        when the service commits (and rolled back with the rest when the request ends)."""
        with dry.lock:
            connection = dry.connection(self.engine)
            savepoint = connection.begin_nested()
            noted = len(dry.noted)
            # No writing behind: units of work may nest on this one connection, and a dry run
            # is not where the time of a large write matters.
            uow = SqlUnitOfWork(connection)

            def abandon() -> None:
                savepoint.rollback()
                del dry.noted[noted:]

            try:
                yield uow
            except IntegrityError as error:
                abandon()
                log.info("integrity error turned into a conflict: %s", error.orig)
                raise Conflict("the change clashes with data stored meanwhile") from error
            except BaseException:
                abandon()
                raise
            if uow._committed:
                savepoint.commit()
            else:
                abandon()


@contextmanager
def _conflicts() -> Iterator[None]:
    try:
        yield
    except IntegrityError as error:
        log.info("integrity error turned into a conflict: %s", error.orig)
        raise Conflict("the change clashes with data stored meanwhile") from error


def _is_retryable(error: DBAPIError) -> bool:
    code = getattr(error.orig, "sqlstate", None)
    return code in {"40001", "40P01"} or "database is locked" in str(error.orig)
