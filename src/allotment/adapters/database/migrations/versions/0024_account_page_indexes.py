"""an account's journal and allocation pages read by index in id order

Revision ID: 0024
Revises: 0023
Written by hand. The journal page of an account and the allocation list filtered by account
are keyset pages in id order. With the account's index on `account_id` alone, every posting or
allocation the account ever had was fetched (one heap page each on a grown book) and sorted to
return the first 50: a page's cost grew with the account's history (decision 0049).

* postings: `ix_postings_account_id` becomes `ix_postings_account_entry` on
  (account_id, entry_id). The page walks the account's entry ids in order from the index alone
  and stops after a page.
* allocations: `ix_allocations_account_id` becomes `ix_allocations_account_keyset` on
  (account_id, id), so that the filtered list reads its page in id order and stops.

Each new index serves every lookup the old one did (the account is its first column), so the
old ones go rather than adding a third index for a fill to write.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0024"
down_revision: str | Sequence[str] | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_postings_account_entry", "postings", ["account_id", "entry_id"])
    op.drop_index("ix_postings_account_id", table_name="postings")
    op.create_index("ix_allocations_account_keyset", "allocations", ["account_id", "id"])
    op.drop_index("ix_allocations_account_id", table_name="allocations")


def downgrade() -> None:
    op.create_index("ix_allocations_account_id", "allocations", ["account_id"])
    op.drop_index("ix_allocations_account_keyset", table_name="allocations")
    op.create_index("ix_postings_account_id", "postings", ["account_id"])
    op.drop_index("ix_postings_account_entry", table_name="postings")
