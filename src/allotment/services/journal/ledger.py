"""Cash and positions on the ledger: deposits, withdrawals, opening positions, reversals,
balances, the journal, and the checks that recompute every balance from it and look for
references to rows that do not exist."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from allotment.domain.accounts import Account, AccountRole
from allotment.domain.errors import Conflict, Forbidden, InvalidInstruction, NotFound, RuleViolation
from allotment.domain.identity import Scope
from allotment.domain.instruments import Instrument
from allotment.domain.ledger import (
    AssetKind,
    Balance,
    BookingCode,
    JournalEntry,
    cash_entry,
    keys_of,
    position_entry,
)
from allotment.domain.numbers import fits_storage, is_multiple_of
from allotment.services.clearing import open_session
from allotment.services.context import (
    Context,
    check_visible,
    record,
    visible_account,
    visible_account_ids,
)
from allotment.services.journal import Journal
from allotment.services.ports import (
    DanglingReference,
    EntryFilter,
    Mismatch,
    StoredEntry,
    UnitOfWork,
)
from allotment.services.registry import check_house, house_account, house_account_id


class LedgerRefused(RuleViolation):
    """A ledger rule refused the entry; `code` is the booking result code."""

    def __init__(self, code: BookingCode, message: str) -> None:
        super().__init__(message, result=code.value)
        self.code = code.value


def post_entry(
    uow: UnitOfWork,
    ctx: Context,
    entry: JournalEntry,
    accounts: dict[str, Account],
    *,
    short_allowed: bool = False,
    force: bool = False,
    journal: Journal | None = None,
    entry_id: int | None = None,
) -> int:
    """Lock the touched balances, apply the entry under the rules, write it. Returns its id.

    The entry is dated on the context's trade date (`open_session`): never a closed one, so a
    reversal of a closed session's booking always lands in an open, later session. Given a
    `journal`, the entry is decided on its balances and the balances are left for it to write;
    given an `entry_id` (drawn before the lock), the entry takes it.
    """
    ctx = open_session(uow, ctx)
    own = journal is None
    journal = journal or Journal(uow)
    state = journal.balances(accounts, sorted(keys_of([entry])))
    if force:
        state.force(entry)
    else:
        code = state.apply(entry, short_allowed=short_allowed)
        if code is not BookingCode.OK:
            raise LedgerRefused(code, _refusal_text(code))
    [entry_id] = uow.ledger.add_entries(
        ctx.company_id,
        [entry],
        ctx.today,
        ctx.now,
        ctx.principal.subject,
        ctx.dialect,
        None if entry_id is None else [entry_id],
    )
    if own:
        journal.write()
    return entry_id


def _refusal_text(code: BookingCode) -> str:
    return {
        BookingCode.INSUFFICIENT_FUNDS: "not enough cash: the account would go below its floor",
        BookingCode.INSUFFICIENT_POSITION: "not enough securities: the position would go short",
    }.get(code, f"refused: {code.value}")


def _check_amount(amount: Decimal, what: str) -> None:
    if amount <= 0:
        raise InvalidInstruction(f"{what} must be positive", amount=amount)
    if not fits_storage(amount):
        raise InvalidInstruction(f"{what} has more precision than allowed", amount=amount)


COMPANY_ROLES = frozenset({AccountRole.AVERAGE, AccountRole.ERROR, AccountRole.FEE})
"""The company's own accounts: cash or securities move in or out of them only by an admin."""


def _require_house_rules(ctx: Context, account: Account) -> None:
    """The company's own accounts are not the clients': the external account is only ever the
    contra side, and cash or securities moved in or out of the average, fee and error accounts
    need the admin scope and a user not limited to some clients (such a user acts only on its
    clients' accounts)."""
    if account.role is AccountRole.EXTERNAL:
        raise InvalidInstruction("the external account is only the contra side of movements")
    if account.role in COMPANY_ROLES:
        ctx.require(Scope.ADMIN)
        if ctx.principal.client_ids is not None:
            raise Forbidden(
                f"account {account.id} is the company's own; this user acts only for its "
                "clients' accounts",
                account_id=account.id,
            )


def move_cash(
    uow: UnitOfWork,
    ctx: Context,
    account_id: str,
    amount: Decimal,
    *,
    deposit: bool,
    currency: str | None = None,
) -> int:
    """Deposit cash into, or withdraw it from, an account (against the external account)."""
    ctx.require(Scope.WRITE)
    _check_amount(amount, "amount")
    # The account and the external account in one read (decision 0052), checked in the order
    # they were read in before.
    external_id = house_account_id(ctx.company_id, AccountRole.EXTERNAL)
    found = uow.accounts.accounts_by_ids([account_id, external_id])
    account = check_visible(found.get(account_id), ctx, account_id)
    _require_house_rules(ctx, account)
    _require_open(account)
    currency = currency or account.currency
    if not is_multiple_of(amount, Decimal("0.01")):
        raise InvalidInstruction("cash amounts are in whole cents", amount=amount)
    external = check_house(found.get(external_id), AccountRole.EXTERNAL)
    entry = cash_entry(account.id, external.id, currency, amount if deposit else -amount)
    accounts = {account.id: account, external.id: external}
    # Read and drawn before the lock, the lock taken with the balances in one statement, and
    # every write after the decision sent at once (decision 0048).
    ctx = open_session(uow, ctx)
    [drawn] = uow.ledger.reserve_entry_ids(1)
    journal = Journal(uow)
    journal.balances(accounts, keys_of([entry]))
    with uow.pipelined():
        entry_id = post_entry(uow, ctx, entry, accounts, journal=journal, entry_id=drawn)
        journal.write()
        action = "cash.deposited" if deposit else "cash.withdrawn"
        record(
            uow,
            ctx,
            action,
            "account",
            account.id,
            after={"entry_id": entry_id, "amount": amount, "currency": currency},
        )
    return entry_id


