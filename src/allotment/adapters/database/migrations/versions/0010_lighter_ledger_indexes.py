"""lighter ledger indexes, balances clustered on their key on SQLite

Revision ID: 0010
Revises: 0009
Written by hand. A 100,000-participant fill writes 500,000 postings, 100,000 allocations and
200,000 balances at once; every index on them is written row by row.

* postings: the index by account is on `account_id` alone. The only reader filters on the
  account (a ledger query naming accounts); kind and asset made every key longer to compare and
  store for nothing.
* allocations: `ix_allocations_block_id` goes. The unique constraint on (block_id, reference)
  begins with block_id and serves the same lookups.
* balances, SQLite only: clustered on their key (WITHOUT ROWID), so a balance is one B-tree
  probe to read or upsert instead of the key's index and then the table. Nothing refers to
  balances (0007), so Alembic's batch mode (a copy of the table) is safe here.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_postings_account_asset", table_name="postings")
    op.create_index("ix_postings_account_id", "postings", ["account_id"])
    op.drop_index("ix_allocations_block_id", table_name="allocations")
    _cluster_balances(clustered=True)


def downgrade() -> None:
    _cluster_balances(clustered=False)
    op.create_index("ix_allocations_block_id", "allocations", ["block_id"])
    op.drop_index("ix_postings_account_id", table_name="postings")
    op.create_index("ix_postings_account_asset", "postings", ["account_id", "kind", "asset"])


def _cluster_balances(*, clustered: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table(
        "balances", recreate="always", table_kwargs={"sqlite_with_rowid": not clustered}
    ):
        pass
