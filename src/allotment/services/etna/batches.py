"""The ETNA dialect's use case: batches of allocation requests booked on the ledger.

ETNA Trader documents an allocation as a sale from the source trading account (FromAccount) to
the target one (ToAccount) at the given price, the commission charged to the user's account
(ToAccount), registered with clearing at the session close. Buy-like actions move the
securities FromAccount -> ToAccount, sell-like actions ToAccount -> FromAccount. A simple request
is one leg; a multi-leg request is several legs booked all or nothing, with one commission.

The checks that need no balance are made here, in memory, for the whole batch (accounts and
instruments read once with IN lists); the rest (premium, position, cash) is decided by
`booking.book`, which books the batch set-based.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from allotment.domain.accounts import Account, AccountRole, AccountType
from allotment.domain.errors import NotFound
from allotment.domain.identity import Principal, Scope
from allotment.domain.instruments import Instrument
from allotment.domain.ledger import BookingCode
from allotment.domain.numbers import CENT, ZERO, is_multiple_of
from allotment.services.clearing import open_session
from allotment.services.context import Context, record
from allotment.services.desk.records import RefusedItem, record_refusals
from allotment.services.journal import Journal
from allotment.services.journal.book import book
from allotment.services.journal.requests import BookingOutcome, BookingRequest
from allotment.services.ports import UnitOfWork
from allotment.services.registry import house_account_id

OK = BookingCode.OK


class Action(StrEnum):
    BUY = "Buy"
    SELL = "Sell"
    SELL_SHORT = "SellShort"
    BUY_TO_COVER = "BuyToCover"
    SELL_TO_CLOSE = "SellToClose"
    BUY_TO_CLOSE = "BuyToClose"
    SELL_TO_OPEN = "SellToOpen"
    BUY_TO_OPEN = "BuyToOpen"

    @property
    def buys(self) -> bool:
        return self.value.startswith("Buy")

    @property
    def opens_short(self) -> bool:
        """Only these actions may take a (margin) account short."""
        return self in (Action.SELL_SHORT, Action.SELL_TO_OPEN)


TRADING_ROLES = (AccountRole.CLIENT, AccountRole.AVERAGE)
"""Trading accounts an allocation may name; house accounts (fee, error, external) are not."""


@dataclass(frozen=True, slots=True)
class Leg:
    symbol: str
    quantity: Decimal
    """Positive; a multi-leg request may send a negative quantity to reverse the leg's side."""
    price: Decimal
    action: Action

    @property
    def buys(self) -> bool:
        return self.action.buys == (self.quantity > 0)


@dataclass(frozen=True, slots=True)
class AllocationRequest:
    """One SimpleAllocationRequest (one leg) or MultilegAllocationRequest (several legs)."""

    from_account: str
    to_account: str
    account_type: AccountType | None
    """None: ToAccount's own type (ETNA's definitions leave AccountType optional)."""
    legs: tuple[Leg, ...]
    commission: Decimal = ZERO
    comment: str = ""


@dataclass(frozen=True, slots=True)
class AllocationResult:
    code: BookingCode
    """OK when the request passed every check (it may still be unbooked in an atomic batch)."""
    booked: bool
    allocation_ids: tuple[int, ...] = ()


