"""Booking allocations on the ledger in bulk.

The batch is decided in memory first: every touched balance is loaded once (locked, in a stable
order), each item is checked against the running balances and the rules of SPEC §3, then the
accepted entries, allocation rows and final balances are written set-based. No round trip per
item (PERFORMANCE.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from allotment.domain.accounts import Account
from allotment.domain.instruments import Instrument
from allotment.domain.ledger import (
    Balance,
    BalanceKey,
    BookingCode,
    FeeLeg,
    JournalEntry,
    LedgerState,
    Trade,
    cash_key,
    keys_of,
    premium_refused,
    security_key,
)
from allotment.domain.numbers import ZERO, is_multiple_of
from allotment.services.clearing import ensure_open
from allotment.services.context import Context
from allotment.services.ports import AllocationRow, UnitOfWork


class BookingRequest(NamedTuple):
    """One allocation: `client` buys from or sells to `counterparty` (the source account).
    A named tuple: a block fill builds one per participant."""

    client: Account
    counterparty: Account
    instrument: Instrument
    side: str
    """Buy or Sell, seen from the client account."""
    quantity: Decimal
    price: Decimal
    commission: Decimal = ZERO
    tax: Decimal = ZERO
    other_fees: Decimal = ZERO
    action: str = ""
    short_allowed: bool = False
    fee_account: Account | None = None
    comment: str = ""
    reference: str | None = None
    block_id: int | None = None
    fees_paid_by_client: bool = True

    @property
    def fees_total(self) -> Decimal:
        return self.commission + self.tax + self.other_fees

    def trade(self) -> Trade:
        buying = self.side == "Buy"
        seller, buyer = (
            (self.counterparty, self.client) if buying else (self.client, self.counterparty)
        )
        fees: tuple[FeeLeg, ...] = ()
        if self.fee_account is not None:
            payer = self.client.id if self.fees_paid_by_client else self.counterparty.id
            fees = tuple(
                FeeLeg(kind, payer, self.fee_account.id, amount)
                for kind, amount in (
                    ("commission", self.commission),
                    ("tax", self.tax),
                    ("other", self.other_fees),
                )
                if amount
            )
        return Trade(seller.id, buyer.id, self.instrument, self.quantity, self.price, fees)

    def net_amount(self, trade_value: Decimal) -> Decimal:
        """FIX AllocNetMoney: trade value plus fees on a buy, minus fees on a sale."""
        if self.side == "Buy":
            return trade_value + self.fees_total
        return trade_value - self.fees_total


@dataclass(frozen=True, slots=True)
class BookingOutcome:
    code: BookingCode
    allocation_id: int | None = None
    entry_id: int | None = None


def shape_code(request: BookingRequest) -> BookingCode:
    """Checks that need no balance: open accounts, distinct accounts, increments, signs."""
    if not request.client.is_open or not request.counterparty.is_open:
        return BookingCode.ACCOUNT_CLOSED
    if request.client.id == request.counterparty.id:
        return BookingCode.SAME_ACCOUNT
    increment = request.instrument.quantity_increment
    if request.quantity <= 0 or not is_multiple_of(request.quantity, increment):
        return BookingCode.INVALID_QUANTITY
    if request.price < 0 or not is_multiple_of(request.price, request.instrument.price_increment):
        return BookingCode.INVALID_PRICE
    if min(request.commission, request.tax, request.other_fees) < 0:
        return BookingCode.INVALID_PRICE
    return BookingCode.OK


def book(
    uow: UnitOfWork,
    ctx: Context,
    requests: Sequence[BookingRequest | BookingCode],
    *,
    atomic: bool = False,
    groups: Sequence[int] | None = None,
) -> list[BookingOutcome]:
    """Book every request that passes; items given as a BookingCode were refused upstream.

    With `atomic`, one refusal books nothing (the refused items keep their codes). `groups`
    (one value per item, equal values adjacent) makes each group all or nothing on its own: a
    refused member gives its code to every member of its group (ETNA's multi-leg requests).
    Bookings are dated today: a closed clearing session refuses them all (SessionClosed).
    Nothing is committed here: the caller commits the unit of work.
    """
    if groups is not None and len(groups) != len(requests):
        raise ValueError("groups needs one value per request")
    trades = {i: r.trade() for i, r in enumerate(requests) if isinstance(r, BookingRequest)}
    if not trades:
        return [BookingOutcome(code) for code in requests if isinstance(code, BookingCode)]
    ensure_open(uow, ctx.company_id, ctx.today)
    batch = _Batch(uow, ctx, requests, trades, {}, groups)
    accounts = _accounts_of(requests)
    if atomic or not _pipelined(uow, len(requests)):
        keys = _posting_keys(batch, range(len(requests)))
        state = LedgerState(accounts, uow.ledger.lock_balances(list(keys)))
        codes = _decide(state, batch, range(len(requests)))
        if atomic and any(code is not BookingCode.OK for code in codes):
            return [BookingOutcome(code) for code in codes]
        booked = _write_rows(batch, [i for i, code in enumerate(codes) if code is BookingCode.OK])
    else:
        keys = {key for trade in trades.values() for key in _trade_keys(trade)}
        state = LedgerState(accounts, uow.ledger.lock_balances(list(keys)))
        codes, booked = _decide_while_writing(state, batch, keys)
    uow.ledger.write_balances({key: state.balances[key] for key in state.touched})
    return [BookingOutcome(code, *booked.get(i, (None, None))) for i, code in enumerate(codes)]


PIPELINE_CHUNK = 2_000
"""Items decided per step while the previous step's rows are written (PostgreSQL)."""


@dataclass(frozen=True, slots=True)
class _Batch:
    uow: UnitOfWork
    ctx: Context
    requests: Sequence[BookingRequest | BookingCode]
    trades: dict[int, Trade]
    entries: dict[int, JournalEntry]
    groups: Sequence[int] | None


def _pipelined(uow: UnitOfWork, count: int) -> bool:
    """Large batches on PostgreSQL overlap deciding with writing: the database inserts (and
    checks foreign keys) for one chunk while Python decides the next. A SQLite connection
    belongs to its thread, so SQLite decides everything first."""
    return uow.dialect_name == "postgresql" and count > PIPELINE_CHUNK


def _decide_while_writing(
    state: LedgerState, batch: _Batch, known: set[BalanceKey]
) -> tuple[list[BookingCode], dict[int, tuple[int, int]]]:
    """Decide chunk by chunk; a writer thread writes each decided chunk while the next one is
    built and decided. The connection is used by one thread at a time: while the writer runs,
    this thread only computes. `known` are the balances read (and locked) before the first
    chunk; a chunk touching another one reads it first (it never happens for trades)."""
    codes: list[BookingCode] = []
    booked: dict[int, tuple[int, int]] = {}
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="booking-writer") as writer:
        pending: Future[dict[int, tuple[int, int]]] | None = None
        for chunk in _chunks(len(batch.requests), batch.groups, PIPELINE_CHUNK):
            missing = _posting_keys(batch, chunk) - known
            if missing:
                if pending is not None:
                    booked.update(pending.result())
                    pending = None
                state.balances.update(batch.uow.ledger.lock_balances(list(missing)))
                known |= missing
            decided = _decide(state, batch, chunk)
            codes.extend(decided)
            accepted = [i for i, code in zip(chunk, decided, strict=True) if code is BookingCode.OK]
            if pending is not None:
                booked.update(pending.result())
            pending = writer.submit(_write_rows, batch, accepted)
        if pending is not None:
            booked.update(pending.result())
    return codes, booked


