"""clearing: one session per company and trade date, with its stored report

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import allotment.adapters.database.types

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "clearing_sessions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "company_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("trade_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column(
            "closed_at",
            allotment.adapters.database.types.UtcDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column("closed_by", sa.String(length=200), nullable=True),
        sa.Column("allocation_count", sa.Integer(), nullable=True),
        sa.Column("report_json", sa.Text(), nullable=True),
        sa.Column("report_csv", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_clearing_sessions_company_id_companies"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clearing_sessions")),
        sa.UniqueConstraint(
            "company_id", "trade_date", name="uq_clearing_sessions_company_trade_date"
        ),
    )


def downgrade() -> None:
    op.drop_table("clearing_sessions")
