"""idempotency keys: a claim is a lease

Revision ID: 0013
Revises: 0012
Written by hand. A key claimed by a request that never finished (the process was killed) stayed
"in_progress" until it was purged, and every retry answered 409 meanwhile. The claim now holds
until `leased_until`, which the running request keeps moving forward; once it has passed, a
retry of the same request takes the key over with a new `claim_token`. The booking transaction
of the request that holds the claim marks the key "booked" (only while its token is the key's),
so a request whose key was taken over books nothing, and a retry after a crash that came after
the booking is told so instead of booking again. Rows claimed before this revision have no
lease: they count as expired.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import allotment.adapters.database.types

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.add_column(
            sa.Column(
                "leased_until",
                allotment.adapters.database.types.UtcDateTime(timezone=True),
                nullable=True,
            )
        )
        batch.add_column(sa.Column("claim_token", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.drop_column("claim_token")
        batch.drop_column("leased_until")
