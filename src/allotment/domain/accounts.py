"""Companies' clients and their trading accounts, and the overdraft rules that are data on them."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from allotment.domain.numbers import ZERO


class AccountType(StrEnum):
    CASH = "Cash"
    MARGIN = "Margin"
    DAY_TRADER = "DayTrader"


class AccountRole(StrEnum):
    CLIENT = "client"
    AVERAGE = "average"
    """The joint account that buys blocks and hands them out."""
    ERROR = "error"
    FEE = "fee"
    """Where commissions and taxes land."""
    EXTERNAL = "external"
    """The outside world: the contra side of deposits, opening positions and market fills."""


HOUSE_ROLES = frozenset({AccountRole.ERROR, AccountRole.FEE})


class AccountStatus(StrEnum):
    ACTIVE = "active"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Client:
    id: int
    company_id: int
    name: str
    client_key: str


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    company_id: int
    client_id: int | None
    account_key: str
    type: AccountType
    role: AccountRole
    status: AccountStatus
    currency: str
    credit_limit: Decimal = ZERO

    @property
    def is_open(self) -> bool:
        return self.status is AccountStatus.ACTIVE

    @property
    def cash_floor(self) -> Decimal:
        """Lowest cash balance allowed: zero for cash accounts, minus the credit limit otherwise.

        SPEC §3: a cash account may not go below zero cash; margin and day-trader accounts may
        go below zero down to their credit limit.
        """
        if self.type is AccountType.CASH:
            return ZERO
        return -self.credit_limit

    @property
    def may_short(self) -> bool:
        """Short positions are allowed only on margin accounts (and only with a short action)."""
        return self.type is AccountType.MARGIN

    @property
    def is_house(self) -> bool:
        """House accounts (error, fee) absorb residues and fees without overdraft checks."""
        return self.role in HOUSE_ROLES
