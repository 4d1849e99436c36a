"""What the services need from the outside world (storage, hashing, tokens, a clock)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from allotment.domain.accounts import Account, AccountStatus, Client
from allotment.domain.entry_columns import EntryColumns
from allotment.domain.identity import Company
from allotment.domain.instruments import Instrument
from allotment.domain.ledger import Balance, BalanceKey, JournalEntry

if TYPE_CHECKING:
    from allotment.services import capabilities as c


@dataclass(frozen=True, slots=True)
class UserRecord:
    company_id: int
    username: str
    password_hash: str
    scopes: frozenset[str]
    client_ids: frozenset[int] | None
    active: bool = True
    id: int | None = None
    two_factor_secret: str | None = None
    """The shared secret of the user's one-time codes; None without two-factor authentication."""


@dataclass(frozen=True, slots=True)
class ApiClientRecord:
    company_id: int
    client_id: str
    secret_hash: str
    scopes: frozenset[str]
    name: str
    active: bool = True
    id: int | None = None


@dataclass(frozen=True, slots=True)
class AppKeyRecord:
    company_id: int
    key: str
    name: str
    active: bool = True
    id: int | None = None


@dataclass(frozen=True, slots=True)
class StoredEntry:
    id: int
    company_id: int
    entry: JournalEntry
    trade_date: date
    created_at: datetime
    created_by: str
    dialect: str


@dataclass(frozen=True, slots=True)
class EntryFilter:
    company_id: int
    account_ids: frozenset[str] | None = None
    """None: every account of the company."""
    account_id: str | None = None
    trade_date_from: date | None = None
    trade_date_to: date | None = None
    entry_type: str | None = None
    after_id: int = 0
    limit: int = 100


class AllocationRow(NamedTuple):
    """One booked allocation: one account's share, one journal entry (a named tuple: a large
    fill books 100,000 of them; decision 0028)."""

    company_id: int
    entry_id: int
    dialect: str
    trade_date: date
    account_id: str
    source_account_id: str
    instrument_id: int
    side: str
    action: str
    quantity: Decimal
    price: Decimal
    trade_value: Decimal
    commission: Decimal
    tax: Decimal
    other_fees: Decimal
    net_amount: Decimal
    comment: str
    created_at: datetime
    created_by: str
    block_id: int | None = None
    reference: str | None = None
    status: str = "booked"
    settlement_date: date | None = None
    """None for an allocation booked before settlement dates were kept."""
    late: bool = False
    """Booked after its company's business date was closed, so dated the next open one."""
    id: int | None = None


@dataclass(frozen=True, slots=True)
class AuditEvent:
    company_id: int | None
    at: datetime
    actor: str
    actor_kind: str
    action: str
    object_type: str
    object_id: str
    dialect: str
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    request_hash: str
    state: str
    """in_progress (claimed), booked (its booking committed, no answer yet) or done."""
    status_code: int | None
    content_type: str | None
    body: bytes | None
    company_id: int | None = None
    key: str | None = None
    created_at: datetime | None = None
    leased_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Mismatch:
    key: BalanceKey
    stored: Decimal
    recomputed: Decimal


@dataclass(frozen=True, slots=True)
class DanglingReference:
    """A ledger row whose reference names no row: `column` of row `row_id` in `table` holds
    `missing`, which the referred table lacks; a balance is named by its key ("account kind
    asset"). The ledger tables carry no row foreign keys: `allotment ledger check` looks."""

    table: str
    column: str
    row_id: int | str
    missing: str


@dataclass(slots=True)
class BlockRecord:
    company_id: int
    account_id: str
    instrument_id: int
    side: str
    ordered_quantity: Decimal
    dialect: str
    created_at: datetime
    created_by: str
    master_reference: str | None = None
    allocation_key_id: str | None = None
    filled_quantity: Decimal = Decimal(0)
    filled_notional: Decimal = Decimal(0)
    allocated_quantity: Decimal = Decimal(0)
    status: str = "open"
    id: int | None = None
    remainder_policy: str | None = None  # the block's own (None: its key's), decision 0045


@dataclass(frozen=True, slots=True)
class FillRecord:
    block_id: int
    sequence: int
    quantity: Decimal
    price: Decimal
    executed_at: datetime
    entry_id: int
    id: int | None = None


