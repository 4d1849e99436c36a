"""bookbuilding: deals, tranches, investor accounts, indications and CAS allocations

Revision ID: 0005
Revises: 0001
Written by hand: only the book-building tables (other capabilities share the metadata).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from allotment.adapters.database.types import ExactDecimal, UtcDateTime

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CompanyId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Id = sa.String(length=36)
SortText = sa.String(length=30).with_variant(sa.String(length=30, collation="C"), "postgresql")


def _company(short: str) -> list[Any]:
    return [
        sa.Column("company_id", CompanyId, nullable=False),
        sa.ForeignKeyConstraint(["company_id"], ["companies.id"], name=f"fk_bb_{short}_company_id"),
    ]


def _stamps() -> list[Any]:
    return [
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "bookbuilding_deals",
        sa.Column("id", Id, nullable=False),
        *_company("deals"),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("issuer", sa.String(length=200), nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name="pk_bookbuilding_deals"),
    )
    op.create_index("ix_bookbuilding_deals_company_id", "bookbuilding_deals", ["company_id"])
    op.create_table(
        "bookbuilding_tranches",
        sa.Column("id", Id, nullable=False),
        *_company("tranches"),
        sa.Column("deal_id", Id, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("offered_size", ExactDecimal(), nullable=False),
        sa.Column("offer_price", ExactDecimal(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("minimum_allocation", ExactDecimal(), nullable=False),
        *_stamps(),
        sa.ForeignKeyConstraint(
            ["deal_id"],
            ["bookbuilding_deals.id"],
            name="fk_bb_tranches_deal_id",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_bookbuilding_tranches"),
    )
    op.create_index(
        "ix_bookbuilding_tranches_company_deal", "bookbuilding_tranches", ["company_id", "deal_id"]
    )
    op.create_table(
        "bookbuilding_investor_accounts",
        sa.Column("id", Id, nullable=False),
        *_company("investors"),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("finra_5130", sa.Boolean(), nullable=False),
        sa.Column("finra_5131", sa.Boolean(), nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name="pk_bookbuilding_investor_accounts"),
    )
    op.create_index(
        "ix_bookbuilding_investor_accounts_company_id",
        "bookbuilding_investor_accounts",
        ["company_id"],
    )
    op.create_table(
        "bookbuilding_indications",
        sa.Column("id", Id, nullable=False),
        *_company("indications"),
        sa.Column("deal_id", Id, nullable=False),
        sa.Column("tranche_id", Id, nullable=False),
        sa.Column("investor_account_id", Id, nullable=False),
        sa.Column("demand_type", sa.String(length=10), nullable=False),
        sa.Column("demand_amount", ExactDecimal(), nullable=False),
        sa.Column("limit_price", ExactDecimal(), nullable=True),
        sa.Column("priority_tier", sa.Integer(), nullable=False),
        *_stamps(),
        sa.ForeignKeyConstraint(
            ["deal_id"],
            ["bookbuilding_deals.id"],
            name="fk_bb_indications_deal_id",
        ),
        sa.ForeignKeyConstraint(
            ["tranche_id"],
            ["bookbuilding_tranches.id"],
            name="fk_bb_indications_tranche_id",
        ),
        sa.ForeignKeyConstraint(
            ["investor_account_id"],
            ["bookbuilding_investor_accounts.id"],
            name="fk_bb_indications_investor_account_id",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_bookbuilding_indications"),
    )
    op.create_index(
        "ix_bookbuilding_indications_company_tranche",
        "bookbuilding_indications",
        ["company_id", "tranche_id"],
    )
    op.create_table(
        "bookbuilding_allocations",
        sa.Column("id", Id, nullable=False),
        *_company("allocations"),
        sa.Column("deal_id", Id, nullable=False),
        sa.Column("tranche_id", Id, nullable=False),
        sa.Column("investor_account_id", Id, nullable=False),
        sa.Column("indication_id", Id, nullable=True),
        sa.Column("indication_group_id", sa.String(length=200), nullable=True),
        sa.Column("source_id", sa.String(length=200), nullable=True),
        sa.Column("source_row_version", sa.String(length=200), nullable=True),
        sa.Column("order_status", sa.String(length=20), nullable=False),
        sa.Column("distribution_type", sa.String(length=10), nullable=False),
        sa.Column("value_type", sa.String(length=10), nullable=False),
        sa.Column("amount", ExactDecimal(), nullable=False),
        sa.Column("amount_key", SortText, nullable=False),
        sa.Column("override_type", sa.String(length=10), nullable=True),
        sa.Column("override_amount", ExactDecimal(), nullable=True),
        sa.Column("is_affirmed", sa.Boolean(), nullable=True),
        sa.Column("extras", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_modified_by", sa.String(length=200), nullable=False),
        sa.Column("last_modified_at", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_bookbuilding_allocations"),
        sa.UniqueConstraint("company_id", "source_id", name="uq_bookbuilding_allocations_source"),
    )
    table = "bookbuilding_allocations"
    for name, columns, include in INDEXES:
        op.create_index(name, table, columns, postgresql_include=include)


# (name, key columns, columns PostgreSQL keeps in the index so that counts need no heap)
INDEXES: list[tuple[str, list[str], list[str]]] = [
    ("ix_bookbuilding_allocations_created", ["company_id", "created_at", "id"], []),
    ("ix_bookbuilding_allocations_modified", ["company_id", "last_modified_at"], []),
    (
        "ix_bookbuilding_allocations_deal",
        ["company_id", "deal_id", "created_at"],
        ["order_status", "distribution_type"],
    ),
    ("ix_bookbuilding_allocations_tranche", ["company_id", "tranche_id", "amount_key"], []),
    (
        "ix_bookbuilding_allocations_investor",
        ["company_id", "investor_account_id", "last_modified_at"],
        ["amount_key", "order_status"],
    ),
    ("ix_bookbuilding_allocations_indication", ["company_id", "indication_id"], []),
]


def downgrade() -> None:
    for name, _columns, _include in reversed(INDEXES):
        op.drop_index(name, table_name="bookbuilding_allocations")
    op.drop_table("bookbuilding_allocations")
    op.drop_index("ix_bookbuilding_indications_company_tranche", "bookbuilding_indications")
    op.drop_table("bookbuilding_indications")
    op.drop_index("ix_bookbuilding_investor_accounts_company_id", "bookbuilding_investor_accounts")
    op.drop_table("bookbuilding_investor_accounts")
    op.drop_index("ix_bookbuilding_tranches_company_deal", "bookbuilding_tranches")
    op.drop_table("bookbuilding_tranches")
    op.drop_index("ix_bookbuilding_deals_company_id", "bookbuilding_deals")
    op.drop_table("bookbuilding_deals")
