"""the fairness ledger for every dialect: tranche rows without an instrument, refusals by block

Revision ID: 0023
Revises: 0021
Written by hand. A book-building tranche's distribution writes its exact targets to the
fairness ledger with no instrument (its key names the tranche), so the column allows none;
a refused item keeps the block it allocated from and the quantity it asked for, where its
dialect says, and is found by block for the drift report (decision 0046).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import allotment.adapters.database.types

revision: str = "0023"
down_revision: str | Sequence[str] | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("fairness_records") as batch:
        batch.alter_column("instrument_id", existing_type=BIG_ID, nullable=True)
    with op.batch_alter_table("refusals") as batch:
        batch.add_column(sa.Column("block_id", BIG_ID, nullable=True))
        batch.add_column(
            sa.Column("quantity", allotment.adapters.database.types.ExactDecimal(), nullable=True)
        )
    op.create_index("ix_refusals_company_block", "refusals", ["company_id", "block_id"])


def downgrade() -> None:
    op.drop_index("ix_refusals_company_block", table_name="refusals")
    with op.batch_alter_table("refusals") as batch:
        batch.drop_column("quantity")
        batch.drop_column("block_id")
    op.execute("DELETE FROM fairness_records WHERE instrument_id IS NULL")
    with op.batch_alter_table("fairness_records") as batch:
        batch.alter_column("instrument_id", existing_type=BIG_ID, nullable=False)
