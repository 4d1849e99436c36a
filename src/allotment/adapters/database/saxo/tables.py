"""The Saxo dialect's tables, on the foundation's metadata: allocation keys and their
participants, block orders with each holder's running state, and fee schedules."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from allotment.adapters.database.tables import BigId, metadata
from allotment.adapters.database.types import ExactDecimal, UtcDateTime

DEFAULT_POLICY = "LargestRemainder"

saxo_allocation_keys = Table(
    "saxo_allocation_keys",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("company_id", ForeignKey("companies.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("unit_type", String(20), nullable=False),
    Column("margin_handling", String(10), nullable=False),
    Column("fill_policy", String(10), nullable=False),
    Column("status", String(40), nullable=False),
    Column("owner_account_id", ForeignKey("accounts.id"), nullable=False),
    Column("error_account_id", ForeignKey("accounts.id"), nullable=False),
    Column("uic", BigInteger(), nullable=True),
    Column("asset_type", String(50), nullable=True),
    Column("buy_sell", String(4), nullable=True),
    Column("external_reference", String(50), nullable=True),
    Column("participant_count", Integer(), nullable=False),
    Column("total_unit_values", ExactDecimal(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", String(200), nullable=False),
    # Not part of Saxo's key: set through the native API (decision 0045).
    Column("remainder_policy", String(20), nullable=False, server_default=DEFAULT_POLICY),
)

saxo_key_participants = Table(
    "saxo_key_participants",
    metadata,
    Column("key_id", ForeignKey("saxo_allocation_keys.id"), primary_key=True),
    Column("position", Integer(), primary_key=True),
    Column("account_id", ForeignKey("accounts.id"), nullable=False, index=True),
    Column("unit_value", ExactDecimal(), nullable=False),
    Column("priority", Integer(), nullable=False),
    Column("accepts_remainder", Boolean(), nullable=False),
)

saxo_block_orders = Table(
    "saxo_block_orders",
    metadata,
    Column("block_id", ForeignKey("blocks.id"), primary_key=True),
    Column("company_id", ForeignKey("companies.id"), nullable=False),
    Column("key_id", ForeignKey("saxo_allocation_keys.id"), nullable=False, index=True),
    Column("margin_handling", String(10), nullable=False),
    Column("fill_policy", String(10), nullable=False),
    Column("error_account_id", ForeignKey("accounts.id"), nullable=False),
    Column("order_type", String(30), nullable=False),
    Column("external_reference", String(50), nullable=True),
    Column("residue_amount", ExactDecimal(), nullable=False),
    Column("remainder_policy", String(20), nullable=False, server_default=DEFAULT_POLICY),
)

saxo_block_holders = Table(
    "saxo_block_holders",
    metadata,
    Column("block_id", ForeignKey("saxo_block_orders.block_id"), primary_key=True),
    Column("account_id", ForeignKey("accounts.id"), primary_key=True),
    Column("position", Integer(), nullable=False),
    Column("target_quantity", ExactDecimal(), nullable=False),
    Column("priority", Integer(), nullable=False),
    Column("accepts_remainder", Boolean(), nullable=False),
    Column("is_error_account", Boolean(), nullable=False),
    Column("allocated_quantity", ExactDecimal(), nullable=False),
    Column("held_quantity", ExactDecimal(), nullable=False),
    Column("paid_amount", ExactDecimal(), nullable=False),
    Column("cost_amount", ExactDecimal(), nullable=False),
    Column("commission", ExactDecimal(), nullable=False),
    Column("tax", ExactDecimal(), nullable=False),
    Column("other_fees", ExactDecimal(), nullable=False),
    # The exact target of the key's split of the order (fraction text); None before 0022.
    Column("exact_target", String(200), nullable=True),
)

fee_schedules = Table(
    "fee_schedules",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("company_id", ForeignKey("companies.id"), nullable=False),
    Column("client_id", ForeignKey("clients.id"), nullable=True),
    Column("commission_per_share", ExactDecimal(), nullable=False),
    Column("commission_rate", ExactDecimal(), nullable=False),
    Column("commission_minimum", ExactDecimal(), nullable=False),
    Column("other_fees", ExactDecimal(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("updated_by", String(200), nullable=False),
    UniqueConstraint("company_id", "client_id", name="uq_fee_schedules_company_client"),
)
