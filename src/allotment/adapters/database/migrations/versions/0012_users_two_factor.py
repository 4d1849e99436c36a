"""users: a two-factor secret and the last time step it was used at

Revision ID: 0012
Revises: 0011
Written by hand. ETNA's token endpoint asks users who have two-factor authentication for a
verification code (the `Expecting` step). A user enrolled through the native API keeps the
shared secret of its time-based one-time codes (RFC 6238) here; `two_factor_step` is the last
time step whose code was accepted, so that a code is accepted once (RFC 6238 §5.2). Both are
null for a user without two-factor authentication, as every existing user is.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("users", sa.Column("two_factor_secret", sa.String(length=64), nullable=True))
    op.add_column("users", sa.Column("two_factor_step", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN on both databases (SQLite since 3.35): a batch copy of users
    # would drop the table that user_clients refers to.
    op.drop_column("users", "two_factor_step")
    op.drop_column("users", "two_factor_secret")
