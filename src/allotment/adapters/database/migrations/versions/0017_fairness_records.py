"""fairness records: each engine-decided allocation's exact target and given quantity

Revision ID: 0017
Revises: 0016
Written by hand. One row per participant of an allocation whose quantity the engine decided
(a key's split, a fill's part): the exact target as fraction text, the quantity given, the
increment and the price (a participant given nothing has a row without an allocation), so that
the cumulative deviation per account, instrument and key can be reported over any period
(decision 0031). No per-row foreign keys: rows are written in bulk with the allocations.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import allotment.adapters.database.types

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    exact = allotment.adapters.database.types.ExactDecimal
    op.create_table(
        "fairness_records",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("allocation_id", BIG_ID, nullable=True),
        sa.Column("company_id", BIG_ID, nullable=False),
        sa.Column("account_id", sa.String(length=50), nullable=False),
        sa.Column("instrument_id", BIG_ID, nullable=False),
        sa.Column("allocation_key", sa.String(length=50), nullable=False),
        sa.Column("remainder_policy", sa.String(length=20), nullable=False),
        sa.Column("block_id", BIG_ID, nullable=True),
        sa.Column("target_quantity", sa.String(length=200), nullable=False),
        sa.Column("given_quantity", exact(), nullable=False),
        sa.Column("increment", exact(), nullable=False),
        sa.Column("price", exact(), nullable=False),
        sa.Column("trade_date", sa.Date(), nullable=False),
        sa.Column(
            "booked_at",
            allotment.adapters.database.types.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fairness_records")),
    )
    op.create_index(
        "ix_fairness_company_account_date",
        "fairness_records",
        ["company_id", "account_id", "trade_date"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_fairness_company_account_date", table_name="fairness_records")
    op.drop_table("fairness_records")
