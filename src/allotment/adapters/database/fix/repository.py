"""Tables and repository of the FIX door: its sessions (who owns them, as whom they act) and
the allocation instructions received (their AllocID, state and answer). They share the
foundation's metadata; the repository is reached as `uow.fix`."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    delete,
    false,
    func,
    insert,
    select,
    update,
)

from allotment.adapters.database import tables as t
from allotment.adapters.database.repositories.records import allocation_from_row
from allotment.adapters.database.tables import BigId, metadata
from allotment.adapters.database.types import UtcDateTime
from allotment.services.fix.allocations import StoredInstruction
from allotment.services.fix.orders import StoredOrder
from allotment.services.fix.outbox import OrderOf
from allotment.services.fix.sessions import FixSession
from allotment.services.ports import AllocationRow, FillRecord

fix_sessions = Table(
    "fix_sessions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("company_id", ForeignKey("companies.id"), nullable=False, index=True),
    Column("sender_comp_id", String(64), nullable=False),
    Column("target_comp_id", String(64), nullable=False),
    Column("username", String(200), nullable=False),
    Column("active", Boolean(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("subscribe_allocations", Boolean(), nullable=False, server_default=false()),
    Column("last_fill_id", BigId, nullable=False, server_default="0"),
    Column("last_allocation_id", BigId, nullable=False, server_default="0"),
    UniqueConstraint("sender_comp_id", "target_comp_id"),
)

fix_instructions = Table(
    "fix_instructions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("company_id", ForeignKey("companies.id"), nullable=False),
    Column("alloc_id", String(100), nullable=False),
    Column("session", String(200), nullable=False),
    Column("msg_seq_num", Integer(), nullable=False),
    Column("trans_type", String(1), nullable=False),
    Column("state", String(20), nullable=False),
    Column("answer", Text(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("ref_alloc_id", String(100), nullable=True),
    Column("block_id", ForeignKey("blocks.id"), nullable=True, index=True),
    UniqueConstraint("company_id", "alloc_id"),
)


fix_orders = Table(
    "fix_orders",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("company_id", ForeignKey("companies.id"), nullable=False),
    Column("cl_ord_id", String(100), nullable=False),
    Column("alloc_id", String(100), nullable=True),
    Column("session", String(200), nullable=False, index=True),
    Column("msg_seq_num", Integer(), nullable=False),
    Column("answer", Text(), nullable=False),
    Column("block_id", ForeignKey("blocks.id"), nullable=True, index=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", String(200), nullable=False),
    UniqueConstraint("company_id", "cl_ord_id"),
)


class SqlFixRepository:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add_session(self, session: FixSession) -> FixSession:
        """A new session is told of fills and allocations from now on, not of the past."""
        values = {name: getattr(session, name) for name in _SESSION_VALUES}
        values["last_fill_id"] = self._db.scalar(select(func.max(t.fills.c.id))) or 0
        values["last_allocation_id"] = self._db.scalar(select(func.max(t.allocations.c.id))) or 0
        new_id = self._db.execute(insert(fix_sessions).values(values)).inserted_primary_key
        assert new_id is not None
        return FixSession(**{**values, "id": int(new_id[0])})

    def session(self, sender_comp_id: str, target_comp_id: str) -> FixSession | None:
        s = fix_sessions
        row = self._db.execute(
            select(s).where(
                s.c.sender_comp_id == sender_comp_id, s.c.target_comp_id == target_comp_id
            )
        ).first()
        return None if row is None else FixSession(**row._mapping)

    def sessions(self, company_id: int | None) -> list[FixSession]:
        query = select(fix_sessions).order_by(fix_sessions.c.id)
        if company_id is not None:
            query = query.where(fix_sessions.c.company_id == company_id)
        return [FixSession(**row._mapping) for row in self._db.execute(query)]

    def remove_session(self, session_id: int) -> None:
        self._db.execute(delete(fix_sessions).where(fix_sessions.c.id == session_id))

    def add_instruction(self, stored: StoredInstruction) -> int:
        values = {name: getattr(stored, name) for name in _INSTRUCTION_VALUES}
        new_id = self._db.execute(insert(fix_instructions).values(values)).inserted_primary_key
        assert new_id is not None
        return int(new_id[0])

    def instruction(self, company_id: int, alloc_id: str) -> StoredInstruction | None:
        i = fix_instructions
        row = self._db.execute(
            select(i).where(i.c.company_id == company_id, i.c.alloc_id == alloc_id)
        ).first()
        return None if row is None else StoredInstruction(**row._mapping)

    def instructions(
        self, company_id: int, alloc_ids: Sequence[str]
    ) -> dict[str, StoredInstruction]:
        """The company's instructions of these AllocIDs, read in one query."""
        if not alloc_ids:
            return {}
        i = fix_instructions
        query = select(i).where(i.c.company_id == company_id, i.c.alloc_id.in_(list(alloc_ids)))
        return {row.alloc_id: StoredInstruction(**row._mapping) for row in self._db.execute(query)}

    def add_instructions(self, stored: Sequence[StoredInstruction]) -> None:
        """Several instructions in one statement, in the order given."""
        if stored:
            rows = [{name: getattr(s, name) for name in _INSTRUCTION_VALUES} for s in stored]
            self._db.execute(insert(fix_instructions).values(rows))

    def set_state(self, instruction_id: int, state: str) -> None:
        i = fix_instructions
        self._db.execute(update(i).where(i.c.id == instruction_id).values(state=state))

    def blocks_of_fills(self, company_id: int, fill_ids: Sequence[int]) -> dict[int, int]:
        """The block of each of these fills (executions) of the company's blocks."""
        if not fill_ids:
            return {}
        f, b = t.fills, t.blocks
        query = (
            select(f.c.id, f.c.block_id)
            .join(b, b.c.id == f.c.block_id)
            .where(f.c.id.in_(list(fill_ids)), b.c.company_id == company_id)
        )
        return {int(row.id): int(row.block_id) for row in self._db.execute(query)}

    def allocations_by_id(self, company_id: int, ids: Sequence[int]) -> dict[int, AllocationRow]:
        """The company's allocations of these ids, read in one query."""
        if not ids:
            return {}
        a = t.allocations
        query = select(a).where(a.c.company_id == company_id, a.c.id.in_(list(ids)))
        return {int(row.id): allocation_from_row(row) for row in self._db.execute(query)}

    def add_order(self, stored: StoredOrder) -> int:
        values = {name: getattr(stored, name) for name in _ORDER_VALUES}
        new_id = self._db.execute(insert(fix_orders).values(values)).inserted_primary_key
        assert new_id is not None
        return int(new_id[0])

    def order(self, company_id: int, cl_ord_id: str) -> StoredOrder | None:
        o = fix_orders
        row = self._db.execute(
            select(o).where(o.c.company_id == company_id, o.c.cl_ord_id == cl_ord_id)
        ).first()
        return None if row is None else StoredOrder(**row._mapping)

    def orders_of_session(self, session: str, block_ids: set[int] | None) -> list[OrderOf]:
        o = fix_orders
        query = select(o.c.block_id, o.c.cl_ord_id, o.c.alloc_id).where(
            o.c.session == session, o.c.block_id.is_not(None)
        )
        if block_ids is not None:
            query = query.where(o.c.block_id.in_(sorted(block_ids)))
        return [
            OrderOf(int(row.block_id), row.cl_ord_id, row.alloc_id or "")
            for row in self._db.execute(query)
        ]

    def fills_after(self, session: str, after_id: int, limit: int) -> list[FillRecord]:
        f, o = t.fills, fix_orders
        query = (
            select(f)
            .join(o, o.c.block_id == f.c.block_id)
            .where(o.c.session == session, f.c.id > after_id)
            .order_by(f.c.id)
            .limit(limit)
        )
        return [FillRecord(**row._mapping) for row in self._db.execute(query)]

    def allocations_after(
        self, company_id: int, session: str | None, after_id: int, limit: int
    ) -> list[tuple[int, AllocationRow]]:
        """The company's allocations past `after_id`: of the session's block orders, or every
        one when `session` is None."""
        a, o = t.allocations, fix_orders
        query = select(a).where(a.c.company_id == company_id, a.c.id > after_id)
        if session is not None:
            query = query.join(o, o.c.block_id == a.c.block_id).where(o.c.session == session)
        query = query.order_by(a.c.id).limit(limit)
        return [(int(row.id), allocation_from_row(row)) for row in self._db.execute(query)]

    def advance(self, session_id: int, last_fill_id: int, last_allocation_id: int) -> None:
        s = fix_sessions
        self._db.execute(
            update(s)
            .where(s.c.id == session_id)
            .values(last_fill_id=last_fill_id, last_allocation_id=last_allocation_id)
        )


_ORDER_VALUES = [column.name for column in fix_orders.columns if column.name != "id"]
_SESSION_VALUES = [column.name for column in fix_sessions.columns if column.name != "id"]
_INSTRUCTION_VALUES = [column.name for column in fix_instructions.columns if column.name != "id"]
