"""The book-building capability's tables (decision 0008): deals, tranches, investor accounts,
indications and allocations, every searchable field of a CAS allocation a column."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from allotment.adapters.database.tables import metadata
from allotment.adapters.database.types import ExactDecimal, UtcDateTime

Id = String(36)
SortText = String(30).with_variant(String(30, collation="C"), "postgresql")

deals = Table(
    "bookbuilding_deals",
    metadata,
    Column("id", Id, primary_key=True),
    Column(
        "company_id",
        ForeignKey("companies.id", name="fk_bb_deals_company_id"),
        nullable=False,
        index=True,
    ),
    Column("name", String(200), nullable=False),
    Column("issuer", String(200), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", String(200), nullable=False),
)

tranches = Table(
    "bookbuilding_tranches",
    metadata,
    Column("id", Id, primary_key=True),
    Column(
        "company_id", ForeignKey("companies.id", name="fk_bb_tranches_company_id"), nullable=False
    ),
    Column(
        "deal_id",
        ForeignKey("bookbuilding_deals.id", name="fk_bb_tranches_deal_id"),
        nullable=False,
    ),
    Column("name", String(200), nullable=False),
    Column("offered_size", ExactDecimal(), nullable=False),
    Column("offer_price", ExactDecimal(), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("minimum_allocation", ExactDecimal(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", String(200), nullable=False),
    Index("ix_bookbuilding_tranches_company_deal", "company_id", "deal_id"),
)

investor_accounts = Table(
    "bookbuilding_investor_accounts",
    metadata,
    Column("id", Id, primary_key=True),
    Column(
        "company_id",
        ForeignKey("companies.id", name="fk_bb_investors_company_id"),
        nullable=False,
        index=True,
    ),
    Column("name", String(200), nullable=False),
    Column("finra_5130", Boolean(), nullable=False),
    Column("finra_5131", Boolean(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", String(200), nullable=False),
)

indications = Table(
    "bookbuilding_indications",
    metadata,
    Column("id", Id, primary_key=True),
    Column(
        "company_id",
        ForeignKey("companies.id", name="fk_bb_indications_company_id"),
        nullable=False,
    ),
    Column(
        "deal_id",
        ForeignKey("bookbuilding_deals.id", name="fk_bb_indications_deal_id"),
        nullable=False,
    ),
    Column(
        "tranche_id",
        ForeignKey("bookbuilding_tranches.id", name="fk_bb_indications_tranche_id"),
        nullable=False,
    ),
    Column(
        "investor_account_id",
        ForeignKey(
            "bookbuilding_investor_accounts.id", name="fk_bb_indications_investor_account_id"
        ),
        nullable=False,
    ),
    Column("demand_type", String(10), nullable=False),
    Column("demand_amount", ExactDecimal(), nullable=False),
    Column("limit_price", ExactDecimal(), nullable=True),
    Column("priority_tier", Integer(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", String(200), nullable=False),
    Index("ix_bookbuilding_indications_company_tranche", "company_id", "tranche_id"),
)

allocations = Table(
    "bookbuilding_allocations",
    metadata,
    Column("id", Id, primary_key=True),
    Column(
        "company_id",
        ForeignKey("companies.id", name="fk_bb_allocations_company_id"),
        nullable=False,
    ),
    Column("deal_id", Id, nullable=False),
    Column("tranche_id", Id, nullable=False),
    Column("investor_account_id", Id, nullable=False),
    Column("indication_id", Id, nullable=True),
    Column("indication_group_id", String(200), nullable=True),
    Column("source_id", String(200), nullable=True),
    Column("source_row_version", String(200), nullable=True),
    Column("order_status", String(20), nullable=False),
    Column("distribution_type", String(10), nullable=False),
    Column("value_type", String(10), nullable=False),
    Column("amount", ExactDecimal(), nullable=False),
    Column("amount_key", SortText, nullable=False),
    Column("override_type", String(10), nullable=True),
    Column("override_amount", ExactDecimal(), nullable=True),
    Column("is_affirmed", Boolean(), nullable=True),
    Column("extras", Text(), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("last_modified_by", String(200), nullable=False),
    Column("last_modified_at", UtcDateTime(), nullable=False),
    UniqueConstraint("company_id", "source_id", name="uq_bookbuilding_allocations_source"),
    Index("ix_bookbuilding_allocations_created", "company_id", "created_at", "id"),
    Index("ix_bookbuilding_allocations_modified", "company_id", "last_modified_at"),
    # INCLUDE lets PostgreSQL count a deal's (or an investor's) matches from the index alone.
    Index(
        "ix_bookbuilding_allocations_deal",
        "company_id",
        "deal_id",
        "created_at",
        postgresql_include=["order_status", "distribution_type"],
    ),
    Index("ix_bookbuilding_allocations_tranche", "company_id", "tranche_id", "amount_key"),
    Index(
        "ix_bookbuilding_allocations_investor",
        "company_id",
        "investor_account_id",
        "last_modified_at",
        postgresql_include=["amount_key", "order_status"],
    ),
    Index("ix_bookbuilding_allocations_indication", "company_id", "indication_id"),
)
