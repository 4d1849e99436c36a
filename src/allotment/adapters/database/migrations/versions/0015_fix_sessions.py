"""fix: FIX sessions (owner company, acting user) and the allocation instructions received

Revision ID: 0015
Revises: 0014
Written by hand. A session is named by the counterparty's SenderCompID and ours, once across
companies (the acceptor serves them all on one port). An instruction's AllocID is unique within
its company: it is the natural idempotency reference of the FIX door.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import allotment.adapters.database.types

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _stamps() -> list[sa.Column[object]]:
    return [
        sa.Column(
            "created_at",
            allotment.adapters.database.types.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column("created_by", sa.String(length=200), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "fix_sessions",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("company_id", BIG_ID, nullable=False),
        sa.Column("sender_comp_id", sa.String(length=64), nullable=False),
        sa.Column("target_comp_id", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        *_stamps(),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.id"], name=op.f("fk_fix_sessions_company_id_companies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fix_sessions")),
        sa.UniqueConstraint(
            "sender_comp_id", "target_comp_id", name=op.f("uq_fix_sessions_sender_comp_id")
        ),
    )
    with op.batch_alter_table("fix_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_fix_sessions_company_id"), ["company_id"], unique=False
        )
    op.create_table(
        "fix_instructions",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("company_id", BIG_ID, nullable=False),
        sa.Column("alloc_id", sa.String(length=100), nullable=False),
        sa.Column("session", sa.String(length=200), nullable=False),
        sa.Column("msg_seq_num", sa.Integer(), nullable=False),
        sa.Column("trans_type", sa.String(length=1), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        *_stamps(),
        sa.Column("ref_alloc_id", sa.String(length=100), nullable=True),
        sa.Column("block_id", BIG_ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["block_id"], ["blocks.id"], name=op.f("fk_fix_instructions_block_id_blocks")
        ),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_fix_instructions_company_id_companies"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fix_instructions")),
        sa.UniqueConstraint("company_id", "alloc_id", name=op.f("uq_fix_instructions_company_id")),
    )
    with op.batch_alter_table("fix_instructions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_fix_instructions_block_id"), ["block_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("fix_instructions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fix_instructions_block_id"))
    op.drop_table("fix_instructions")
    with op.batch_alter_table("fix_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fix_sessions_company_id"))
    op.drop_table("fix_sessions")
