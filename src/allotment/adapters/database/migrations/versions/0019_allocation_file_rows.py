"""allocation files: the reference of every imported row, once per company for ever

Revision ID: 0019
Revises: 0018
Written by hand. `allotment import` and POST /api/v1/allocation-files claim each row's
reference (Clear Street's client_trade_id, a native reference, or the file's digest and the
row's line) in the transaction that books it, so that the same file imported again books
nothing and a reference used twice is refused (decision 0033).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | Sequence[str] | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "allocation_file_rows",
        sa.Column("company_id", BIG_ID, nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("import_id", sa.String(length=32), nullable=False),
        sa.Column("line", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_allocation_file_rows_company_id_companies"),
        ),
        sa.PrimaryKeyConstraint("company_id", "reference", name=op.f("pk_allocation_file_rows")),
    )


def downgrade() -> None:
    op.drop_table("allocation_file_rows")
