"""the remainder policy chosen per allocation key, per block and per block order, and each
holder's exact target of a block order

Revision ID: 0022
Revises: 0008 (the Saxo branch: it changes that branch's tables)
Written by hand. A stored allocation key carries its remainder policy (LargestRemainder unless
set); a block may name one of its own (none: its key's); a block order records the policy it
was placed with, and each holder its exact target of the key's split (a fraction as text), so
that every fill is measured against the key's exact weights (decision 0045).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | Sequence[str] | None = "0008"
"""On the Saxo branch, whose tables it changes (and `blocks`, made by 0001 below it): on the
main line a new database could reach it before 0003 makes those tables."""
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT = "LargestRemainder"


def upgrade() -> None:
    # Plain ALTERs (no table copies): `blocks` is referred to by other tables' foreign keys.
    policy = sa.String(length=20)
    op.add_column(
        "saxo_allocation_keys",
        sa.Column("remainder_policy", policy, nullable=False, server_default=DEFAULT),
    )
    op.add_column("blocks", sa.Column("remainder_policy", policy, nullable=True))
    op.add_column(
        "saxo_block_orders",
        sa.Column("remainder_policy", policy, nullable=False, server_default=DEFAULT),
    )
    op.add_column(
        "saxo_block_holders", sa.Column("exact_target", sa.String(length=200), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("saxo_block_holders", "exact_target")
    op.drop_column("saxo_block_orders", "remainder_policy")
    op.drop_column("blocks", "remainder_policy")
    op.drop_column("saxo_allocation_keys", "remainder_policy")