def allocate(
    uow: UnitOfWork, ctx: Context, requests: Sequence[AllocationRequest], *, atomic: bool = False
) -> list[AllocationResult]:
    """Book a batch of ETNA allocation requests; one result per request, in order.

    Independent by default: each request is booked or refused on its own. With `atomic`, a
    single refusal books nothing. Nothing is committed here.
    """
    ctx.require(Scope.WRITE)
    fee_id = house_account_id(ctx.company_id, AccountRole.FEE)
    account_ids = {r.from_account for r in requests} | {r.to_account for r in requests}
    account_ids.add(fee_id)
    # A small batch (decision 0048) is read, checked and given its ids first, the accounts
    # unlocked, then locks them with their balances; a large one locks its accounts first, in
    # one statement (the order booking.book locks in), so that nothing is locked later.
    small = sum(len(r.legs) for r in requests) <= PIPELINED_ITEMS
    ctx = open_session(uow, ctx)
    accounts = (_company_accounts if small else _lock)(uow, ctx, account_ids)
    instruments = uow.instruments.by_symbols(
        sorted({leg.symbol for r in requests for leg in r.legs})
    )
    items, groups = _all_bookings(ctx, requests, accounts, instruments)
    journal, ids = Journal(uow), None
    if small:
        ids = _draw_ids(uow, items)
        locked = journal.lock(ctx.company_id, account_ids)
        if locked != accounts:  # changed since they were read: checked again as they are now
            items, groups = _all_bookings(ctx, requests, locked, instruments)
            ids = _draw_ids(uow, items)
    with uow.pipelined() if small else nullcontext():  # from here on, writes only
        outcomes = book(uow, ctx, items, atomic=atomic, groups=groups, journal=journal, ids=ids)
        journal.write()
        results = _results(len(requests), groups, outcomes)
        _audit(uow, ctx, results, atomic)
        record_refusals(uow, ctx, "allocation batch", _refused_items(requests, results))
    return results


PIPELINED_ITEMS = 16
"""Up to this many items (legs; a few postings each, well below a COPY's rows), the accounts
are locked with their balances in one wait and every write after the decision is sent at once
(`UnitOfWork.pipelined`)."""


def _company_accounts(uow: UnitOfWork, ctx: Context, ids: set[str]) -> dict[str, Account]:
    """The company's accounts among `ids`, as `lock_accounts` finds them, unlocked."""
    found = uow.accounts.accounts_by_ids(sorted(ids))
    return {i: account for i, account in found.items() if account.company_id == ctx.company_id}


def _lock(uow: UnitOfWork, ctx: Context, ids: set[str]) -> dict[str, Account]:
    return uow.ledger.lock_accounts(ctx.company_id, sorted(ids))


def _all_bookings(
    ctx: Context,
    requests: Sequence[AllocationRequest],
    accounts: Mapping[str, Account],
    instruments: Mapping[str, Instrument],
) -> tuple[list[BookingRequest | BookingCode], list[int]]:
    fee_account = accounts.get(house_account_id(ctx.company_id, AccountRole.FEE))
    if fee_account is None:
        raise NotFound("the company has no fee account", role=AccountRole.FEE.value)
    items: list[BookingRequest | BookingCode] = []
    groups: list[int] = []
    for index, request in enumerate(requests):
        for item in _bookings(ctx.principal, request, accounts, instruments, fee_account):
            items.append(item)
            groups.append(index)
    return items, groups


def _draw_ids(
    uow: UnitOfWork, items: Sequence[BookingRequest | BookingCode]
) -> tuple[list[int], list[int]]:
    """An entry id and an allocation id for each item that may book, drawn before the lock."""
    count = sum(1 for item in items if isinstance(item, BookingRequest))
    return uow.ledger.reserve_entry_ids(count), uow.allocations.reserve_ids(count)


def _bookings(
    principal: Principal,
    request: AllocationRequest,
    accounts: Mapping[str, Account],
    instruments: Mapping[str, Instrument],
    fee_account: Account | None,
) -> list[BookingRequest | BookingCode]:
    code = _accounts_code(principal, request, accounts)
    if code is not OK:
        return [code] * len(request.legs)
    source, target = accounts[request.from_account], accounts[request.to_account]
    items: list[BookingRequest | BookingCode] = []
    for position, leg in enumerate(request.legs):
        instrument = instruments.get(leg.symbol)
        commission = request.commission if position == 0 else ZERO
        code = _leg_code(leg, instrument, commission)
        if code is not OK or instrument is None:
            return [code] * len(request.legs)
        items.append(
            BookingRequest(
                client=target,
                counterparty=source,
                instrument=instrument,
                side="Buy" if leg.buys else "Sell",
                quantity=abs(leg.quantity),
                price=leg.price,
                commission=commission,
                action=leg.action.value,
                short_allowed=leg.action.opens_short,
                fee_account=fee_account,
                comment=request.comment,
            )
        )
    return items


