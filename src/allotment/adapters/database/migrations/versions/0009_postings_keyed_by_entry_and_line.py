"""postings keyed by their entry and line

Revision ID: 0009
Revises: 0007
Written by hand. A posting was a row with an id of its own (drawn from a sequence, one call per
row) and an index on its entry; nothing ever referred to a posting by that id, and its entry and
its place in the entry say the same. The primary key is now (entry_id, line), line counting
from 0 in the entry's order: one index fewer and no sequence for the 500,000 postings of a
100,000-participant fill (a quarter of their cost on PostgreSQL). On SQLite the table is
clustered on that key (WITHOUT ROWID), so the entry's postings sit together as they did.

Both databases: the table is copied into its new form (line numbered in the order of the old
ids) and the old one dropped; nothing refers to postings (0006), so nothing else moves.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from allotment.adapters.database.types import ExactDecimal

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
VALUES = "account_id, kind, asset, amount, price"


def _posting_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("account_id", sa.String(length=50), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("asset", sa.String(length=20), nullable=False),
        sa.Column("amount", ExactDecimal(), nullable=False),
        sa.Column("price", ExactDecimal(), nullable=True),
    ]


def _set_aside() -> None:
    """The current table renamed out of the way, its key's name (global on PostgreSQL) freed."""
    op.rename_table("postings", "postings_old")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE postings_old RENAME CONSTRAINT pk_postings TO pk_postings_old")


def upgrade() -> None:
    _set_aside()
    op.create_table(
        "postings",
        sa.Column("entry_id", BIG_ID, autoincrement=False, nullable=False),
        sa.Column("line", sa.Integer(), autoincrement=False, nullable=False),
        *_posting_columns(),
        sa.PrimaryKeyConstraint("entry_id", "line", name="pk_postings"),
        sqlite_with_rowid=False,
    )
    op.execute(
        f"INSERT INTO postings (entry_id, line, {VALUES}) "
        "SELECT entry_id, row_number() OVER (PARTITION BY entry_id ORDER BY id) - 1, "
        f"{VALUES} FROM postings_old"
    )
    op.drop_table("postings_old")  # with its indexes, whose names the new ones take
    op.create_index("ix_postings_account_asset", "postings", ["account_id", "kind", "asset"])


def downgrade() -> None:
    _set_aside()
    op.create_table(
        "postings",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("entry_id", BIG_ID, nullable=False),
        *_posting_columns(),
        sa.PrimaryKeyConstraint("id", name="pk_postings"),
    )
    op.execute(
        f"INSERT INTO postings (id, entry_id, {VALUES}) "
        "SELECT row_number() OVER (ORDER BY entry_id, line), entry_id, "
        f"{VALUES} FROM postings_old"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "SELECT setval(pg_get_serial_sequence('postings', 'id'), "
            "coalesce((SELECT max(id) FROM postings), 0) + 1, false)"
        )
    op.drop_table("postings_old")  # with its indexes, whose names the new ones take
    op.create_index("ix_postings_account_asset", "postings", ["account_id", "kind", "asset"])
    op.create_index("ix_postings_entry_id", "postings", ["entry_id"])
