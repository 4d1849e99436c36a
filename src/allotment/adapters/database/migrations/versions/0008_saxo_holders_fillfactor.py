"""saxo block holders: room for updates in place

Revision ID: 0008
Revises: 0003
Written by hand. Each fill of a block order rewrites the running figures of every holder of the
block (100,000 rows for a key of 100,000 participants). On PostgreSQL, with the table's pages
filled to half (fillfactor), such an update stays on the row's page and leaves the primary key
index alone (a HOT update): about a third of the cost of an update that moves the row. The
figures are not indexed, so every fill after the first finds the room again. SQLite has no
such setting; nothing changes there.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FILLFACTOR = 50


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE saxo_block_holders SET (fillfactor = {FILLFACTOR})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE saxo_block_holders RESET (fillfactor)")
