"""Tables and repository of the block-trade dialect: the client order created for each child
allocation of a master block trade (its id is the dialect's OrderID). They share the
foundation's metadata; the repository is reached as `uow.blocktrade`."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Column, Connection, ForeignKey, String, Table, select

from allotment.adapters.database.bulk import insert_rows, reserve_ids
from allotment.adapters.database.tables import BigId, metadata
from allotment.adapters.database.types import UtcDateTime
from allotment.services.blocktrade.children import ClientOrder

blocktrade_orders = Table(
    "blocktrade_orders",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("company_id", ForeignKey("companies.id"), nullable=False),
    Column("block_id", ForeignKey("blocks.id"), nullable=False, index=True),
    Column("allocation_id", ForeignKey("allocations.id"), nullable=False, unique=True),
    Column("client_id", ForeignKey("clients.id"), nullable=False),
    Column("account_id", ForeignKey("accounts.id"), nullable=False),
    Column("allocation_reference", String(16), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", String(200), nullable=False),
)


class SqlBlockTradeRepository:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add_many(self, orders: Sequence[ClientOrder]) -> list[int]:
        """Store the orders in bulk (ids reserved in one statement); returns their ids."""
        ids = reserve_ids(self._db, blocktrade_orders, len(orders))
        insert_rows(
            self._db,
            blocktrade_orders,
            [
                {**{name: getattr(order, name) for name in _VALUES}, "id": new_id}
                for new_id, order in zip(ids, orders, strict=True)
            ],
        )
        return ids

    def of_block(self, company_id: int, block_id: int) -> list[ClientOrder]:
        o = blocktrade_orders
        query = (
            select(o).where(o.c.company_id == company_id, o.c.block_id == block_id).order_by(o.c.id)
        )
        return [
            ClientOrder(**{name: getattr(row, name) for name in _FIELDS})
            for row in self._db.execute(query)
        ]


_FIELDS = [column.name for column in blocktrade_orders.columns]
_VALUES = [name for name in _FIELDS if name != "id"]