def _accounts_code(
    principal: Principal, request: AllocationRequest, accounts: Mapping[str, Account]
) -> BookingCode:
    """Which account rule refuses the request, in the order a caller can act on them."""
    source, target = accounts.get(request.from_account), accounts.get(request.to_account)
    if not _trading_account(principal, source) or not _trading_account(principal, target):
        return BookingCode.INVALID_ACCOUNT
    assert source is not None and target is not None
    if not (
        principal.may_act_for_client(source.client_id)
        and principal.may_act_for_client(target.client_id)
    ):
        return BookingCode.NOT_AUTHORIZED_FOR_ACCOUNT
    if source.id == target.id:
        return BookingCode.SAME_ACCOUNT
    if not source.is_open or not target.is_open:
        return BookingCode.ACCOUNT_CLOSED
    if request.account_type is not None and request.account_type is not target.type:
        return BookingCode.ACCOUNT_TYPE_MISMATCH
    return OK


def _trading_account(principal: Principal, account: Account | None) -> bool:
    """Unknown ids (a username, say), other companies' accounts and house accounts are not
    trading accounts this caller may name."""
    return (
        account is not None
        and account.company_id == principal.company_id
        and account.role in TRADING_ROLES
    )


def _leg_code(leg: Leg, instrument: Instrument | None, commission: Decimal) -> BookingCode:
    if instrument is None:
        return BookingCode.INVALID_SYMBOL
    if not is_multiple_of(abs(leg.quantity), instrument.quantity_increment):
        return BookingCode.INVALID_QUANTITY
    if not is_multiple_of(leg.price, instrument.price_increment):
        return BookingCode.INVALID_PRICE
    if not is_multiple_of(commission, CENT):
        return BookingCode.INVALID_PRICE
    return OK


def _results(
    count: int, groups: Sequence[int], outcomes: Sequence[BookingOutcome]
) -> list[AllocationResult]:
    codes: list[BookingCode] = [OK] * count
    booked: list[list[int]] = [[] for _ in range(count)]
    legs = [0] * count
    for index, outcome in zip(groups, outcomes, strict=True):
        legs[index] += 1
        if outcome.code is not OK and codes[index] is OK:
            codes[index] = outcome.code
        if outcome.allocation_id is not None:
            booked[index].append(outcome.allocation_id)
    return [
        AllocationResult(codes[i], bool(legs[i]) and len(booked[i]) == legs[i], tuple(booked[i]))
        for i in range(count)
    ]


def _refused_items(
    requests: Sequence[AllocationRequest], results: Sequence[AllocationResult]
) -> list[RefusedItem]:
    """The refused requests, for the desk's exceptions queue."""
    return [
        RefusedItem(
            request.to_account,
            result.code.value,
            f"from {request.from_account}: "
            + ", ".join(f"{leg.action.value} {leg.quantity} {leg.symbol}" for leg in request.legs),
            sum((abs(leg.quantity) for leg in request.legs), ZERO),
        )
        for request, result in zip(requests, results, strict=True)
        if result.code is not OK
    ]


def _audit(
    uow: UnitOfWork, ctx: Context, results: Sequence[AllocationResult], atomic: bool
) -> None:
    allocation_ids = [i for result in results for i in result.allocation_ids]
    refusals = Counter(r.code.value for r in results if r.code is not OK)
    record(
        uow,
        ctx,
        "allocations.booked" if allocation_ids else "allocations.refused",
        "allocation_batch",
        min(allocation_ids) if allocation_ids else "none",
        after={
            "requests": len(results),
            "booked": sum(1 for r in results if r.booked),
            "atomic": atomic,
            "first_allocation_id": min(allocation_ids) if allocation_ids else None,
            "last_allocation_id": max(allocation_ids) if allocation_ids else None,
            "allocations": len(allocation_ids),
            "refusals": dict(sorted(refusals.items())),
        },
    )
