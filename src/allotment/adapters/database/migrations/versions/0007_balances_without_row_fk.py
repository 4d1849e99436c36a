"""balances without a row foreign key, and with room for updates in place

Revision ID: 0007
Revises: 0006
Written by hand. A block fill writes a balance row for each participant's new position (and
updates its cash) in one statement; PostgreSQL checked the new rows' account one row at a time,
about a third of that statement's cost. A balance is written only by the transaction holding
its account's lock, after reading the account; `allotment ledger check` lists a balance whose
account does not exist, as it does for postings and allocations (docs/decisions/0009).

PostgreSQL: the table's pages are filled to 80 % (fillfactor), so that a fill's update of each
participant's cash can stay on its page and leave the primary key index alone (a HOT update).

SQLite: nothing refers to `balances`, so Alembic's batch mode (a copy of the table without the
constraint) is safe here, unlike in 0006.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONSTRAINT = "fk_balances_account_id_accounts"
FILLFACTOR = 80


def upgrade() -> None:
    with op.batch_alter_table("balances") as batch:
        batch.drop_constraint(CONSTRAINT, type_="foreignkey")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE balances SET (fillfactor = {FILLFACTOR})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE balances RESET (fillfactor)")
    with op.batch_alter_table("balances") as batch:
        batch.create_foreign_key(CONSTRAINT, "accounts", ["account_id"], ["id"])