def _posting_keys(batch: _Batch, indexes: range) -> set[BalanceKey]:
    """Build the journal entries of these items; the balances their postings touch."""
    keys: set[BalanceKey] = set()
    for index in indexes:
        trade = batch.trades.get(index)
        if trade is not None:
            entry = batch.entries[index] = trade.entry()
            keys.update(posting.key for posting in entry.postings)
    return keys


def _trade_keys(trade: Trade) -> list[BalanceKey]:
    """The balances a trade's entry touches (Trade.entry): both sides' positions and cash, and
    the fee payer's and fee account's cash. Lets the balances be locked before the entries are
    built; `_decide_while_writing` checks each chunk's entries against them all the same."""
    instrument, currency = trade.instrument.id, trade.instrument.currency
    keys = [
        security_key(trade.seller_account_id, instrument),
        security_key(trade.buyer_account_id, instrument),
        cash_key(trade.buyer_account_id, currency),
        cash_key(trade.seller_account_id, currency),
    ]
    for fee in trade.fees:
        keys += [cash_key(fee.payer_account_id, currency), cash_key(fee.fee_account_id, currency)]
    return keys


def _chunks(count: int, groups: Sequence[int] | None, size: int) -> list[range]:
    """Consecutive ranges of about `size` items; a group is never cut in two."""
    chunks, start = [], 0
    while start < count:
        end = min(start + size, count)
        while groups is not None and end < count and groups[end] == groups[end - 1]:
            end += 1
        chunks.append(range(start, end))
        start = end
    return chunks


