"""What the Saxo dialect keeps: allocation keys, block orders with their participants' running
state, and fee schedules; and the repository it needs (`uow.saxo`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from allotment.domain.accounts import Account
from allotment.domain.allocation.fills import FillPolicy
from allotment.domain.allocation.model import RemainderPolicy
from allotment.domain.numbers import ZERO


class KeyStatus(StrEnum):
    """Saxo's AllocationKeyStatus."""

    ACTIVE = "Active"
    DEACTIVATE_AFTER_ORDER = "DeactivateAfterOrderPlacement"
    INACTIVE = "Inactive"
    ONE_TIME = "OneTime"


USABLE_STATUSES = frozenset(
    {KeyStatus.ACTIVE, KeyStatus.DEACTIVATE_AFTER_ORDER, KeyStatus.ONE_TIME}
)
"""Statuses with which a key may still be used for an order."""


class UnitType(StrEnum):
    """Saxo's AllocationUnitType: how a participant's UnitValue is read."""

    PERCENTAGE = "Percentage"
    UNIT = "Unit"
    CASH_AMOUNT = "CashAmount"
    """UnitValues are cash amounts: a block order's quantity is split in proportion to them
    (one average price makes each participant's cash proportional to its quantity); a cash
    amount is split as Unit splits units (each its amount, the rest to remainder acceptors)."""


class MarginHandling(StrEnum):
    """Saxo's MarginHandlingType: what happens when a participant cannot pay for its part."""

    REDUCE = "Reduce"
    REJECT = "Reject"


@dataclass(frozen=True, slots=True)
class KeyParticipant:
    account_id: str
    unit_value: Decimal
    priority: int
    accepts_remainder: bool


@dataclass(frozen=True, slots=True)
class AllocationKey:
    company_id: int
    name: str
    unit_type: UnitType
    margin_handling: MarginHandling
    status: KeyStatus
    owner_account_id: str
    error_account_id: str
    participants: tuple[KeyParticipant, ...]
    created_at: datetime
    created_by: str
    fill_policy: FillPolicy = FillPolicy.PRO_RATA
    uic: int | None = None
    asset_type: str | None = None
    buy_sell: str | None = None
    external_reference: str | None = None
    participant_count: int = 0
    total_unit_values: Decimal = ZERO
    remainder_policy: RemainderPolicy = RemainderPolicy.LARGEST_REMAINDER
    """Not Saxo's: set through the native API (decision 0045)."""
    id: int | None = None


@dataclass(frozen=True, slots=True)
class KeyQuery:
    company_id: int
    statuses: frozenset[KeyStatus]
    account_id: str | None = None
    """Only keys this account owns or takes part in."""
    participant_client_id: int | None = None
    """Only keys in which an account of this client takes part."""
    only_clients: frozenset[int] | None = None
    """Only keys whose participants all belong to these clients (None: no restriction)."""
    skip: int = 0
    top: int = 1000


@dataclass(frozen=True, slots=True)
class BlockOrder:
    """A block placed with an allocation key: the key's rules as they were when it was placed."""

    block_id: int
    company_id: int
    key_id: int
    margin_handling: MarginHandling
    fill_policy: FillPolicy
    error_account_id: str
    order_type: str
    external_reference: str | None = None
    residue_amount: Decimal = ZERO
    """Cash of average pricing booked to the error account so far (signed, see saxo_fills)."""
    remainder_policy: RemainderPolicy = RemainderPolicy.LARGEST_REMAINDER
    """The block's own policy, else its key's, when the order was placed (a fill's request
    may name another)."""


@dataclass(slots=True)
class Holder:
    """One account's share of a block order, kept up to date fill by fill.

    `allocated_quantity` is what the partial-fill allocation has given this participant (its
    reduced or refused part included: that part went to the error account but stays counted
    against its target); `held_quantity` is what was booked to the account itself.
    """

    block_id: int
    account_id: str
    position: int
    target_quantity: Decimal
    priority: int = 1
    accepts_remainder: bool = False
    is_error_account: bool = False
    allocated_quantity: Decimal = ZERO
    held_quantity: Decimal = ZERO
    paid_amount: Decimal = ZERO
    """Cash for the securities: trade values plus average-price adjustments."""
    cost_amount: Decimal = ZERO
    """The securities' cost as booked on the position (exact)."""
    commission: Decimal = ZERO
    tax: Decimal = ZERO
    other_fees: Decimal = ZERO
    exact_target: str | None = None
    """The exact target of the key's split of the order, as fraction text ("301/3"); None for
    an order placed before it was kept (its whole target is used)."""
    is_new: bool = field(default=False, compare=False)


@dataclass(frozen=True, slots=True)
class FeeScheduleRecord:
    company_id: int
    client_id: int | None
    commission_per_share: Decimal = ZERO
    commission_rate: Decimal = ZERO
    commission_minimum: Decimal = ZERO
    other_fees: Decimal = ZERO
    updated_at: datetime | None = None
    updated_by: str | None = None


class SaxoRepository(Protocol):
    def add_key(self, key: AllocationKey) -> AllocationKey: ...
    def key(self, company_id: int, key_id: int, *, lock: bool = False) -> AllocationKey | None: ...
    def keys(self, query: KeyQuery) -> tuple[list[AllocationKey], int]:
        """One page of keys (participants not loaded) and the total count."""

    def set_key_status(self, key_id: int, status: KeyStatus) -> None: ...
    def set_key_policy(self, key_id: int, policy: RemainderPolicy) -> None: ...
    def account_ids_by_keys(self, account_keys: Sequence[str]) -> dict[str, str]: ...
    def accounts(self, account_ids: Sequence[str]) -> dict[str, Account]:
        """Accounts by id, in bulk (a fill's participants)."""

    def closed_participants(self, key_ids: Sequence[int]) -> set[int]:
        """The keys, among these, with at least one closed participant account."""

    def add_block_order(self, order: BlockOrder, holders: Sequence[Holder]) -> None: ...
    def block_order(self, block_id: int) -> BlockOrder | None: ...
    def set_residue(self, block_id: int, residue_amount: Decimal) -> None: ...
    def holders(self, block_id: int) -> list[Holder]: ...
    def save_holders(self, holders: Sequence[Holder]) -> None:
        """Insert the new holders, update the others (set-based)."""

    def put_schedule(self, schedule: FeeScheduleRecord) -> None: ...
    def schedule(self, company_id: int, client_id: int | None) -> FeeScheduleRecord | None: ...
    def schedules(
        self, company_id: int, client_ids: Sequence[int] | None
    ) -> Mapping[int | None, FeeScheduleRecord]:
        """The company's default (key None) and these clients' own schedules, where set
        (client_ids None: every schedule of the company)."""
