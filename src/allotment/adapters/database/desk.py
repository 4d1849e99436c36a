"""Tables and repository of the operations desk: its server-side sessions, the refused
allocation items every dialect records, and the queries of the blotter, the exceptions queue
and the audit trail of one object. They share the foundation's metadata; reached as
`uow.desk`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Float,
    ForeignKey,
    Index,
    String,
    Table,
    cast,
    delete,
    exists,
    select,
    update,
)

from allotment.adapters.database import tables as t
from allotment.adapters.database.repositories.records import audit_event_from_row, block_from_row
from allotment.adapters.database.tables import BigId, metadata
from allotment.adapters.database.types import ExactDecimal, UtcDateTime
from allotment.services.desk.blocks import BlotterQuery
from allotment.services.desk.records import Refusal
from allotment.services.desk.sessions import DeskSession
from allotment.services.ports import AuditEvent, BlockRecord, IdempotencyRecord

refusals = Table(
    "refusals",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("company_id", ForeignKey("companies.id"), nullable=False),
    Column("dialect", String(30), nullable=False),
    Column("object_ref", String(100), nullable=False),
    Column("account_id", String(64), nullable=True),
    Column("code", String(60), nullable=False),
    Column("message", String(500), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("actor", String(200), nullable=False),
    # The block the item allocated from and what it asked for, where the dialect says (0046).
    Column("block_id", BigId, nullable=True),
    Column("quantity", ExactDecimal(), nullable=True),
    Index("ix_refusals_company_at", "company_id", "at"),
    Index("ix_refusals_company_block", "company_id", "block_id"),
)
Index("ix_audit_events_company_object", t.audit_events.c.company_id, t.audit_events.c.object_id)

desk_sessions = Table(
    "desk_sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("company_id", ForeignKey("companies.id"), nullable=False),
    Column("username", String(200), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("last_seen_at", UtcDateTime(), nullable=False),
)


class SqlDeskRepository:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add_session(self, session: DeskSession) -> None:
        self._db.execute(
            desk_sessions.insert().values(
                {name: getattr(session, name) for name in _SESSION_FIELDS}
            )
        )

    def session(self, session_id: str) -> DeskSession | None:
        row = self._db.execute(
            select(desk_sessions).where(desk_sessions.c.id == session_id)
        ).first()
        if row is None:
            return None
        return DeskSession(**{name: getattr(row, name) for name in _SESSION_FIELDS})

    def touch_session(self, session_id: str, at: datetime) -> None:
        self._db.execute(
            update(desk_sessions).where(desk_sessions.c.id == session_id).values(last_seen_at=at)
        )

    def remove_session(self, session_id: str) -> None:
        self._db.execute(delete(desk_sessions).where(desk_sessions.c.id == session_id))

    def blotter(self, query: BlotterQuery) -> list[BlockRecord]:
        """Newest first, keyset-paged on the id; the account filter is the block's account or
        an allocation of the block to it (the allocations' account index)."""
        b = t.blocks
        statement = select(b).where(
            b.c.company_id == query.company_id,
            b.c.created_at >= query.start,
            b.c.created_at < query.end,
        )
        if query.instrument_id is not None:
            statement = statement.where(b.c.instrument_id == query.instrument_id)
        if query.status is not None:
            statement = statement.where(b.c.status == query.status)
        if query.unallocated_only:
            filled: ColumnElement[Any] = b.c.filled_quantity
            allocated: ColumnElement[Any] = b.c.allocated_quantity
            if self._db.dialect.name == "sqlite":  # kept as text there: compared as numbers
                filled, allocated = cast(filled, Float), cast(allocated, Float)
            statement = statement.where(filled > allocated)
        if query.before_id is not None:
            statement = statement.where(b.c.id < query.before_id)
        if query.account_id is not None:
            a = t.allocations
            allocated_to = exists().where(
                a.c.account_id == query.account_id, a.c.block_id == b.c.id
            )
            statement = statement.where((b.c.account_id == query.account_id) | allocated_to)
        statement = statement.order_by(b.c.id.desc()).limit(query.limit)
        return [block_from_row(row) for row in self._db.execute(statement)]

    def add_refusals(self, rows: Sequence[Refusal]) -> None:
        self._db.execute(
            refusals.insert(),
            [{name: getattr(row, name) for name in _REFUSAL_FIELDS} for row in rows],
        )

    def refusals(
        self, company_id: int, start: datetime, end: datetime, limit: int
    ) -> list[Refusal]:
        r = refusals
        statement = (
            select(r)
            .where(r.c.company_id == company_id, r.c.at >= start, r.c.at < end)
            .order_by(r.c.id.desc())
            .limit(limit)
        )
        return [
            Refusal(id=row.id, **{name: getattr(row, name) for name in _REFUSAL_FIELDS})
            for row in self._db.execute(statement)
        ]

    def keys_in_flight(self, company_id: int, limit: int) -> list[IdempotencyRecord]:
        k = t.idempotency_keys
        statement = (
            select(k.c.key, k.c.request_hash, k.c.state, k.c.created_at, k.c.leased_until)
            .where(k.c.company_id == company_id, k.c.state != "done")
            .order_by(k.c.created_at)
            .limit(limit)
        )
        return [
            IdempotencyRecord(
                request_hash=row.request_hash,
                state=row.state,
                status_code=None,
                content_type=None,
                body=None,
                company_id=company_id,
                key=row.key,
                created_at=row.created_at,
                leased_until=row.leased_until,
            )
            for row in self._db.execute(statement)
        ]

    def audit_of(
        self, company_id: int, object_type: str | None, object_id: str, after_id: int, limit: int
    ) -> list[AuditEvent]:
        e = t.audit_events
        statement = select(e).where(
            e.c.company_id == company_id, e.c.object_id == object_id, e.c.id > after_id
        )
        if object_type is not None:
            statement = statement.where(e.c.object_type == object_type)
        return [
            audit_event_from_row(row)
            for row in self._db.execute(statement.order_by(e.c.id).limit(limit))
        ]


_SESSION_FIELDS = [column.name for column in desk_sessions.columns]
_REFUSAL_FIELDS = [column.name for column in refusals.columns if column.name != "id"]