def _decide(state: LedgerState, batch: _Batch, indexes: range) -> list[BookingCode]:
    """Each item's code, applying the accepted ones to the in-memory balances in order."""
    requests, entries, groups = batch.requests, batch.entries, batch.groups
    if groups is None:
        return [_decide_one(state, requests[i], entries.get(i)) for i in indexes]
    codes: list[BookingCode] = []
    start = indexes.start
    while start < indexes.stop:
        end = start + 1
        while end < indexes.stop and groups[end] == groups[start]:
            end += 1
        if end - start == 1:
            codes.append(_decide_one(state, requests[start], entries.get(start)))
        else:
            codes.extend(_decide_group(state, requests, entries, range(start, end)))
        start = end
    return codes


def _decide_one(
    state: LedgerState, request: BookingRequest | BookingCode, entry: JournalEntry | None
) -> BookingCode:
    if not isinstance(request, BookingRequest):
        return request
    assert entry is not None
    code = shape_code(request)
    if code is BookingCode.OK:
        code = _premium_code(state, request)
    if code is BookingCode.OK:
        code = state.apply(entry, short_allowed=request.short_allowed)
    return code


def _decide_group(
    state: LedgerState,
    requests: Sequence[BookingRequest | BookingCode],
    entries: dict[int, JournalEntry],
    members: range,
) -> list[BookingCode]:
    """All or nothing for one group: on a refusal, the balances go back to where they were."""
    keys = keys_of([entries[i] for i in members if i in entries])
    saved = {key: (state.balances.get(key), key in state.touched) for key in keys}
    for index in members:
        code = _decide_one(state, requests[index], entries.get(index))
        if code is not BookingCode.OK:
            _restore(state, saved)
            return [code] * len(members)
    return [BookingCode.OK] * len(members)


def _restore(state: LedgerState, saved: dict[BalanceKey, tuple[Balance | None, bool]]) -> None:
    for key, (balance, was_touched) in saved.items():
        if balance is None:
            state.balances.pop(key, None)
        else:
            state.balances[key] = balance
        if not was_touched:
            state.touched.discard(key)


def _premium_code(state: LedgerState, request: BookingRequest) -> BookingCode:
    if request.side != "Buy":
        return BookingCode.OK
    position = state.balance(security_key(request.counterparty.id, request.instrument.id))
    if premium_refused(request.counterparty, position, request.price):
        return BookingCode.PREMIUM_NOT_ALLOWED
    return BookingCode.OK


def _accounts_of(requests: Sequence[BookingRequest | BookingCode]) -> dict[str, Account]:
    accounts: dict[str, Account] = {}
    for request in requests:
        if isinstance(request, BookingRequest):
            accounts[request.client.id] = request.client
            accounts[request.counterparty.id] = request.counterparty
            if request.fee_account is not None:
                accounts[request.fee_account.id] = request.fee_account
    return accounts


def _write_rows(batch: _Batch, accepted: Sequence[int]) -> dict[int, tuple[int, int]]:
    """The accepted items' entries, postings and allocation rows, each kind written at once.
    Returns (allocation id, entry id) per item index."""
    ctx, requests = batch.ctx, batch.requests
    entry_ids = batch.uow.ledger.add_entries(
        ctx.company_id,
        [batch.entries[i] for i in accepted],
        ctx.today,
        ctx.now,
        ctx.principal.subject,
        ctx.dialect,
    )
    rows = []
    for index, entry_id in zip(accepted, entry_ids, strict=True):
        request = requests[index]
        assert isinstance(request, BookingRequest)
        rows.append(_allocation_row(ctx, request, batch.trades[index], entry_id))
    allocation_ids = batch.uow.allocations.add_many(rows)
    return dict(zip(accepted, zip(allocation_ids, entry_ids, strict=True), strict=True))


def _allocation_row(
    ctx: Context, request: BookingRequest, trade: Trade, entry_id: int
) -> AllocationRow:
    value = trade.trade_value
    return AllocationRow(
        company_id=ctx.company_id,
        entry_id=entry_id,
        dialect=ctx.dialect,
        trade_date=ctx.today,
        account_id=request.client.id,
        source_account_id=request.counterparty.id,
        instrument_id=request.instrument.id,
        side=request.side,
        action=request.action or request.side,
        quantity=request.quantity,
        price=request.price,
        trade_value=value,
        commission=request.commission,
        tax=request.tax,
        other_fees=request.other_fees,
        net_amount=request.net_amount(value),
        comment=request.comment,
        created_at=ctx.now,
        created_by=ctx.principal.subject,
        block_id=request.block_id,
        reference=request.reference,
    )
