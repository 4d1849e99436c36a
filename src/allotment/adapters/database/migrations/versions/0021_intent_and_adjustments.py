"""pre-trade intent, allocation adjustments, and the fairness ledger read by a covering index

Revision ID: 0021
Revises: 0020
Written by hand. A block's intended allocation (a key's split or an explicit list, written once
before its first fill), each adjustment a fill's allocation made to what the engine decided (a
margin reduction, a refusal, a booking to the error account, an over-fill), and the fairness
ledger's per-account index made covering, so that the report of one account over a period
reads the index alone (decision 0041).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import allotment.adapters.database.types

revision: str = "0021"
down_revision: str | Sequence[str] | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
COVERED = [
    "instrument_id",
    "allocation_key",
    "target_quantity",
    "given_quantity",
    "increment",
    "price",
]


def upgrade() -> None:
    exact = allotment.adapters.database.types.ExactDecimal
    moment = allotment.adapters.database.types.UtcDateTime
    op.create_table(
        "block_intents",
        sa.Column("company_id", BIG_ID, nullable=False),
        sa.Column("block_id", BIG_ID, nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("allocation_key_id", sa.String(length=50), nullable=True),
        sa.Column("recorded_at", moment(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("company_id", "block_id", name=op.f("pk_block_intents")),
    )
    op.create_table(
        "block_intent_lines",
        sa.Column("company_id", BIG_ID, nullable=False),
        sa.Column("block_id", BIG_ID, nullable=False),
        sa.Column("account_id", sa.String(length=50), nullable=False),
        sa.Column("intended_quantity", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint(
            "company_id", "block_id", "account_id", name=op.f("pk_block_intent_lines")
        ),
    )
    op.create_table(
        "allocation_adjustments",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("company_id", BIG_ID, nullable=False),
        sa.Column("block_id", BIG_ID, nullable=False),
        sa.Column("fill_sequence", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(length=50), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("quantity", exact(), nullable=False),
        sa.Column("detail", sa.String(length=200), nullable=False),
        sa.Column("price", exact(), nullable=False),
        sa.Column("trade_date", sa.Date(), nullable=False),
        sa.Column("recorded_at", moment(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allocation_adjustments")),
    )
    op.create_index(
        "ix_allocation_adjustments_block",
        "allocation_adjustments",
        ["company_id", "block_id", "account_id"],
        unique=False,
    )
    op.drop_index("ix_fairness_company_account_date", table_name="fairness_records")
    op.create_index(
        "ix_fairness_company_account_date",
        "fairness_records",
        ["company_id", "account_id", "trade_date"],
        unique=False,
        postgresql_include=COVERED,
    )
    op.create_index(
        "ix_fairness_company_block", "fairness_records", ["company_id", "block_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_fairness_company_block", table_name="fairness_records")
    op.drop_index("ix_fairness_company_account_date", table_name="fairness_records")
    op.create_index(
        "ix_fairness_company_account_date",
        "fairness_records",
        ["company_id", "account_id", "trade_date"],
        unique=False,
    )
    op.drop_index("ix_allocation_adjustments_block", table_name="allocation_adjustments")
    op.drop_table("allocation_adjustments")
    op.drop_table("block_intent_lines")
    op.drop_table("block_intents")
