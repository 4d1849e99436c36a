"""Tables and repository of the operations desk: its server-side sessions and the blotter's
query. They share the foundation's metadata; reached as `uow.desk`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Float,
    ForeignKey,
    String,
    Table,
    cast,
    delete,
    exists,
    select,
    update,
)

from allotment.adapters.database import tables as t
from allotment.adapters.database.repositories.records import block_from_row
from allotment.adapters.database.tables import metadata
from allotment.adapters.database.types import UtcDateTime
from allotment.services.desk import DeskSession
from allotment.services.desk_blocks import BlotterQuery
from allotment.services.ports import BlockRecord

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


_SESSION_FIELDS = [column.name for column in desk_sessions.columns]