class IdentityRepository(Protocol):
    def add_company(self, name: str, tax_rate: Decimal, currency: str, now: object) -> Company: ...
    def company(self, company_id: int) -> Company | None: ...
    def company_by_name(self, name: str) -> Company | None: ...
    def add_user(self, user: UserRecord, now: object) -> int: ...
    def user_by_username(self, username: str) -> UserRecord | None: ...
    def user(self, company_id: int, user_id: int) -> UserRecord | None: ...
    def users(self, company_id: int) -> list[UserRecord]: ...
    def update_user(self, user: UserRecord) -> None: ...
    def set_two_factor(self, user_id: int, secret: str | None) -> None: ...
    def use_two_factor_step(self, user_id: int, step: int) -> bool:
        """Record `step` as used; False when it (or a later one) was used already."""
        ...

    def add_api_client(self, record: ApiClientRecord, now: object) -> int: ...
    def api_client(self, client_id: str) -> ApiClientRecord | None: ...
    def api_clients(self, company_id: int) -> list[ApiClientRecord]: ...
    def add_app_key(self, record: AppKeyRecord, now: object) -> int: ...
    def app_key(self, key: str) -> AppKeyRecord | None: ...
    def app_keys(self, company_id: int) -> list[AppKeyRecord]: ...


class AccountRepository(Protocol):
    def add_client(self, client: Client, now: datetime) -> Client: ...
    def client(self, company_id: int, client_id: int) -> Client | None: ...
    def client_by_key(self, company_id: int, client_key: str) -> Client | None: ...
    def clients(self, company_id: int, only: frozenset[int] | None) -> list[Client]: ...
    def add_account(self, account: Account, now: datetime) -> None: ...
    def account(self, account_id: str) -> Account | None: ...
    def account_by_key(self, account_key: str) -> Account | None: ...
    def accounts_by_ids(self, account_ids: Sequence[str]) -> dict[str, Account]: ...
    def accounts(
        self, company_id: int, only_clients: frozenset[int] | None, client_id: int | None = None
    ) -> list[Account]: ...
    def accounts_of_role(self, company_id: int, role: str) -> list[Account]: ...
    def set_status(self, account_id: str, status: AccountStatus, now: datetime) -> None: ...


class InstrumentRepository(Protocol):
    def add(self, instrument: Instrument) -> Instrument: ...
    def get(self, instrument_id: int) -> Instrument | None: ...
    def by_symbol(self, symbol: str) -> Instrument | None: ...
    def by_uic(self, uic: int, asset_type: str | None = None) -> Instrument | None: ...
    def by_symbols(self, symbols: Sequence[str]) -> dict[str, Instrument]: ...
    def list(self) -> list[Instrument]: ...


class LedgerRepository(Protocol):
    def lock_accounts(
        self, company_id: int, ids: Sequence[str], *, with_balances: bool = False
    ) -> dict[str, Account]: ...
    def lock_balances(self, keys: Iterable[BalanceKey]) -> dict[BalanceKey, Balance]: ...
    def write_balances(self, changed: Mapping[BalanceKey, Balance]) -> None: ...
    def add_entries(
        self,
        company_id: int,
        entries: Sequence[JournalEntry] | EntryColumns,
        trade_date: date,
        created_at: datetime,
        created_by: str,
        dialect: str,
        ids: Sequence[int] | None = None,
    ) -> list[int]: ...
    def reserve_entry_ids(self, count: int) -> list[int]: ...
    def entry(self, company_id: int, entry_id: int) -> StoredEntry | None: ...
    def entries(self, query: EntryFilter) -> list[StoredEntry]: ...
    def is_reversed(self, entry_id: int) -> bool: ...
    def balances(
        self, account_ids: Sequence[str], kind: str | None = None
    ) -> dict[BalanceKey, Balance]: ...
    def recompute(self) -> list[Mismatch]: ...
    def iter_balances(self) -> Iterator[tuple[BalanceKey, Balance]]: ...
    def dangling_references(self) -> list[DanglingReference]: ...


