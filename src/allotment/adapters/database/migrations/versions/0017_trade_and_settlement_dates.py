"""trade and settlement dates: the company's time zone, each instrument's market, ISIN, CUSIP
and settlement cycle, and each allocation's settlement date and late flag

Revision ID: 0017
Revises: 0011
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("companies") as batch:
        batch.add_column(
            sa.Column("time_zone", sa.String(length=64), nullable=False, server_default="UTC")
        )
    with op.batch_alter_table("instruments") as batch:
        batch.add_column(sa.Column("isin", sa.String(length=12), nullable=True))
        batch.add_column(sa.Column("cusip", sa.String(length=9), nullable=True))
        batch.add_column(sa.Column("market", sa.String(length=10), nullable=True))
        batch.add_column(sa.Column("settlement_days", sa.Integer(), nullable=True))
    # Allocations booked before this revision keep no settlement date (NULL) and are not late.
    with op.batch_alter_table("allocations") as batch:
        batch.add_column(sa.Column("settlement_date", sa.Date(), nullable=True))
        batch.add_column(sa.Column("late", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("allocations") as batch:
        batch.drop_column("late")
        batch.drop_column("settlement_date")
    with op.batch_alter_table("instruments") as batch:
        batch.drop_column("settlement_days")
        batch.drop_column("market")
        batch.drop_column("cusip")
        batch.drop_column("isin")
    with op.batch_alter_table("companies") as batch:
        batch.drop_column("time_zone")
