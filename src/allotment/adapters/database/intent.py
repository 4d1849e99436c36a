"""Tables and repository of pre-trade intent and of the adjustments each fill's allocation made
(decision 0041). Reached as `uow.intent`.

An intent is written once (its primary key is the block's); adjustments are few (only parts a
fill cut or refused, and the error account's booking) and read per block through
``ix_allocation_adjustments_block``. What each account was booked is read from the allocations
of the block (``uq_allocations_block_reference`` begins with the block id), the exact targets
from the fairness ledger (``ix_fairness_company_block``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Date,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    insert,
    select,
)

from allotment.adapters.database.desk import refusals
from allotment.adapters.database.fairness import fairness_records
from allotment.adapters.database.tables import BigId, allocations, metadata
from allotment.adapters.database.types import ExactDecimal, UtcDateTime
from allotment.domain.allocation.exact import fraction_text
from allotment.services.desk.records import Refusal
from allotment.services.fairness.intent import Adjustment, Intent, IntentLine

block_intents = Table(
    "block_intents",
    metadata,
    Column("company_id", BigId, nullable=False),
    Column("block_id", BigId, nullable=False),
    Column("source", String(10), nullable=False),
    Column("allocation_key_id", String(50), nullable=True),
    Column("recorded_at", UtcDateTime(), nullable=False),
    Column("recorded_by", String(100), nullable=False),
    PrimaryKeyConstraint("company_id", "block_id"),
)

block_intent_lines = Table(
    "block_intent_lines",
    metadata,
    Column("company_id", BigId, nullable=False),
    Column("block_id", BigId, nullable=False),
    Column("account_id", String(50), nullable=False),
    Column("intended_quantity", String(200), nullable=False),
    PrimaryKeyConstraint("company_id", "block_id", "account_id"),
)

allocation_adjustments = Table(
    "allocation_adjustments",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("company_id", BigId, nullable=False),
    Column("block_id", BigId, nullable=False),
    Column("fill_sequence", Integer(), nullable=False),
    Column("account_id", String(50), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("quantity", ExactDecimal(), nullable=False),
    Column("detail", String(200), nullable=False),
    Column("price", ExactDecimal(), nullable=False),
    Column("trade_date", Date(), nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
    Index("ix_allocation_adjustments_block", "company_id", "block_id", "account_id"),
)


class SqlIntentRepository:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def intent(self, company_id: int, block_id: int) -> Intent | None:
        head = self._db.execute(
            select(block_intents).where(
                block_intents.c.company_id == company_id, block_intents.c.block_id == block_id
            )
        ).first()
        if head is None:
            return None
        lines = self._db.execute(
            select(block_intent_lines.c.account_id, block_intent_lines.c.intended_quantity)
            .where(
                block_intent_lines.c.company_id == company_id,
                block_intent_lines.c.block_id == block_id,
            )
            .order_by(block_intent_lines.c.account_id)
        )
        return Intent(
            block_id,
            head.source,
            head.allocation_key_id,
            tuple(IntentLine(row.account_id, Fraction(row.intended_quantity)) for row in lines),
            head.recorded_at,
            head.recorded_by,
        )

    def add_intent(self, company_id: int, intent: Intent) -> None:
        self._db.execute(
            insert(block_intents).values(
                company_id=company_id,
                block_id=intent.block_id,
                source=intent.source,
                allocation_key_id=intent.key_id,
                recorded_at=intent.recorded_at,
                recorded_by=intent.recorded_by,
            )
        )
        self._db.execute(
            insert(block_intent_lines),
            [
                {
                    "company_id": company_id,
                    "block_id": intent.block_id,
                    "account_id": line.account_id,
                    "intended_quantity": fraction_text(line.quantity),
                }
                for line in intent.lines
            ],
        )

    def intended_blocks(
        self, company_id: int, period: tuple[date | None, date | None]
    ) -> list[int]:
        query = select(block_intents.c.block_id).where(block_intents.c.company_id == company_id)
        start, end = period
        if start is not None:
            query = query.where(block_intents.c.recorded_at >= _midnight(start))
        if end is not None:
            query = query.where(block_intents.c.recorded_at < _midnight(end + timedelta(days=1)))
        return list(self._db.scalars(query.order_by(block_intents.c.block_id)))

    def add_adjustments(self, company_id: int, rows: Sequence[Adjustment]) -> None:
        self._db.execute(
            insert(allocation_adjustments),
            [
                {
                    "company_id": company_id,
                    "block_id": row.block_id,
                    "fill_sequence": row.fill_sequence,
                    "account_id": row.account_id,
                    "kind": row.kind,
                    "quantity": row.quantity,
                    "detail": row.detail[:200],
                    "price": row.price,
                    "trade_date": row.trade_date,
                    "recorded_at": row.recorded_at,
                }
                for row in rows
            ],
        )

    def adjustments(self, company_id: int, block_id: int) -> list[Adjustment]:
        table = allocation_adjustments.c
        found = self._db.execute(
            select(allocation_adjustments)
            .where(table.company_id == company_id, table.block_id == block_id)
            .order_by(table.id)
        )
        return [
            Adjustment(
                row.block_id,
                row.fill_sequence,
                row.account_id,
                row.kind,
                row.quantity,
                row.detail,
                row.price,
                row.trade_date,
                row.recorded_at,
            )
            for row in found
        ]

    def booked(self, company_id: int, block_id: int) -> dict[str, Decimal]:
        table = allocations.c
        found = self._db.execute(
            select(table.account_id, table.quantity).where(
                table.block_id == block_id,
                table.company_id == company_id,
                table.status == "booked",
            )
        )
        sums: dict[str, Decimal] = {}
        for account_id, quantity in found:
            sums[account_id] = sums.get(account_id, Decimal(0)) + quantity
        return sums

    def targets(self, company_id: int, block_id: int) -> dict[str, Fraction]:
        table = fairness_records.c
        found = self._db.execute(
            select(table.account_id, table.target_quantity).where(
                table.company_id == company_id, table.block_id == block_id
            )
        )
        sums: dict[str, Fraction] = {}
        for account_id, target in found:
            sums[account_id] = sums.get(account_id, Fraction(0)) + Fraction(target)
        return sums

    def block_refusals(self, company_id: int, block_id: int) -> list[Refusal]:
        """The items refused from a block (``ix_refusals_company_block``), oldest first."""
        table = refusals.c
        return self._refusals(table.company_id == company_id, table.block_id == block_id)

    def refusals_between(
        self, company_id: int, start: datetime | None, end: datetime | None
    ) -> list[Refusal]:
        """The items refused from `start` (included) to `end` (excluded) that name an account
        (``ix_refusals_company_at``), oldest first."""
        table = refusals.c
        conditions = [table.company_id == company_id, table.account_id.is_not(None)]
        if start is not None:
            conditions.append(table.at >= start)
        if end is not None:
            conditions.append(table.at < end)
        return self._refusals(*conditions)

    def _refusals(self, *conditions: ColumnElement[bool]) -> list[Refusal]:
        found = self._db.execute(select(refusals).where(*conditions).order_by(refusals.c.id))
        return [
            Refusal(
                row.company_id,
                row.dialect,
                row.object_ref,
                row.account_id,
                row.code,
                row.message,
                row.at,
                row.actor,
                row.id,
                row.block_id,
                row.quantity,
            )
            for row in found
        ]


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)
