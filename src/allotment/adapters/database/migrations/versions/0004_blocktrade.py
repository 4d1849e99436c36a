"""blocktrade: the client orders created for child allocations of master block trades

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-21 14:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import allotment.adapters.database.types

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "blocktrade_orders",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("company_id", BIG_ID, nullable=False),
        sa.Column("block_id", BIG_ID, nullable=False),
        sa.Column("allocation_id", BIG_ID, nullable=False),
        sa.Column("client_id", BIG_ID, nullable=False),
        sa.Column("account_id", sa.String(length=50), nullable=False),
        sa.Column("allocation_reference", sa.String(length=16), nullable=False),
        sa.Column(
            "created_at",
            allotment.adapters.database.types.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_blocktrade_orders_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["allocation_id"],
            ["allocations.id"],
            name=op.f("fk_blocktrade_orders_allocation_id_allocations"),
        ),
        sa.ForeignKeyConstraint(
            ["block_id"], ["blocks.id"], name=op.f("fk_blocktrade_orders_block_id_blocks")
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_blocktrade_orders_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_blocktrade_orders_company_id_companies"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blocktrade_orders")),
        sa.UniqueConstraint("allocation_id", name=op.f("uq_blocktrade_orders_allocation_id")),
    )
    with op.batch_alter_table("blocktrade_orders", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_blocktrade_orders_block_id"), ["block_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("blocktrade_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_blocktrade_orders_block_id"))
    op.drop_table("blocktrade_orders")
