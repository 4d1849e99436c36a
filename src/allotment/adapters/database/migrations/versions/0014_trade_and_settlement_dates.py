"""trade and settlement dates: the company's time zone, each instrument's market, ISIN, CUSIP
and settlement cycle, and each allocation's settlement date and late flag

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "companies",
        sa.Column("time_zone", sa.String(length=64), nullable=False, server_default="UTC"),
    )
    op.add_column("instruments", sa.Column("isin", sa.String(length=12), nullable=True))
    op.add_column("instruments", sa.Column("cusip", sa.String(length=9), nullable=True))
    op.add_column("instruments", sa.Column("market", sa.String(length=10), nullable=True))
    op.add_column("instruments", sa.Column("settlement_days", sa.Integer(), nullable=True))
    # Allocations booked before this revision keep no settlement date (NULL) and are not late.
    op.add_column("allocations", sa.Column("settlement_date", sa.Date(), nullable=True))
    op.add_column(
        "allocations",
        sa.Column("late", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    # Each column dropped in place: a batch would copy `instruments` and `companies`, which
    # other tables' foreign keys refer to (SQLite 3.35 and later drop a column in place).
    for table, column in DROPPED:
        op.drop_column(table, column)


DROPPED = (
    ("allocations", "late"),
    ("allocations", "settlement_date"),
    ("instruments", "settlement_days"),
    ("instruments", "market"),
    ("instruments", "cusip"),
    ("instruments", "isin"),
    ("companies", "time_zone"),
)
