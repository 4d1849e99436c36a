"""fix: Saxo block orders by FIX (35=D) and what the acceptor has told each session

Revision ID: 0018
Revises: 0017
Written by hand. A block order received by FIX is kept by its ClOrdID, unique within its
company (a resent 35=D is answered as the first time). A session keeps two cursors, the last
fill (35=8) and the last allocation (35=AS) it was sent, so that a restarted acceptor sends
nothing twice; `subscribe_allocations` asks for the company's allocations booked through any
door.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import allotment.adapters.database.types

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("fix_sessions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "subscribe_allocations", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch_op.add_column(sa.Column("last_fill_id", BIG_ID, nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column("last_allocation_id", BIG_ID, nullable=False, server_default="0")
        )
    op.create_table(
        "fix_orders",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("company_id", BIG_ID, nullable=False),
        sa.Column("cl_ord_id", sa.String(length=100), nullable=False),
        sa.Column("alloc_id", sa.String(length=100), nullable=True),
        sa.Column("session", sa.String(length=200), nullable=False),
        sa.Column("msg_seq_num", sa.Integer(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("block_id", BIG_ID, nullable=True),
        sa.Column(
            "created_at",
            allotment.adapters.database.types.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["block_id"], ["blocks.id"], name=op.f("fk_fix_orders_block_id_blocks")
        ),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.id"], name=op.f("fk_fix_orders_company_id_companies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fix_orders")),
        sa.UniqueConstraint("company_id", "cl_ord_id", name=op.f("uq_fix_orders_company_id")),
    )
    with op.batch_alter_table("fix_orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fix_orders_block_id"), ["block_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_fix_orders_session"), ["session"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("fix_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fix_orders_session"))
        batch_op.drop_index(batch_op.f("ix_fix_orders_block_id"))
    op.drop_table("fix_orders")
    with op.batch_alter_table("fix_sessions", schema=None) as batch_op:
        batch_op.drop_column("last_allocation_id")
        batch_op.drop_column("last_fill_id")
        batch_op.drop_column("subscribe_allocations")
