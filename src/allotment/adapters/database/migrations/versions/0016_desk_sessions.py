"""desk_sessions: the operations desk's server-side sessions

Revision ID: 0016
Revises: 0015
Written by hand. The web desk keeps its sessions in the database (decision 0027): the cookie
carries a random token, this table its SHA-256 (`id`), the user it belongs to, the session's
CSRF token, and when it was opened and last used (for the absolute and idle expiry).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import allotment.adapters.database.types

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_DATETIME = allotment.adapters.database.types.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "desk_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("company_id", BIG_ID, nullable=False),
        sa.Column("username", sa.String(length=200), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("last_seen_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.id"], name=op.f("fk_desk_sessions_company_id_companies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_sessions")),
    )
    op.create_index(op.f("ix_desk_sessions_username"), "desk_sessions", ["username"])


def downgrade() -> None:
    op.drop_index(op.f("ix_desk_sessions_username"), table_name="desk_sessions")
    op.drop_table("desk_sessions")
