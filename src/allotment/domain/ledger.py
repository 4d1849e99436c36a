"""The ledger: balanced journal entries and the running balances they move.

Every movement of securities or cash is a journal entry whose postings sum to zero per asset
(per instrument for securities, per currency for cash). Entries are never edited; a correction
is a reversing entry. Balances are running totals; `LedgerState` applies entries to the balances
of the accounts a batch touches, in memory, enforcing the overdraft rules of SPEC §3 per entry,
so that a whole batch can be decided first and written once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from typing import NamedTuple

from allotment.domain import numbers
from allotment.domain.accounts import HOUSE_ROLES, Account, AccountRole
from allotment.domain.errors import AmountOutOfRange
from allotment.domain.instruments import Instrument
from allotment.domain.numbers import (
    MAX_DIGITS,
    ZERO,
    exact_product,
    fits_storage,
    round_cost,
    round_money,
)

COST_UNIT = numbers.COST_UNIT


class AssetKind(StrEnum):
    SECURITY = "security"
    CASH = "cash"


class BalanceKey(NamedTuple):
    """One running balance: an account's position in an instrument or its cash in a currency.

    A named tuple, not a dataclass: balances are looked up millions of times per large batch,
    and a tuple's hash, equality and order (account, kind, asset) run in C."""

    account_id: str
    kind: AssetKind
    asset: str
    """The instrument id (as text) for securities, the currency code for cash."""


class Posting(NamedTuple):
    """One line of an entry. A named tuple: a large batch builds millions of them, and a
    tuple is cheaper to build than a frozen dataclass (and is as immutable; decision 0028)."""

    account_id: str
    kind: AssetKind
    asset: str
    amount: Decimal
    price: Decimal | None = None
    """For securities: the price the quantity moved at (keeps the average cost)."""

    @property
    def key(self) -> BalanceKey:
        return BalanceKey(self.account_id, self.kind, self.asset)

    def reversed(self) -> Posting:
        return Posting(self.account_id, self.kind, self.asset, -self.amount, self.price)


class UnbalancedEntry(ValueError):
    """Postings of an entry do not sum to zero for some asset: a programming error."""


@dataclass(frozen=True, slots=True)
class JournalEntry:
    entry_type: str
    postings: tuple[Posting, ...]
    description: str = ""
    reverses_entry_id: int | None = None

    def __post_init__(self) -> None:
        totals: dict[tuple[AssetKind, str], Decimal] = {}
        for _, kind, asset, amount, _ in self.postings:
            totals[kind, asset] = totals.get((kind, asset), ZERO) + amount
        if any(totals.values()):
            unbalanced = {key: total for key, total in totals.items() if total != 0}
            raise UnbalancedEntry(f"entry does not balance: {unbalanced}")

    def reversal(self, original_id: int, description: str = "") -> JournalEntry:
        postings = tuple(posting.reversed() for posting in self.postings)
        return JournalEntry("reversal", postings, description, reverses_entry_id=original_id)


class Balance(NamedTuple):
    """A running balance's value. Immutable: a change makes a new one, so a balance read once
    can be handed to every reader (the ledger repository keeps what it read and wrote)."""

    quantity: Decimal = ZERO
    cost_amount: Decimal = ZERO
    """For securities: what the position cost (average-cost method); zero for cash."""

    def average_cost(self) -> Decimal | None:
        """The cost per unit held, rounded to COST_UNIT half to even (a named rounding point:
        the cost amount itself stays exact)."""
        if self.quantity <= 0:
            return None
        return round_cost(self.cost_amount, self.quantity)


class BookingCode(StrEnum):
    """The closed set of per-item results of booking (ETNA's Description codes and ours)."""

    OK = "Ok"
    INVALID_ACCOUNT = "InvalidAccount"
    ACCOUNT_CLOSED = "AccountClosed"
    ACCOUNT_TYPE_MISMATCH = "AccountTypeMismatch"
    INVALID_SYMBOL = "InvalidSymbol"
    INVALID_QUANTITY = "InvalidQuantity"
    INVALID_PRICE = "InvalidPrice"
    INSUFFICIENT_POSITION = "InsufficientPosition"
    INSUFFICIENT_FUNDS = "InsufficientFunds"
    PREMIUM_NOT_ALLOWED = "PremiumNotAllowed"
    NOT_AUTHORIZED_FOR_ACCOUNT = "NotAuthorizedForAccount"
    SAME_ACCOUNT = "SameAccount"


def moved_cost(balance: Balance, amount: Decimal, price: Decimal | None) -> Decimal:
    """The position's cost after `amount` units move in (positive) or out (negative)."""
    return cost_after(balance.quantity, balance.cost_amount, amount, price)


