"""Allocations (booked shares), blocks and fills, audit events and idempotency keys."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, fields
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from allotment.adapters.database import dryrun
from allotment.adapters.database import tables as t
from allotment.adapters.database.bulk import insert_values, reserve_ids
from allotment.adapters.database.sequences import follow_chosen_id
from allotment.domain.errors import Conflict
from allotment.services.ports import (
    AllocationRow,
    AuditEvent,
    BlockRecord,
    FillRecord,
)

_ALLOCATION_FIELDS = list(AllocationRow._fields)


def _allocation(row: Row[tuple[object, ...]]) -> AllocationRow:
    return AllocationRow(**{name: getattr(row, name) for name in _ALLOCATION_FIELDS})


allocation_from_row = _allocation


class SqlAllocationRepository:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add_many(self, rows: Sequence[AllocationRow], ids: Sequence[int]) -> list[int]:
        """Write booked allocations in bulk with their ids (from `reserve_ids`, one per row,
        in order); the ids."""
        if len(ids) != len(rows):
            raise ValueError(f"{len(rows)} allocations, {len(ids)} ids")
        # The id is the row's last field: each row goes in as (id, *every other field).
        insert_values(
            self._db,
            t.allocations,
            ["id", *_ALLOCATION_FIELDS[:-1]],
            [(new_id, *row[:-1]) for new_id, row in zip(ids, rows, strict=True)],
        )
        return list(ids)

    def reserve_ids(self, count: int) -> list[int]:
        """Ids for allocations to add later in this transaction, drawn at once."""
        return reserve_ids(self._db, t.allocations, count)

    def by_trade_date(self, company_id: int, trade_date: date) -> list[AllocationRow]:
        a = t.allocations
        query = select(a).where(a.c.company_id == company_id, a.c.trade_date == trade_date)
        return [_allocation(row) for row in self._db.execute(query.order_by(a.c.id))]

    def list(
        self,
        company_id: int,
        account_ids: frozenset[str] | None,
        block_id: int | None = None,
        dialect: str | None = None,
        after_id: int = 0,
        limit: int = 100,
    ) -> list[AllocationRow]:
        a = t.allocations
        query = select(a).where(a.c.company_id == company_id, a.c.id > after_id)
        if account_ids is not None:
            query = query.where(a.c.account_id.in_(sorted(account_ids)))
        if block_id is not None:
            query = query.where(a.c.block_id == block_id)
        if dialect is not None:
            query = query.where(a.c.dialect == dialect)
        return [_allocation(row) for row in self._db.execute(query.order_by(a.c.id).limit(limit))]

    def get(self, company_id: int, allocation_id: int) -> AllocationRow | None:
        a = t.allocations
        row = self._db.execute(
            select(a).where(a.c.id == allocation_id, a.c.company_id == company_id)
        ).first()
        return _allocation(row) if row else None

    def by_entry(self, entry_id: int) -> AllocationRow | None:
        row = self._db.execute(
            select(t.allocations).where(t.allocations.c.entry_id == entry_id)
        ).first()
        return _allocation(row) if row else None

    def set_status(self, allocation_id: int, status: str) -> None:
        self._db.execute(
            update(t.allocations).where(t.allocations.c.id == allocation_id).values(status=status)
        )

    def references_taken(self, block_id: int, references: Sequence[str]) -> set[str]:
        a = t.allocations
        query = select(a.c.reference).where(
            a.c.block_id == block_id, a.c.reference.in_(sorted(set(references)))
        )
        return {row[0] for row in self._db.execute(query)}


def _json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, default=_default, sort_keys=True)


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, frozenset | set):
        return sorted(value)
    raise TypeError(f"cannot record {type(value).__name__} in an audit event")


_AUDIT = insert(t.audit_events).inline()
"""Built once (decision 0052); inline: its key is not asked for (no RETURNING), so it can be
pipelined."""


class SqlAuditRepository:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add(self, event: AuditEvent) -> None:
        self._db.execute(
            _AUDIT,
            {
                "company_id": event.company_id,
                "at": event.at,
                "actor": event.actor,
                "actor_kind": event.actor_kind,
                "action": event.action,
                "object_type": event.object_type,
                "object_id": event.object_id,
                "before": _json(event.before),
                "after": _json(event.after),
                "dialect": event.dialect,
            },
        )
        dryrun.note(event)

    def list(
        self, company_id: int, object_type: str | None, after_id: int, limit: int
    ) -> list[AuditEvent]:
        e = t.audit_events
        query = select(e).where(e.c.company_id == company_id, e.c.id > after_id)
        if object_type is not None:
            query = query.where(e.c.object_type == object_type)
        return [
            audit_event_from_row(row)
            for row in self._db.execute(query.order_by(e.c.id).limit(limit))
        ]


def audit_event_from_row(row: Any) -> AuditEvent:
    """An `audit_events` row as the services see it (before and after parsed from JSON)."""
    return AuditEvent(
        id=row.id,
        company_id=row.company_id,
        at=row.at,
        actor=row.actor,
        actor_kind=row.actor_kind,
        action=row.action,
        object_type=row.object_type,
        object_id=row.object_id,
        dialect=row.dialect,
        before=json.loads(row.before) if row.before else None,
        after=json.loads(row.after) if row.after else None,
    )


_BLOCK_FIELDS = [f.name for f in fields(BlockRecord)]


def _block(row: Row[tuple[object, ...]]) -> BlockRecord:
    values = {name: getattr(row, name) for name in _BLOCK_FIELDS}
    values["account_id"] = row.account_id
    return BlockRecord(**values)


block_from_row = _block
"""A blocks row as a record, for capabilities that query blocks their own way."""


class SqlBlockRepository:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add(self, block: BlockRecord) -> BlockRecord:
        """Block ids are unique across companies: a taken one is refused without saying whose."""
        values = asdict(block)
        if values["id"] is None:
            del values["id"]
        elif self._db.execute(select(t.blocks.c.id).where(t.blocks.c.id == block.id)).first():
            raise Conflict(f"block id {block.id} is taken", block_id=block.id)
        result = self._db.execute(insert(t.blocks).values(**values))
        assert result.inserted_primary_key is not None
        if block.id is not None:
            follow_chosen_id(self._db, t.blocks)
        block.id = int(result.inserted_primary_key[0])
        return block

    def get(self, company_id: int, block_id: int, lock: bool = False) -> BlockRecord | None:
        query = select(t.blocks).where(
            t.blocks.c.id == block_id, t.blocks.c.company_id == company_id
        )
        if lock and self._db.dialect.name == "postgresql":
            query = query.with_for_update()
        row = self._db.execute(query).first()
        return _block(row) if row else None

    def by_master_reference(self, company_id: int, reference: str) -> BlockRecord | None:
        query = select(t.blocks).where(
            t.blocks.c.company_id == company_id, t.blocks.c.master_reference == reference
        )
        row = self._db.execute(query).first()
        return _block(row) if row else None

    def update(self, block: BlockRecord) -> None:
        values = asdict(block)
        block_id = values.pop("id")
        self._db.execute(update(t.blocks).where(t.blocks.c.id == block_id).values(**values))

    def add_fill(self, fill: FillRecord) -> FillRecord:
        values = asdict(fill)
        del values["id"]
        result = self._db.execute(insert(t.fills).values(**values))
        assert result.inserted_primary_key is not None
        return FillRecord(**{**values, "id": int(result.inserted_primary_key[0])})

    def fills(self, block_id: int) -> list[FillRecord]:
        query = select(t.fills).where(t.fills.c.block_id == block_id).order_by(t.fills.c.sequence)
        return [
            FillRecord(
                id=row.id,
                block_id=row.block_id,
                sequence=row.sequence,
                quantity=row.quantity,
                price=row.price,
                executed_at=row.executed_at,
                entry_id=row.entry_id,
            )
            for row in self._db.execute(query)
        ]

    def list(self, company_id: int, after_id: int, limit: int) -> list[BlockRecord]:
        query = (
            select(t.blocks)
            .where(t.blocks.c.company_id == company_id, t.blocks.c.id > after_id)
            .order_by(t.blocks.c.id)
            .limit(limit)
        )
        return [_block(row) for row in self._db.execute(query)]
