"""saxo: allocation keys and participants, block orders and holders, fee schedules

Revision ID: 0003
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from allotment.adapters.database.types import ExactDecimal, UtcDateTime

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    referred = target.split(".")[0]
    return sa.ForeignKeyConstraint([column], [target], name=op.f(f"fk_{table}_{column}_{referred}"))


def upgrade() -> None:
    op.create_table(
        "saxo_allocation_keys",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("company_id", BIG_ID, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("unit_type", sa.String(length=20), nullable=False),
        sa.Column("margin_handling", sa.String(length=10), nullable=False),
        sa.Column("fill_policy", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column("owner_account_id", sa.String(length=50), nullable=False),
        sa.Column("error_account_id", sa.String(length=50), nullable=False),
        sa.Column("uic", sa.BigInteger(), nullable=True),
        sa.Column("asset_type", sa.String(length=50), nullable=True),
        sa.Column("buy_sell", sa.String(length=4), nullable=True),
        sa.Column("external_reference", sa.String(length=50), nullable=True),
        sa.Column("participant_count", sa.Integer(), nullable=False),
        sa.Column("total_unit_values", ExactDecimal(), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        _fk("saxo_allocation_keys", "company_id", "companies.id"),
        _fk("saxo_allocation_keys", "owner_account_id", "accounts.id"),
        _fk("saxo_allocation_keys", "error_account_id", "accounts.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saxo_allocation_keys")),
    )
    op.create_index(
        op.f("ix_saxo_allocation_keys_company_id"), "saxo_allocation_keys", ["company_id"]
    )
    op.create_table(
        "saxo_key_participants",
        sa.Column("key_id", BIG_ID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(length=50), nullable=False),
        sa.Column("unit_value", ExactDecimal(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("accepts_remainder", sa.Boolean(), nullable=False),
        _fk("saxo_key_participants", "key_id", "saxo_allocation_keys.id"),
        _fk("saxo_key_participants", "account_id", "accounts.id"),
        sa.PrimaryKeyConstraint("key_id", "position", name=op.f("pk_saxo_key_participants")),
    )
    op.create_index(
        op.f("ix_saxo_key_participants_account_id"), "saxo_key_participants", ["account_id"]
    )
    op.create_table(
        "saxo_block_orders",
        sa.Column("block_id", BIG_ID, nullable=False),
        sa.Column("company_id", BIG_ID, nullable=False),
        sa.Column("key_id", BIG_ID, nullable=False),
        sa.Column("margin_handling", sa.String(length=10), nullable=False),
        sa.Column("fill_policy", sa.String(length=10), nullable=False),
        sa.Column("error_account_id", sa.String(length=50), nullable=False),
        sa.Column("order_type", sa.String(length=30), nullable=False),
        sa.Column("external_reference", sa.String(length=50), nullable=True),
        sa.Column("residue_amount", ExactDecimal(), nullable=False),
        _fk("saxo_block_orders", "block_id", "blocks.id"),
        _fk("saxo_block_orders", "company_id", "companies.id"),
        _fk("saxo_block_orders", "key_id", "saxo_allocation_keys.id"),
        _fk("saxo_block_orders", "error_account_id", "accounts.id"),
        sa.PrimaryKeyConstraint("block_id", name=op.f("pk_saxo_block_orders")),
    )
    op.create_index(op.f("ix_saxo_block_orders_key_id"), "saxo_block_orders", ["key_id"])
    op.create_table(
        "saxo_block_holders",
        sa.Column("block_id", BIG_ID, nullable=False),
        sa.Column("account_id", sa.String(length=50), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("target_quantity", ExactDecimal(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("accepts_remainder", sa.Boolean(), nullable=False),
        sa.Column("is_error_account", sa.Boolean(), nullable=False),
        *[
            sa.Column(name, ExactDecimal(), nullable=False)
            for name in (
                "allocated_quantity",
                "held_quantity",
                "paid_amount",
                "cost_amount",
                "commission",
                "tax",
                "other_fees",
            )
        ],
        _fk("saxo_block_holders", "block_id", "saxo_block_orders.block_id"),
        _fk("saxo_block_holders", "account_id", "accounts.id"),
        sa.PrimaryKeyConstraint("block_id", "account_id", name=op.f("pk_saxo_block_holders")),
    )
    op.create_table(
        "fee_schedules",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("company_id", BIG_ID, nullable=False),
        sa.Column("client_id", BIG_ID, nullable=True),
        sa.Column("commission_per_share", ExactDecimal(), nullable=False),
        sa.Column("commission_rate", ExactDecimal(), nullable=False),
        sa.Column("commission_minimum", ExactDecimal(), nullable=False),
        sa.Column("other_fees", ExactDecimal(), nullable=False),
        sa.Column("updated_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        _fk("fee_schedules", "company_id", "companies.id"),
        _fk("fee_schedules", "client_id", "clients.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fee_schedules")),
        sa.UniqueConstraint("company_id", "client_id", name="uq_fee_schedules_company_client"),
    )


def downgrade() -> None:
    op.drop_table("fee_schedules")
    op.drop_table("saxo_block_holders")
    op.drop_index(op.f("ix_saxo_block_orders_key_id"), table_name="saxo_block_orders")
    op.drop_table("saxo_block_orders")
    op.drop_index(op.f("ix_saxo_key_participants_account_id"), table_name="saxo_key_participants")
    op.drop_table("saxo_key_participants")
    op.drop_index(op.f("ix_saxo_allocation_keys_company_id"), table_name="saxo_allocation_keys")
    op.drop_table("saxo_allocation_keys")