def cost_after(old: Decimal, cost: Decimal, amount: Decimal, price: Decimal | None) -> Decimal:
    """`moved_cost` of a position of `old` units that cost `cost`."""
    new = old + amount
    if new == 0:
        return ZERO
    if amount > 0 and old >= 0:
        return cost + amount * (price if price is not None else ZERO)
    if amount < 0 and new > 0:
        remaining = cost * new / old
        return remaining.quantize(COST_UNIT, rounding=ROUND_HALF_EVEN)
    # Crossing zero or moving a short position: the cost is the new quantity at this price.
    return new * (price if price is not None else ZERO)


@dataclass(slots=True)
class LedgerState:
    """Balances of the accounts a batch touches, loaded once (under lock) and updated in memory."""

    accounts: Mapping[str, Account]
    balances: dict[BalanceKey, Balance]
    touched: set[BalanceKey] = field(default_factory=set)

    def balance(self, key: BalanceKey) -> Balance:
        return self.balances.get(key) or Balance()

    def changed(self) -> dict[BalanceKey, Balance]:
        """The touched balances as they stand, in the balances' own order (as read, then as
        made), not the set's: walked out of memory order, 200,000 of them took three times
        as long to gather."""
        touched = list(filter(self.touched.__contains__, self.balances))
        return dict(zip(touched, map(self.balances.__getitem__, touched), strict=True))

    def check(self, entry: JournalEntry, short_allowed: bool = False) -> BookingCode:
        """Would the entry keep every account within its rules? Changes nothing."""
        return self._refusal(self._project(entry), short_allowed)

    def apply(self, entry: JournalEntry, short_allowed: bool = False) -> BookingCode:
        """Apply the entry if every rule holds; otherwise leave the balances as they were.
        One projection serves both the check and the update."""
        projected = self._project(entry)
        code = self._refusal(projected, short_allowed)
        if code is BookingCode.OK:
            self.balances.update(projected)
            self.touched.update(projected)
        return code

    def force(self, entry: JournalEntry) -> None:
        """Apply without rule checks (house bookings that the caller has already decided)."""
        for key, balance in self._project(entry).items():
            self.balances[key] = balance
            self.touched.add(key)

    def _project(self, entry: JournalEntry) -> dict[BalanceKey, Balance]:
        projected: dict[BalanceKey, Balance] = {}
        balances = self.balances
        for account_id, kind, asset, amount, price in entry.postings:
            key = BalanceKey(account_id, kind, asset)
            current = projected.get(key) or balances.get(key) or _NO_BALANCE
            cost = (
                moved_cost(current, amount, price)
                if kind is AssetKind.SECURITY
                else current.cost_amount
            )
            projected[key] = Balance(current.quantity + amount, cost)
        return projected

    def _refusal(self, projected: dict[BalanceKey, Balance], short_allowed: bool) -> BookingCode:
        """The code of the first refused balance in key order, or OK. Only a balance that
        shrinks is checked: one that grows never breaks a floor."""
        refused: list[tuple[BalanceKey, BookingCode]] = []
        for key, balance in projected.items():
            found = self.balances.get(key)
            if balance.quantity >= (ZERO if found is None else found.quantity):
                continue
            code = self.rule_for(key, balance.quantity, short_allowed)
            if code is not BookingCode.OK:
                refused.append((key, code))
        return min(refused)[1] if refused else BookingCode.OK

    def rule_for(self, key: BalanceKey, quantity: Decimal, short_allowed: bool) -> BookingCode:
        """The rule for a balance that shrinks to `quantity`."""
        floor = self.floor(key, short_allowed)
        if floor is None or quantity >= floor:
            return BookingCode.OK
        if key.kind is AssetKind.SECURITY:
            return BookingCode.INSUFFICIENT_POSITION
        return BookingCode.INSUFFICIENT_FUNDS

    def floor(self, key: BalanceKey, short_allowed: bool) -> Decimal | None:
        """The lowest a balance may shrink to, or None when no rule applies (SPEC §3): a
        position stays at or above zero unless a short sale is allowed on a margin account;
        cash stays at or above the account's cash floor; house and external accounts have
        no floor."""
        account = self.accounts[key.account_id]
        if account.role in UNCHECKED_ROLES:
            return None
        if key.kind is AssetKind.SECURITY:
            return None if short_allowed and account.may_short else ZERO
        return account.cash_floor


_NO_BALANCE = Balance()
"""A balance not held yet."""

UNCHECKED_ROLES = HOUSE_ROLES | {AccountRole.EXTERNAL}
"""No balance rule applies to house accounts (they absorb residues and fees) nor to the
external account (the outside world)."""


def cash_key(account_id: str, currency: str) -> BalanceKey:
    return BalanceKey(account_id, AssetKind.CASH, currency)


def security_key(account_id: str, instrument_id: int) -> BalanceKey:
    return BalanceKey(account_id, AssetKind.SECURITY, str(instrument_id))


@dataclass(frozen=True, slots=True)
class FeeLeg:
    """A fee moving from the payer to the company's fee account."""

    kind: str
    """commission, tax or other."""
    payer_account_id: str
    fee_account_id: str
    amount: Decimal


