"""The foundation's tables: identity, clients and accounts, instruments, the ledger, blocks,
allocations, audit and idempotency. Dialect-specific tables live in modules of their own that
share this `metadata`."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

from allotment.adapters.database.types import ExactDecimal, UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# BigInteger primary keys that still autoincrement on SQLite (which only does it for INTEGER).
BigId = BigInteger().with_variant(Integer(), "sqlite")

companies = Table(
    "companies",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("tax_rate", ExactDecimal(), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("time_zone", String(64), nullable=False, server_default="UTC"),
)

users = Table(
    "users",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("company_id", ForeignKey("companies.id"), nullable=False, index=True),
    Column("username", String(100), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("scopes", String(200), nullable=False),
    Column("all_clients", Boolean(), nullable=False),
    Column("active", Boolean(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    # Two-factor authentication (0012): the shared secret of the user's one-time codes and the
    # last time step whose code was accepted; both null without two-factor authentication.
    Column("two_factor_secret", String(64), nullable=True),
    Column("two_factor_step", BigInteger(), nullable=True),
)

user_clients = Table(
    "user_clients",
    metadata,
    Column("user_id", ForeignKey("users.id"), primary_key=True),
    Column("client_id", ForeignKey("clients.id"), primary_key=True),
)

api_clients = Table(
    "api_clients",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("company_id", ForeignKey("companies.id"), nullable=False, index=True),
    Column("client_id", String(100), nullable=False, unique=True),
    Column("secret_hash", String(200), nullable=False),
    Column("scopes", String(200), nullable=False),
    Column("name", String(200), nullable=False),
    Column("active", Boolean(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

app_keys = Table(
    "app_keys",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("company_id", ForeignKey("companies.id"), nullable=False, index=True),
    Column("key", String(200), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("active", Boolean(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

clients = Table(
    "clients",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("company_id", ForeignKey("companies.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("client_key", String(100), nullable=False, unique=True),
    Column("created_at", UtcDateTime(), nullable=False),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", String(50), primary_key=True),
    Column("company_id", ForeignKey("companies.id"), nullable=False, index=True),
    Column("client_id", ForeignKey("clients.id"), nullable=True, index=True),
    Column("account_key", String(100), nullable=False, unique=True),
    Column("type", String(20), nullable=False),
    Column("role", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("credit_limit", ExactDecimal(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("closed_at", UtcDateTime(), nullable=True),
)

instruments = Table(
    "instruments",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("symbol", String(50), nullable=False, unique=True),
    Column("uic", BigInteger(), nullable=False),
    Column("asset_type", String(50), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("quantity_increment", ExactDecimal(), nullable=False),
    Column("price_increment", ExactDecimal(), nullable=False),
    Column("isin", String(12), nullable=True),
    Column("cusip", String(9), nullable=True),
    Column("market", String(10), nullable=True),
    Column("settlement_days", Integer(), nullable=True),
    UniqueConstraint("uic", "asset_type", name="uq_instruments_uic_asset_type"),
)

# company_id: checked set-based by `ledger check`, no per-row foreign key (bulk booking, 0009).
journal_entries = Table(
    "journal_entries",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("company_id", BigId, nullable=False),
    Column("entry_type", String(30), nullable=False),
    Column("description", Text(), nullable=False),
    Column("trade_date", Date(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("dialect", String(30), nullable=False),
    Column("reverses_entry_id", ForeignKey("journal_entries.id"), nullable=True, unique=True),
    Index("ix_journal_entries_company_trade_date", "company_id", "trade_date"),
)

# References checked set-based by `ledger check`, no per-row foreign keys (bulk booking, 0009).
# Keyed by entry and line (from 0 in the entry's order); on SQLite clustered on that key.
postings = Table(
    "postings",
    metadata,
    Column("entry_id", BigId, primary_key=True, autoincrement=False),
    Column("line", Integer(), primary_key=True, autoincrement=False),
    Column("account_id", String(50), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("asset", String(20), nullable=False),
    Column("amount", ExactDecimal(), nullable=False),
    Column("price", ExactDecimal(), nullable=True),
    # An account's journal page walks its entry ids in order from this index (0024).
    Index("ix_postings_account_entry", "account_id", "entry_id"),
    sqlite_with_rowid=False,
)

# account_id: checked set-based by `ledger check`, no per-row foreign key (bulk booking, 0009).
# On SQLite clustered on its key (0010).
balances = Table(
    "balances",
    metadata,
    Column("account_id", String(50), primary_key=True),
    Column("kind", String(10), primary_key=True),
    Column("asset", String(20), primary_key=True),
    Column("quantity", ExactDecimal(), nullable=False),
    Column("cost_amount", ExactDecimal(), nullable=False),
    sqlite_with_rowid=False,
)

blocks = Table(
    "blocks",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("company_id", ForeignKey("companies.id"), nullable=False, index=True),
    Column("master_reference", String(16), nullable=True),
    Column("account_id", ForeignKey("accounts.id"), nullable=False),
    Column("instrument_id", ForeignKey("instruments.id"), nullable=False),
    Column("side", String(4), nullable=False),
    Column("ordered_quantity", ExactDecimal(), nullable=False),
    Column("filled_quantity", ExactDecimal(), nullable=False),
    Column("filled_notional", ExactDecimal(), nullable=False),
    Column("allocated_quantity", ExactDecimal(), nullable=False),
    Column("allocation_key_id", String(50), nullable=True),
    Column("status", String(20), nullable=False),
    Column("dialect", String(30), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", String(200), nullable=False),
    # The block's own remainder policy (None: its allocation key's), decision 0045.
    Column("remainder_policy", String(20), nullable=True),
    UniqueConstraint("company_id", "master_reference", name="uq_blocks_company_master_reference"),
)

fills = Table(
    "fills",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("block_id", ForeignKey("blocks.id"), nullable=False, index=True),
    Column("sequence", Integer(), nullable=False),
    Column("quantity", ExactDecimal(), nullable=False),
    Column("price", ExactDecimal(), nullable=False),
    Column("executed_at", UtcDateTime(), nullable=False),
    Column("entry_id", ForeignKey("journal_entries.id"), nullable=False),
    UniqueConstraint("block_id", "sequence", name="uq_fills_block_sequence"),
)

# References checked set-based by `ledger check`, no per-row foreign keys (bulk booking, 0009).
allocations = Table(
    "allocations",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("company_id", BigId, nullable=False),
    Column("entry_id", BigId, nullable=False, unique=True),
    Column("dialect", String(30), nullable=False),
    Column("trade_date", Date(), nullable=False),
    Column("account_id", String(50), nullable=False),
    Column("source_account_id", String(50), nullable=False),
    Column("instrument_id", BigId, nullable=False),
    Column("side", String(4), nullable=False),
    Column("action", String(20), nullable=False),
    Column("quantity", ExactDecimal(), nullable=False),
    Column("price", ExactDecimal(), nullable=False),
    Column("trade_value", ExactDecimal(), nullable=False),
    Column("commission", ExactDecimal(), nullable=False),
    Column("tax", ExactDecimal(), nullable=False),
    Column("other_fees", ExactDecimal(), nullable=False),
    Column("net_amount", ExactDecimal(), nullable=False),
    # Looked up by block through uq_allocations_block_reference, which begins with block_id.
    Column("block_id", BigId, nullable=True),
    Column("reference", String(100), nullable=True),
    Column("comment", Text(), nullable=False),
    Column("status", String(20), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("settlement_date", Date(), nullable=True),
    Column("late", Boolean(), nullable=False, server_default=false()),
    Index("ix_allocations_company_trade_date", "company_id", "trade_date"),
    # An account's allocations, paged in id order from the index (0024).
    Index("ix_allocations_account_keyset", "account_id", "id"),
    UniqueConstraint("block_id", "reference", name="uq_allocations_block_reference"),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("company_id", ForeignKey("companies.id"), nullable=True, index=True),
    Column("at", UtcDateTime(), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("actor_kind", String(20), nullable=False),
    Column("action", String(100), nullable=False),
    Column("object_type", String(50), nullable=False),
    Column("object_id", String(100), nullable=False),
    Column("before", Text(), nullable=True),
    Column("after", Text(), nullable=True),
    Column("dialect", String(30), nullable=False),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("company_id", BigInteger(), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("state", String(20), nullable=False),
    Column("status_code", Integer(), nullable=True),
    Column("content_type", String(200), nullable=True),
    Column("body", LargeBinary(), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("leased_until", UtcDateTime(), nullable=True),
    Column("claim_token", String(32), nullable=True),
)
