"""The allocation export's query (services/exports.py), reached as `uow.exports`:
every filter in one statement, paged by id (keyset), so that a page costs the same wherever it
starts."""

from __future__ import annotations

from sqlalchemy import Connection, select

from allotment.adapters.database import tables as t
from allotment.adapters.database.repositories.records import allocation_from_row
from allotment.services.exports import AllocationQuery
from allotment.services.ports import AllocationRow


class SqlExportRepository:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def allocations(self, query: AllocationQuery) -> list[AllocationRow]:
        a = t.allocations
        found = select(a).where(a.c.company_id == query.company_id, a.c.id > query.after)
        if query.account_ids is not None:
            found = found.where(a.c.account_id.in_(sorted(query.account_ids)))
        if query.client_id is not None:
            owned = select(t.accounts.c.id).where(
                t.accounts.c.company_id == query.company_id,
                t.accounts.c.client_id == query.client_id,
            )
            found = found.where(a.c.account_id.in_(owned))
        equal = {
            a.c.account_id: query.account_id,
            a.c.instrument_id: query.instrument_id,
            a.c.side: query.side,
            a.c.status: query.status,
            a.c.dialect: query.dialect,
            a.c.block_id: query.block_id,
        }
        for column, value in equal.items():
            if value is not None:
                found = found.where(column == value)
        if query.trade_date_from is not None:
            found = found.where(a.c.trade_date >= query.trade_date_from)
        if query.trade_date_to is not None:
            found = found.where(a.c.trade_date <= query.trade_date_to)
        rows = self._db.execute(found.order_by(a.c.id).limit(query.limit))
        return [allocation_from_row(row) for row in rows]