def open_position(
    uow: UnitOfWork,
    ctx: Context,
    account_id: str,
    instrument: Instrument,
    quantity: Decimal,
    price: Decimal,
) -> int:
    """Bring an existing holding onto the ledger at its acquisition price."""
    ctx.require(Scope.WRITE)
    _check_amount(quantity, "quantity")
    if price < 0 or not fits_storage(price):
        raise InvalidInstruction("price must be zero or positive with at most 9 decimals")
    if not is_multiple_of(quantity, instrument.quantity_increment):
        raise InvalidInstruction(
            f"quantity must be a multiple of {instrument.quantity_increment}", quantity=quantity
        )
    account = visible_account(uow, ctx, account_id)
    _require_house_rules(ctx, account)
    _require_open(account)
    external = house_account(uow, ctx.company_id, AccountRole.EXTERNAL)
    entry = position_entry(account.id, external.id, instrument.id, quantity, price)
    entry_id = post_entry(uow, ctx, entry, {account.id: account, external.id: external})
    record(
        uow,
        ctx,
        "position.opened",
        "account",
        account.id,
        after={
            "entry_id": entry_id,
            "symbol": instrument.symbol,
            "quantity": quantity,
            "price": price,
        },
    )
    return entry_id


def _require_open(account: Account) -> None:
    if not account.is_open:
        raise RuleViolation(f"account {account.id} is closed", account_id=account.id)


def reverse_entry(uow: UnitOfWork, ctx: Context, entry_id: int, reason: str = "") -> int:
    """Post the mirror image of an entry; the original stays as it was (SPEC §1 Ledger)."""
    ctx.require(Scope.WRITE)
    stored = _visible_entry(uow, ctx, entry_id)
    if stored.entry.reverses_entry_id is not None:
        raise InvalidInstruction("a reversal cannot itself be reversed")
    if uow.ledger.is_reversed(entry_id):
        raise Conflict(f"entry {entry_id} is reversed already", entry_id=entry_id)
    account_ids = sorted({p.account_id for p in stored.entry.postings})
    accounts = uow.accounts.accounts_by_ids(account_ids)
    reversal = stored.entry.reversal(entry_id, reason or f"reversal of entry {entry_id}")
    reversal_id = post_entry(uow, ctx, reversal, accounts, short_allowed=True)
    allocation = uow.allocations.by_entry(entry_id)
    if allocation is not None and allocation.id is not None:
        uow.allocations.set_status(allocation.id, "reversed")
    record(
        uow,
        ctx,
        "entry.reversed",
        "journal_entry",
        entry_id,
        after={"reversal_entry_id": reversal_id, "reason": reason},
    )
    return reversal_id


def _visible_entry(uow: UnitOfWork, ctx: Context, entry_id: int) -> StoredEntry:
    stored = uow.ledger.entry(ctx.company_id, entry_id)
    if stored is None:
        raise NotFound(f"journal entry {entry_id} does not exist", entry_id=entry_id)
    visible = visible_account_ids(uow, ctx)
    if visible is not None and not {p.account_id for p in stored.entry.postings} & visible:
        raise NotFound(f"journal entry {entry_id} does not exist", entry_id=entry_id)
    return stored


def get_entry(uow: UnitOfWork, ctx: Context, entry_id: int) -> StoredEntry:
    ctx.require(Scope.READ)
    return _visible_entry(uow, ctx, entry_id)


@dataclass(frozen=True, slots=True)
class AccountBalances:
    account: Account
    positions: dict[str, Balance]
    """Per instrument id."""
    cash: dict[str, Balance]
    """Per currency."""


def account_balances(uow: UnitOfWork, ctx: Context, account_id: str) -> AccountBalances:
    ctx.require(Scope.READ)
    account = visible_account(uow, ctx, account_id)
    found = uow.ledger.balances([account.id])
    positions = {k.asset: b for k, b in found.items() if k.kind is AssetKind.SECURITY}
    cash = {k.asset: b for k, b in found.items() if k.kind is AssetKind.CASH}
    return AccountBalances(account, positions, cash)


def journal(uow: UnitOfWork, ctx: Context, query: EntryFilter) -> list[StoredEntry]:
    ctx.require(Scope.READ)
    if query.account_id is not None:
        visible_account(uow, ctx, query.account_id)
    visible = visible_account_ids(uow, ctx)
    return uow.ledger.entries(
        EntryFilter(
            company_id=ctx.company_id,
            account_ids=visible,
            account_id=query.account_id,
            trade_date_from=query.trade_date_from,
            trade_date_to=query.trade_date_to,
            entry_type=query.entry_type,
            after_id=query.after_id,
            limit=query.limit,
        )
    )


def check_ledger(uow: UnitOfWork) -> list[Mismatch]:
    """Recompute every balance from the journal; an empty list means they all agree."""
    return uow.ledger.recompute()


def check_references(uow: UnitOfWork) -> list[DanglingReference]:
    """Every reference of the journal, its postings and the allocation rows that names no row,
    found set-based (those tables have no per-row foreign keys); empty when all are sound."""
    return uow.ledger.dangling_references()