class AllocationRepository(Protocol):
    def add_many(self, rows: Sequence[AllocationRow], ids: Sequence[int]) -> list[int]: ...
    def reserve_ids(self, count: int) -> list[int]: ...
    def by_trade_date(self, company_id: int, trade_date: date) -> list[AllocationRow]: ...
    def list(
        self,
        company_id: int,
        account_ids: frozenset[str] | None,
        block_id: int | None = None,
        dialect: str | None = None,
        after_id: int = 0,
        limit: int = 100,
    ) -> list[AllocationRow]: ...
    def get(self, company_id: int, allocation_id: int) -> AllocationRow | None: ...
    def by_entry(self, entry_id: int) -> AllocationRow | None: ...
    def set_status(self, allocation_id: int, status: str) -> None: ...
    def references_taken(self, block_id: int, references: Sequence[str]) -> set[str]: ...


class AuditRepository(Protocol):
    def add(self, event: AuditEvent) -> None: ...
    def list(
        self, company_id: int, object_type: str | None, after_id: int, limit: int
    ) -> list[AuditEvent]: ...


class IdempotencyRepository(Protocol):
    def reserve(
        self,
        company_id: int,
        key: str,
        request_hash: str,
        now: datetime,
        leased_until: datetime | None = None,
        token: str | None = None,
    ) -> bool: ...
    def renew(self, company_id: int, key: str, token: str, leased_until: datetime) -> None: ...
    def mark_booked(self, company_id: int, key: str, token: str) -> bool: ...
    def get(self, company_id: int, key: str) -> IdempotencyRecord | None: ...
    def find(self, key: str, company_id: int | None = None) -> list[IdempotencyRecord]: ...
    def complete(
        self,
        company_id: int,
        key: str,
        status_code: int,
        content_type: str,
        body: bytes,
        token: str | None = None,
    ) -> None: ...
    def release(self, company_id: int, key: str, token: str | None = None) -> None: ...
    def forget(self, company_id: int, key: str) -> bool: ...
    def purge(self, before: datetime) -> int:
        """Forget every key claimed before `before`, of every company; how many."""


class BlockRepository(Protocol):
    def add(self, block: BlockRecord) -> BlockRecord: ...
    def get(self, company_id: int, block_id: int, lock: bool = False) -> BlockRecord | None: ...
    def by_master_reference(self, company_id: int, reference: str) -> BlockRecord | None: ...
    def update(self, block: BlockRecord) -> None: ...
    def add_fill(self, fill: FillRecord) -> FillRecord: ...
    def fills(self, block_id: int) -> list[FillRecord]: ...
    def list(self, company_id: int, after_id: int, limit: int) -> list[BlockRecord]: ...


class UnitOfWork(Protocol):
    """One transaction. Leaving the block without commit() rolls everything back."""

    @property
    def identity(self) -> IdentityRepository: ...
    @property
    def accounts(self) -> AccountRepository: ...
    @property
    def instruments(self) -> InstrumentRepository: ...
    @property
    def ledger(self) -> LedgerRepository: ...
    @property
    def allocations(self) -> AllocationRepository: ...
    @property
    def audit(self) -> AuditRepository: ...
    @property
    def idempotency(self) -> IdempotencyRepository: ...
    @property
    def blocks(self) -> BlockRepository: ...

    dialect_name: str
    allocation_files: c.FileClaims
    blocktrade: c.ClientOrderRepository
    bookbuilding: c.BookbuildingRepository
    clearing: c.ClearingRepository
    dates: c.DatesRepository
    desk: c.DeskRepository
    exchange_calendar: c.ExchangeCalendar
    exports: c.ExportRepository
    fairness: c.FairnessRepository
    fix: c.FixRepository
    intent: c.IntentRepository
    saxo: c.SaxoRepository

    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def pipelined(self) -> AbstractContextManager[None]: ...  # writes only, sent at once
    def savepoint(self) -> c.Savepoint: ...


class UnitOfWorkFactory(Protocol):
    def __call__(
        self, *, write: bool = True, single: bool = False
    ) -> AbstractContextManager[UnitOfWork, bool | None]: ...


class PasswordHasher(Protocol):
    def hash(self, secret: str) -> str: ...
    def verify(self, hashed: str, secret: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class TokenClaims:
    company_id: int
    subject: str
    kind: str
    scopes: frozenset[str]
    expires_at: datetime
    extra: Mapping[str, Any] = field(default_factory=dict)


class TokenCodec(Protocol):
    def encode(self, claims: TokenClaims) -> str: ...
    def decode(self, token: str) -> TokenClaims:
        """Raises Unauthorized for a token that is malformed, tampered or expired."""


class Clock(Protocol):
    def now(self) -> datetime: ...
    def today(self) -> date: ...
