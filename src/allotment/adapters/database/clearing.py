"""Tables and repository of the clearing capability: one session per (company, trade date),
its status and the report stored when it closed. The repository is reached as
`uow.clearing`.

Locking: a booking holds its trade date's session row with FOR SHARE (PostgreSQL), a close
takes it FOR UPDATE, so a close waits for the bookings in flight and the bookings that come
after it see the session closed. On SQLite every write transaction holds the database's write
lock already.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Date,
    ForeignKey,
    Integer,
    Row,
    String,
    Table,
    Text,
    UniqueConstraint,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert

from allotment.adapters.database.tables import companies, metadata
from allotment.adapters.database.types import UtcDateTime
from allotment.services.clearing import OPEN, SessionRecord

clearing_sessions = Table(
    "clearing_sessions",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    Column("company_id", ForeignKey("companies.id"), nullable=False),
    Column("trade_date", Date(), nullable=False),
    Column("status", String(10), nullable=False),
    Column("closed_at", UtcDateTime(), nullable=True),
    Column("closed_by", String(200), nullable=True),
    Column("allocation_count", Integer(), nullable=True),
    Column("report_json", Text(), nullable=True),
    Column("report_csv", Text(), nullable=True),
    UniqueConstraint("company_id", "trade_date", name="uq_clearing_sessions_company_trade_date"),
)


def _session(row: Row[tuple[object, ...]]) -> SessionRecord:
    return SessionRecord(
        company_id=row.company_id,
        trade_date=row.trade_date,
        status=row.status,
        closed_at=row.closed_at,
        closed_by=row.closed_by,
        allocation_count=row.allocation_count,
        report_json=row.report_json,
        report_csv=row.report_csv,
    )


class SqlClearingRepository:
    def __init__(self, connection: Connection) -> None:
        self._db = connection
        self._postgres = connection.dialect.name == "postgresql"

    def hold_status(self, company_id: int, trade_date: date) -> str:
        """The session's status, held (shared) until the transaction ends."""
        if not self._postgres:
            found = self._db.execute(
                select(clearing_sessions.c.status).where(
                    clearing_sessions.c.company_id == company_id,
                    clearing_sessions.c.trade_date == trade_date,
                )
            ).scalar()
            return str(found) if found is not None else OPEN
        self._ensure(company_id, trade_date)
        status = self._db.execute(
            select(clearing_sessions.c.status)
            .where(
                clearing_sessions.c.company_id == company_id,
                clearing_sessions.c.trade_date == trade_date,
            )
            .with_for_update(read=True)
        ).scalar_one()
        return str(status)

    def lock(self, company_id: int, trade_date: date) -> SessionRecord:
        """The session (created open if new), locked against bookings until the transaction
        ends."""
        self._ensure(company_id, trade_date)
        query = select(clearing_sessions).where(
            clearing_sessions.c.company_id == company_id,
            clearing_sessions.c.trade_date == trade_date,
        )
        if self._postgres:
            query = query.with_for_update()
        return _session(self._db.execute(query).one())

    def _ensure(self, company_id: int, trade_date: date) -> None:
        values = {"company_id": company_id, "trade_date": trade_date, "status": OPEN}
        if self._postgres:
            self._db.execute(
                pg_insert(clearing_sessions)
                .values(**values)
                .on_conflict_do_nothing(index_elements=["company_id", "trade_date"])
            )
            return
        exists = self._db.execute(
            select(clearing_sessions.c.id).where(
                clearing_sessions.c.company_id == company_id,
                clearing_sessions.c.trade_date == trade_date,
            )
        ).first()
        if exists is None:
            self._db.execute(clearing_sessions.insert().values(**values))

    def close(
        self,
        company_id: int,
        trade_date: date,
        closed_at: datetime,
        closed_by: str,
        allocation_count: int,
        report_json: str,
        report_csv: str,
    ) -> None:
        self._db.execute(
            update(clearing_sessions)
            .where(
                clearing_sessions.c.company_id == company_id,
                clearing_sessions.c.trade_date == trade_date,
            )
            .values(
                status="closed",
                closed_at=closed_at,
                closed_by=closed_by,
                allocation_count=allocation_count,
                report_json=report_json,
                report_csv=report_csv,
            )
        )

    def get(self, company_id: int, trade_date: date) -> SessionRecord | None:
        row = self._db.execute(
            select(clearing_sessions).where(
                clearing_sessions.c.company_id == company_id,
                clearing_sessions.c.trade_date == trade_date,
            )
        ).first()
        return _session(row) if row else None

    def company_ids(self) -> list[int]:
        query = select(companies.c.id).order_by(companies.c.id)
        return [int(company_id) for company_id in self._db.execute(query).scalars()]