@dataclass(slots=True)
class Trade:
    """Securities from seller to buyer at a price, cash the other way, fees to the fee account.

    Not frozen: its trade value is computed once, when it is made (a refusal of too many
    digits comes before anything is decided), and kept with it."""

    seller_account_id: str
    buyer_account_id: str
    instrument: Instrument
    quantity: Decimal
    price: Decimal
    fees: tuple[FeeLeg, ...] = ()
    trade_value: Decimal = field(init=False, compare=False)
    """quantity × price rounded to the cent, computed once (the entry and the allocation row
    both need it)."""

    def __post_init__(self) -> None:
        self.trade_value = value_of(self.quantity, self.price)

    def entry(self, entry_type: str = "trade", description: str = "") -> JournalEntry:
        security, currency = str(self.instrument.id), self.instrument.currency
        value = self.trade_value
        seller, buyer = self.seller_account_id, self.buyer_account_id
        # Fees move cash from the payer to the fee account. A payer's fee is netted into its
        # own cash line of the trade (one line per account and asset: the allocation row keeps
        # the trade value, commission, tax and other fees apart).
        paid: dict[str, Decimal] = {}
        received: dict[str, Decimal] = {}
        for fee in self.fees:
            if fee.amount != 0:
                payer, fee_account = fee.payer_account_id, fee.fee_account_id
                paid[payer] = paid.get(payer, ZERO) + fee.amount
                received[fee_account] = received.get(fee_account, ZERO) + fee.amount
        postings = [
            Posting(seller, AssetKind.SECURITY, security, -self.quantity, self.price),
            Posting(buyer, AssetKind.SECURITY, security, self.quantity, self.price),
            Posting(buyer, AssetKind.CASH, currency, -value - paid.pop(buyer, ZERO)),
            Posting(seller, AssetKind.CASH, currency, value - paid.pop(seller, ZERO)),
        ]
        for payer, amount in paid.items():
            postings.append(Posting(payer, AssetKind.CASH, currency, -amount))
        for fee_account, amount in received.items():
            postings.append(Posting(fee_account, AssetKind.CASH, currency, amount))
        return JournalEntry(entry_type, tuple(postings), description)


VALUE_BOUND = Decimal(10) ** (MAX_DIGITS - 2)
"""An amount rounded to the cent and smaller than this fits storage (MAX_DIGITS digits)."""


def value_of(quantity: Decimal, price: Decimal) -> Decimal:
    """quantity × price, exact, rounded to the cent (half even); refused when the result has
    more digits than allotment keeps exactly."""
    value = round_money(exact_product(quantity, price))
    if not (-VALUE_BOUND < value < VALUE_BOUND or fits_storage(value)):
        raise AmountOutOfRange(
            "an amount computed from this request has more digits than allotment keeps "
            "exactly; use smaller quantities or prices",
            quantity=quantity,
            price=price,
        )
    return value


def premium_refused(seller: Account, seller_position: Balance, price: Decimal) -> bool:
    """SPEC §3 "no premium": a client never buys from the average account above the average
    price at which the average account acquired the shares (ETNA: allocations may not sell
    securities to users at a premium)."""
    if seller.role is not AccountRole.AVERAGE:
        return False
    return above_cost(seller_position.quantity, seller_position.cost_amount, price)


def above_cost(quantity: Decimal, cost: Decimal, price: Decimal) -> bool:
    """Does selling from a position of `quantity` units that cost `cost` at `price` sell above
    its average cost (by more than the cost unit)? Never for a position not held."""
    if quantity <= 0:
        return False
    return price * quantity > cost + COST_UNIT


def cash_entry(account_id: str, external_id: str, currency: str, amount: Decimal) -> JournalEntry:
    """A deposit (positive amount) or withdrawal (negative) against the outside world."""
    kind = "deposit" if amount > 0 else "withdrawal"
    return JournalEntry(
        kind,
        (
            Posting(account_id, AssetKind.CASH, currency, amount),
            Posting(external_id, AssetKind.CASH, currency, -amount),
        ),
    )


def position_entry(
    account_id: str, external_id: str, instrument_id: int, quantity: Decimal, price: Decimal
) -> JournalEntry:
    """An opening position brought in from outside at its acquisition price."""
    asset = str(instrument_id)
    return JournalEntry(
        "opening_position",
        (
            Posting(account_id, AssetKind.SECURITY, asset, quantity, price),
            Posting(external_id, AssetKind.SECURITY, asset, -quantity, price),
        ),
    )


def net_postings(entries: Iterable[JournalEntry]) -> dict[BalanceKey, Decimal]:
    """Sum of the postings per balance: what a batch moves, netted per account and asset."""
    net: dict[BalanceKey, Decimal] = defaultdict(Decimal)
    for entry in entries:
        for posting in entry.postings:
            net[posting.key] += posting.amount
    return dict(net)


def keys_of(entries: Sequence[JournalEntry]) -> set[BalanceKey]:
    return {posting.key for entry in entries for posting in entry.postings}
