"""refusals: the allocation items each dialect refused; the audit trail searchable by object

Revision ID: 0020
Revises: 0019
Written by hand. The desk's exceptions queue lists refused allocation items (decision 0027,
later additions): each dialect records the items it refuses with the account, the code and the
message it answered. The audit page filters by object id, on an index of its own.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import allotment.adapters.database.types

revision: str = "0020"
down_revision: str | Sequence[str] | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_DATETIME = allotment.adapters.database.types.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "refusals",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("company_id", BIG_ID, nullable=False),
        sa.Column("dialect", sa.String(length=30), nullable=False),
        sa.Column("object_ref", sa.String(length=100), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=True),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.id"], name=op.f("fk_refusals_company_id_companies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refusals")),
    )
    op.create_index("ix_refusals_company_at", "refusals", ["company_id", "at"])
    op.create_index("ix_audit_events_company_object", "audit_events", ["company_id", "object_id"])


def downgrade() -> None:
    op.drop_index("ix_audit_events_company_object", table_name="audit_events")
    op.drop_index("ix_refusals_company_at", table_name="refusals")
    op.drop_table("refusals")
