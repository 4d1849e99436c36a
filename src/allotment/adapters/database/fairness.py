"""Table and repository of the fairness ledger: one row per allocation decided by the engine,
its exact target (a fraction, kept as its text: ``"301/3"``) and the quantity given. Reached as
`uow.fairness`.

Rows are written in one statement per booking and read per account (the report of one account
over a period walks ``ix_fairness_company_account_date``). An allocation that wrote no row (an
instructed quantity: ETNA, an allocation file, a native booking) is read from the allocations
as an ``Instructed`` row, its target what it was given (decision 0046): nothing more is written
where those dialects book.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any, TypeVar

from sqlalchemy import (
    Column,
    Connection,
    Date,
    Index,
    Row,
    Select,
    String,
    Table,
    and_,
    delete,
    exists,
    select,
)

from allotment.adapters.database.bulk import insert_values
from allotment.adapters.database.tables import BigId, allocations, instruments, metadata
from allotment.adapters.database.types import ExactDecimal, UtcDateTime
from allotment.domain.allocation.exact import fraction_text
from allotment.services.fairness import (
    INSTRUCTED,
    NO_KEY,
    DeviationRow,
    FairnessRow,
    parse_target,
)

COVERED = (
    "instrument_id",
    "allocation_key",
    "target_quantity",
    "given_quantity",
    "increment",
    "price",
)
# References checked set-based, no per-row foreign keys (bulk booking, as allocations).
fairness_records = Table(
    "fairness_records",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    # None: the participant's part of the allocation was nothing (its target was not).
    Column("allocation_id", BigId, nullable=True),
    Column("company_id", BigId, nullable=False),
    Column("account_id", String(50), nullable=False),
    # None: a book-building tranche's distribution (no instrument; the key names the tranche).
    Column("instrument_id", BigId, nullable=True),
    Column("allocation_key", String(50), nullable=False),
    Column("remainder_policy", String(20), nullable=False),
    Column("block_id", BigId, nullable=True),
    Column("target_quantity", String(200), nullable=False),
    Column("given_quantity", ExactDecimal(), nullable=False),
    Column("increment", ExactDecimal(), nullable=False),
    Column("price", ExactDecimal(), nullable=False),
    Column("trade_date", Date(), nullable=False),
    Column("booked_at", UtcDateTime(), nullable=False),
    # Covering (PostgreSQL): the report of one account over a period reads the index alone.
    Index(
        "ix_fairness_company_account_date",
        "company_id",
        "account_id",
        "trade_date",
        postgresql_include=list(COVERED),
    ),
    Index("ix_fairness_company_block", "company_id", "block_id"),
)


COLUMNS = (
    "allocation_id",
    "company_id",
    "account_id",
    "instrument_id",
    "allocation_key",
    "remainder_policy",
    "block_id",
    "target_quantity",
    "given_quantity",
    "increment",
    "price",
    "trade_date",
    "booked_at",
)


def _row(row: Row[tuple[object, ...]]) -> FairnessRow:
    return FairnessRow(
        company_id=row.company_id,
        allocation_id=row.allocation_id,
        account_id=row.account_id,
        instrument_id=row.instrument_id,
        key=row.allocation_key,
        policy=row.remainder_policy,
        block_id=row.block_id,
        target_quantity=Fraction(row.target_quantity),
        given_quantity=row.given_quantity,
        increment=row.increment,
        price=row.price,
        trade_date=row.trade_date,
        booked_at=row.booked_at,
    )


class SqlFairnessRepository:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add_many(self, rows: Sequence[FairnessRow]) -> None:
        """In bulk: COPY on PostgreSQL for large batches (written behind, as allocations)."""
        values = [
            (
                row.allocation_id,
                row.company_id,
                row.account_id,
                row.instrument_id,
                row.key,
                row.policy,
                row.block_id,
                fraction_text(row.target_quantity),
                row.given_quantity,
                row.increment,
                row.price,
                row.trade_date,
                row.booked_at,
            )
            for row in rows
        ]
        insert_values(self._db, fairness_records, COLUMNS, values)

    def remove_key(self, company_id: int, key: str) -> None:
        """The rows of a key without an instrument (a tranche's distribution, replaced)."""
        table = fairness_records.c
        self._db.execute(
            delete(fairness_records).where(
                table.company_id == company_id,
                table.instrument_id.is_(None),
                table.allocation_key == key,
            )
        )

    def rows(
        self,
        company_id: int,
        account_ids: frozenset[str] | None,
        instrument_id: int | None,
        key: str | None,
        period: tuple[date | None, date | None],
    ) -> list[FairnessRow]:
        table = fairness_records.c
        query = _filtered(
            select(fairness_records), company_id, account_ids, instrument_id, key, period
        )
        query = query.order_by(table.allocation_id)
        found = [_row(row) for row in self._db.execute(query)]
        filters = (company_id, account_ids, instrument_id, key, period)
        instructed = _instructed(filters, allocations.c.id, allocations.c.block_id)
        if instructed is None:
            return found
        return found + [
            FairnessRow(
                company_id,
                allocation,
                account,
                instrument,
                NO_KEY,
                INSTRUCTED,
                block,
                Fraction(given),
                given,
                increment,
                price,
                day,
                at,
            )
            for allocation, block, account, instrument, given, increment, price, day, at in (
                self._db.execute(instructed.add_columns(allocations.c.created_at)).all()
            )
        ]

    def deviations(
        self,
        company_id: int,
        account_ids: frozenset[str] | None,
        instrument_id: int | None,
        key: str | None,
        period: tuple[date | None, date | None],
        *,
        instructed: bool = True,
    ) -> list[DeviationRow]:
        """Only the covered columns, unordered: one account's rows are an index-only scan.
        With `instructed`, the allocations without a row follow (as ``Instructed`` rows)."""
        table = fairness_records.c
        query = select(
            table.account_id,
            table.instrument_id,
            table.allocation_key,
            table.target_quantity,
            table.given_quantity,
            table.increment,
            table.price,
            table.trade_date,
        )
        query = _filtered(query, company_id, account_ids, instrument_id, key, period)
        found = [
            DeviationRow(a, i, k, *parse_target(t), g, n, p, d)
            # fetchall: one call for the rows, not one per row
            for a, i, k, t, g, n, p, d in self._db.execute(query).all()
        ]
        if not instructed:
            return found
        without = _instructed((company_id, account_ids, instrument_id, key, period))
        if without is not None:
            found += [
                DeviationRow(a, i, NO_KEY, *_ratio(g), g, n, p, d)
                for a, i, g, n, p, d in self._db.execute(without).all()
            ]
        return found

    def by_allocation(
        self, company_id: int, account_id: str, trade_date: date, allocation_id: int
    ) -> FairnessRow | None:
        """An allocation's row, found through the account's index (its day's rows)."""
        table = fairness_records.c
        found = self._db.execute(
            select(fairness_records).where(
                table.company_id == company_id,
                table.account_id == account_id,
                table.trade_date == trade_date,
                table.allocation_id == allocation_id,
            )
        ).first()
        return None if found is None else _row(found)


_Query = TypeVar("_Query", bound=Select[Any])


def _filtered(
    query: _Query,
    company_id: int,
    account_ids: frozenset[str] | None,
    instrument_id: int | None,
    key: str | None,
    period: tuple[date | None, date | None],
) -> _Query:
    """The report's filters: the company, and each of the others when given."""
    table = fairness_records.c
    query = query.where(table.company_id == company_id)
    if account_ids is not None:
        query = query.where(table.account_id.in_(sorted(account_ids)))
    if instrument_id is not None:
        query = query.where(table.instrument_id == instrument_id)
    if key is not None:
        query = query.where(table.allocation_key == key)
    start, end = period
    if start is not None:
        query = query.where(table.trade_date >= start)
    if end is not None:
        query = query.where(table.trade_date <= end)
    return query


def _ratio(quantity: Decimal) -> tuple[int, int]:
    """An instructed row's exact target: what it was given."""
    numerator, denominator = quantity.as_integer_ratio()
    return numerator, denominator


_Filters = tuple[
    int, frozenset[str] | None, int | None, str | None, tuple[date | None, date | None]
]


def _instructed(filters: _Filters, *first: Any) -> Select[Any] | None:
    """The allocations in the report's filters that wrote no fairness row, read as
    ``Instructed`` rows: (first columns, account, instrument, given, increment, price, trade
    date). None when the key asked for is a stored key (an instructed row has none).

    A booking writes its fairness rows on the allocation's trade date, so the anti-join
    probes ``ix_fairness_company_account_date`` for the allocation's account and day only."""
    company_id, account_ids, instrument_id, key, (start, end) = filters
    if key is not None and key != NO_KEY:
        return None
    a, f = allocations.c, fairness_records.c
    recorded = exists().where(
        and_(
            f.company_id == a.company_id,
            f.account_id == a.account_id,
            f.trade_date == a.trade_date,
            f.allocation_id == a.id,
        )
    )
    query = (
        select(
            *first,
            a.account_id,
            a.instrument_id,
            a.quantity,
            instruments.c.quantity_increment,
            a.price,
            a.trade_date,
        )
        .join_from(allocations, instruments, instruments.c.id == a.instrument_id)
        .where(a.company_id == company_id, ~recorded)
    )
    if account_ids is not None:
        query = query.where(a.account_id.in_(sorted(account_ids)))
    if instrument_id is not None:
        query = query.where(a.instrument_id == instrument_id)
    if start is not None:
        query = query.where(a.trade_date >= start)
    if end is not None:
        query = query.where(a.trade_date <= end)
    return query
