"""Block orders of the Saxo dialect and their holders' running state, read and written in bulk.

A fill of a block order with 100,000 participants reads and rewrites 100,000 holders and reads
as many accounts: these paths use plain SQL (`text`) and build the records directly, without
the per-row type processing of table selects, which costs more than the database at that size.
Exact amounts are text on SQLite and NUMERIC on PostgreSQL (see types.ExactDecimal).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from decimal import Decimal
from functools import partial
from operator import attrgetter
from typing import Any

from sqlalchemy import Connection, bindparam, select, text, update

from allotment.adapters.database.behind import later
from allotment.adapters.database.bulk import (
    STAGE_THRESHOLD,
    DecimalCache,
    driver_rows,
    insert_rows,
    sqlite_decimal_texts,
    stage,
)
from allotment.adapters.database.repositories.accounts import ACCOUNT_COLUMNS, account_from_row
from allotment.adapters.database.saxo.tables import saxo_block_holders, saxo_block_orders
from allotment.domain.accounts import Account
from allotment.domain.allocation.fills import FillPolicy
from allotment.domain.allocation.model import RemainderPolicy
from allotment.services.saxo.records import BlockOrder, Holder, MarginHandling

CHUNK = 5000
FIGURES = (
    "allocated_quantity",
    "held_quantity",
    "paid_amount",
    "cost_amount",
    "commission",
    "tax",
    "other_fees",
)
HOLDER_COLUMNS = (
    "block_id",
    "account_id",
    "position",
    "target_quantity",
    "priority",
    "accepts_remainder",
    "is_error_account",
    *FIGURES,
    "exact_target",
)


class SqlSaxoBlockRepository:
    def __init__(self, connection: Connection) -> None:
        self._db = connection
        self._postgres = connection.dialect.name == "postgresql"

    def add_block_order(self, order: BlockOrder, holders: Sequence[Holder]) -> None:
        self._db.execute(saxo_block_orders.insert().values(**asdict(order)))
        self.save_holders(holders)

    def block_order(self, block_id: int) -> BlockOrder | None:
        row = self._db.execute(
            select(saxo_block_orders).where(saxo_block_orders.c.block_id == block_id)
        ).first()
        if row is None:
            return None
        values = row._asdict()
        values["margin_handling"] = MarginHandling(values["margin_handling"])
        values["fill_policy"] = FillPolicy(values["fill_policy"])
        values["remainder_policy"] = RemainderPolicy(values["remainder_policy"])
        return BlockOrder(**values)

    def set_residue(self, block_id: int, residue_amount: Decimal) -> None:
        self._db.execute(
            update(saxo_block_orders)
            .where(saxo_block_orders.c.block_id == block_id)
            .values(residue_amount=residue_amount)
        )

    def holders(self, block_id: int) -> list[Holder]:
        rows = driver_rows(
            self._db,
            f"SELECT {', '.join(HOLDER_COLUMNS)} FROM saxo_block_holders "
            f"WHERE block_id = {'%s' if self._postgres else '?'} ORDER BY position",
            (block_id,),
        )
        # A block's figures repeat (most are 0 before its first fill): each text read once.
        number = DecimalCache()
        return [_holder(row, number) for row in rows]

    def save_holders(self, holders: Sequence[Holder]) -> None:
        """Insert the new holders, update the others (one statement on PostgreSQL, one
        executemany on SQLite)."""
        new: list[Holder] = []
        changed: list[Holder] = []
        for holder in holders:
            (new if holder.is_new else changed).append(holder)
        insert_rows(
            self._db,
            saxo_block_holders,
            [{name: getattr(h, name) for name in HOLDER_COLUMNS} for h in new],
        )
        for holder in new:
            holder.is_new = False
        if not changed:
            return
        if self._postgres:
            self._update_postgres(changed)
        else:
            self._update_sqlite(changed)

    def _update_sqlite(self, changed: Sequence[Holder]) -> None:
        assignments = ", ".join(f"{name} = ?" for name in FIGURES)
        figures = zip(*map(attrgetter(*FIGURES), changed), strict=True)
        rows = zip(
            *map(sqlite_decimal_texts, figures),
            map(attrgetter("block_id"), changed),
            map(attrgetter("account_id"), changed),
            strict=True,
        )
        self._db.exec_driver_sql(
            f"UPDATE saxo_block_holders SET {assignments} WHERE block_id = ? AND account_id = ?",
            list(rows),
        )

    def _update_postgres(self, changed: Sequence[Holder]) -> None:
        """One UPDATE, reading the figures from array parameters, or for large fills from a
        staging table filled by COPY, written behind (`behind`: the figures are taken now)."""
        block_id = changed[0].block_id
        if len(changed) < STAGE_THRESHOLD:
            arrays = ", ".join(f"CAST(:{name} AS numeric[])" for name in FIGURES)
            parameters: dict[str, Any] = {
                "account_ids": [holder.account_id for holder in changed],
                **{name: [getattr(holder, name) for holder in changed] for name in FIGURES},
            }
            self._update_from(
                block_id,
                f"unnest(CAST(:account_ids AS text[]), {arrays}) "
                f"AS v(account_id, {', '.join(FIGURES)})",
                parameters,
            )
            return
        rows = [(h.account_id, *(getattr(h, name) for name in FIGURES)) for h in changed]
        later(self._db, partial(self._update_staged, block_id, rows))

    def _update_staged(self, block_id: int, rows: Sequence[Sequence[Any]]) -> None:
        staged = stage(
            self._db,
            "holder_changes",
            [("account_id", "text"), *((name, "numeric") for name in FIGURES)],
            rows,
        )
        self._update_from(block_id, f"{staged} AS v", {})

    def _update_from(self, block_id: int, source: str, parameters: dict[str, Any]) -> None:
        columns = ", ".join(f"{name} = v.{name}" for name in FIGURES)
        self._db.execute(
            text(
                f"UPDATE saxo_block_holders AS h SET {columns} FROM {source} "
                "WHERE h.block_id = :block_id AND h.account_id = v.account_id"
            ),
            {**parameters, "block_id": block_id},
        )

    def accounts(self, account_ids: Sequence[str]) -> dict[str, Account]:
        """Accounts by id, in chunks, built straight from the rows (the participants of a
        fill: the foundation's reader processes each row through the table's types)."""
        wanted = sorted(set(account_ids))
        query = text(f"SELECT {ACCOUNT_COLUMNS} FROM accounts AS a WHERE a.id IN :ids").bindparams(
            bindparam("ids", expanding=True)
        )
        found: dict[str, Account] = {}
        for start in range(0, len(wanted), CHUNK):
            for row in self._db.execute(query, {"ids": wanted[start : start + CHUNK]}):
                found[row[0]] = account_from_row(row)
        return found


def _holder(row: Any, number: DecimalCache) -> Holder:
    return Holder(
        row[0],
        row[1],
        row[2],
        number[row[3]],
        row[4],
        bool(row[5]),
        bool(row[6]),
        number[row[7]],
        number[row[8]],
        number[row[9]],
        number[row[10]],
        number[row[11]],
        number[row[12]],
        number[row[13]],
        row[14],
    )
