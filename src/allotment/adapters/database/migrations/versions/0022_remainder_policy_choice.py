"""the remainder policy chosen per allocation key, per block and per block order, and each
holder's exact target of a block order

Revision ID: 0022
Revises: 0021 (and needs the Saxo branch, 0008)
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
down_revision: str | Sequence[str] | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = "0008"
"""The Saxo branch's head: its tables must be there (its keys, orders and holders)."""

DEFAULT = "LargestRemainder"


def upgrade() -> None:
    with op.batch_alter_table("saxo_allocation_keys") as table:
        table.add_column(
            sa.Column(
                "remainder_policy", sa.String(length=20), nullable=False, server_default=DEFAULT
            )
        )
    with op.batch_alter_table("blocks") as table:
        table.add_column(sa.Column("remainder_policy", sa.String(length=20), nullable=True))
    with op.batch_alter_table("saxo_block_orders") as table:
        table.add_column(
            sa.Column(
                "remainder_policy", sa.String(length=20), nullable=False, server_default=DEFAULT
            )
        )
    with op.batch_alter_table("saxo_block_holders") as table:
        table.add_column(sa.Column("exact_target", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("saxo_block_holders") as table:
        table.drop_column("exact_target")
    with op.batch_alter_table("saxo_block_orders") as table:
        table.drop_column("remainder_policy")
    with op.batch_alter_table("blocks") as table:
        table.drop_column("remainder_policy")
    with op.batch_alter_table("saxo_allocation_keys") as table:
        table.drop_column("remainder_policy")
