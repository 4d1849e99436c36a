"""balances: room for every row of a page to be updated in place

Revision ID: 0011
Revises: 0010
Written by hand. A block fill updates the cash balance of every participant in one statement,
so every row of a page changes at once. At 80 % (0007) a page has room for the new versions of
about a quarter of its rows: the rest moved to other pages and wrote the primary key index
again. At half (as the holders, 0008) each row of a page can be updated in place once (a HOT
update), and the next fill finds the room again once the old versions are pruned: the update of
100,000 cash balances took half the time. PostgreSQL only; the rows already written keep their
pages until the table is rewritten.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FILLFACTOR = 50
PREVIOUS = 80


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE balances SET (fillfactor = {FILLFACTOR})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE balances SET (fillfactor = {PREVIOUS})")
