"""Tables and repository of the FIX door: its sessions (who owns them, as whom they act) and
the allocation instructions received (their AllocID, state and answer). They share the
foundation's metadata; the repository is reached as `uow.extension("fix")`."""

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
    insert,
    select,
    update,
)

from allotment.adapters.database import tables as t
from allotment.adapters.database.tables import BigId, metadata
from allotment.adapters.database.types import UtcDateTime
from allotment.adapters.database.uow import register_extension
from allotment.services.fix_allocations import StoredInstruction
from allotment.services.fix_sessions import EXTENSION, FixSession

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


class SqlFixRepository:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add_session(self, session: FixSession) -> FixSession:
        values = {name: getattr(session, name) for name in _SESSION_VALUES}
        new_id = self._db.execute(insert(fix_sessions).values(values)).inserted_primary_key
        assert new_id is not None
        return FixSession(**values, id=int(new_id[0]))

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


_SESSION_VALUES = [column.name for column in fix_sessions.columns if column.name != "id"]
_INSTRUCTION_VALUES = [column.name for column in fix_instructions.columns if column.name != "id"]

register_extension(EXTENSION, SqlFixRepository)
