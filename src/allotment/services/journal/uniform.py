"""Booking a uniform batch: many clients trading one instrument at one price with one
counterparty, the shape of a block's allocation (every participant buys from, or sells to, the
average account at the block's price, its fees going to the fee account).

Such a batch is decided exactly as the general path decides it (`booking._decide`: each item's
`Trade.entry` applied to the running balances by `LedgerState.apply`, in order), without
building and projecting every entry generically: the balances an item moves are known (the
client's position and cash, the counterparty's, the fee account's cash), so each item costs a
few additions and one rule check per shrinking balance. The codes, the entries, the balances
and the rows are the same as the general path's, item for item (a property test holds the two
together); only the work per item is smaller, which is what a 100,000-participant fill needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from itertools import chain, compress, count, repeat
from operator import and_, attrgetter, ge, ne, not_
from typing import NamedTuple

from allotment.domain.accounts import Account
from allotment.domain.instruments import Instrument
from allotment.domain.ledger import (
    AssetKind,
    Balance,
    BalanceKey,
    BookingCode,
    JournalEntry,
    LedgerState,
    Posting,
    moved_cost,
    premium_refused,
    value_of,
)
from allotment.domain.numbers import ZERO, is_multiple_of
from allotment.services.journal.requests import BookingRequest, shape_code

_OK = BookingCode.OK
_SECURITY = AssetKind.SECURITY
_CASH = AssetKind.CASH


class UniformTerms(NamedTuple):
    """What every item of a uniform batch shares."""

    counterparty: Account
    instrument: Instrument
    side: str
    price: Decimal
    fee_account: Account | None
    fees_paid_by_client: bool
    short_allowed: bool


def uniform_terms(requests: Sequence[BookingRequest | BookingCode]) -> UniformTerms | None:
    """The shared terms when the batch is uniform, else None. Uniform: one counterparty,
    instrument, side and price (the same digits, not only the same value: the price is written
    as given), one fee account (or none) that is neither the counterparty nor a client, one
    fee payer and one short rule. Items refused upstream (codes) do not count."""
    first = next((r for r in requests if isinstance(r, BookingRequest)), None)
    if first is None:
        return None
    counterparty, instrument, price = first.counterparty, first.instrument, first.price
    fee_account = first.fee_account
    fee_id = None if fee_account is None else fee_account.id
    if fee_id == counterparty.id:
        return None
    for request in requests:
        if not isinstance(request, BookingRequest):
            continue
        if (
            not _same(request.counterparty, counterparty)
            or not _same(request.instrument, instrument)
            or not _same(request.fee_account, fee_account)
            or request.side != first.side
            or request.fees_paid_by_client is not first.fees_paid_by_client
            or request.short_allowed is not first.short_allowed
            or request.client.id == fee_id
        ):
            return None
        if request.price is not price and (
            request.price != price or request.price.as_tuple() != price.as_tuple()
        ):
            return None
    return UniformTerms(
        counterparty,
        instrument,
        first.side,
        price,
        fee_account,
        first.fees_paid_by_client,
        first.short_allowed,
    )


def _same(one: object, other: object) -> bool:
    return one is other or one == other


def trade_values(
    terms: UniformTerms, requests: Sequence[BookingRequest | BookingCode]
) -> dict[Decimal, Decimal]:
    """Each distinct quantity's trade value at the batch's price (`value_of`: refused up front,
    before anything is decided, when a value has too many digits, as `Trade` refuses it)."""
    quantities = {r.quantity for r in requests if isinstance(r, BookingRequest)}
    return {quantity: value_of(quantity, terms.price) for quantity in quantities}


class UniformKeys(NamedTuple):
    every: dict[BalanceKey, None]
    """Every balance the batch's entries can touch (what the general path would lock), in the
    order of the requests (an ordered set: what reads them walks them in that order)."""
    of_client: dict[str, tuple[BalanceKey, BalanceKey]]
    """Each client's position and cash."""


def uniform_keys(
    terms: UniformTerms, requests: Sequence[BookingRequest | BookingCode]
) -> UniformKeys:
    security, currency = str(terms.instrument.id), terms.instrument.currency
    of_client: dict[str, tuple[BalanceKey, BalanceKey]] = {}
    charged = False
    for request in requests:
        if isinstance(request, BookingRequest):
            client_id = request.client.id
            if client_id not in of_client:
                of_client[client_id] = (
                    BalanceKey(client_id, _SECURITY, security),
                    BalanceKey(client_id, _CASH, currency),
                )
            charged = charged or bool(request.commission or request.tax or request.other_fees)
    every = dict.fromkeys(chain.from_iterable(of_client.values()))
    every[BalanceKey(terms.counterparty.id, _SECURITY, security)] = None
    every[BalanceKey(terms.counterparty.id, _CASH, currency)] = None
    if terms.fee_account is not None and charged:
        every[BalanceKey(terms.fee_account.id, _CASH, currency)] = None
    return UniformKeys(every, of_client)


class UniformShape:
    """`shape_code`, answered from what a uniform batch shares: an item whose client is open,
    distinct from the counterparty, whose quantity is valid and fees are not negative is OK
    when the shared terms are; any other item gets `shape_code`'s own answer."""

    def __init__(self, terms: UniformTerms) -> None:
        price, instrument = terms.price, terms.instrument
        self.counterparty_id = terms.counterparty.id
        self.shared_ok = (
            terms.counterparty.is_open
            and price >= 0
            and is_multiple_of(price, instrument.price_increment)
        )
        self.increment = instrument.quantity_increment
        self.valid_quantities = _ValidQuantities(self.increment)

    def __call__(self, request: BookingRequest) -> BookingCode:
        if (
            self.valid_quantities[request.quantity]
            and self.shared_ok
            and request.client.is_open
            and request.client.id != self.counterparty_id
            and request.commission >= 0
            and request.tax >= 0
            and request.other_fees >= 0
        ):
            return _OK
        return shape_code(request)

    def codes(self, items: Sequence[BookingRequest | BookingCode]) -> list[BookingCode]:
        """Each item's code as `__call__` gives it (a code given already stays), the usual
        answer found column by column in C: a Python call per item cost more than the rest of
        a run's decision."""
        if not self.shared_ok or any(map(isinstance, items, repeat(BookingCode))):
            return [self(r) if isinstance(r, BookingRequest) else r for r in items]
        requests: Sequence[BookingRequest] = items  # type: ignore[assignment]
        ok = list(map(self.valid_quantities.__getitem__, map(_QUANTITY, requests)))
        ok = list(map(and_, ok, map(_CLIENT_OPEN, requests)))
        ok = list(map(and_, ok, map(ne, map(_CLIENT_ID, requests), repeat(self.counterparty_id))))
        for fee in _FEES:
            ok = list(map(and_, ok, map(ge, map(fee, requests), repeat(ZERO))))
        codes = [_OK] * len(requests)
        for index in compress(count(), map(not_, ok)):
            codes[index] = shape_code(requests[index])
        return codes


class _ValidQuantities(dict[Decimal, bool]):
    """Whether each quantity is valid (positive, a multiple of the increment), each distinct
    one checked once."""

    def __init__(self, increment: Decimal) -> None:
        super().__init__()
        self.increment = increment

    def __missing__(self, quantity: Decimal) -> bool:
        valid = self[quantity] = quantity > 0 and is_multiple_of(quantity, self.increment)
        return valid


_QUANTITY = attrgetter("quantity")
_CLIENT_OPEN = attrgetter("client.is_open")
_CLIENT_ID = attrgetter("client.id")
_FEES = (attrgetter("commission"), attrgetter("tax"), attrgetter("other_fees"))


def decide_uniform(
    state: LedgerState,
    terms: UniformTerms,
    keys: UniformKeys,
    requests: Sequence[BookingRequest | BookingCode],
    indexes: range,
    values: dict[Decimal, Decimal],
    entries: dict[int, JournalEntry],
    booked_values: dict[int, Decimal],
) -> list[BookingCode]:
    """Each item's code, in order, as the general path decides it; an accepted item's entry
    (the postings of `Trade.entry`, in its order) and trade value go into `entries` and
    `booked_values`, and its balances into `state`."""
    decider = UniformItems(state, terms, keys)
    codes: list[BookingCode] = []
    accepted: list[str] = []
    for index in indexes:
        request = requests[index]
        if not isinstance(request, BookingRequest):
            codes.append(request)
            continue
        value = values[request.quantity]
        code, entry = decider.decide(request, value)
        codes.append(code)
        if entry is not None:
            entries[index] = entry
            booked_values[index] = value
            accepted.append(request.client.id)
    if accepted:
        state.touched.update(chain.from_iterable(map(keys.of_client.__getitem__, accepted)))
        state.touched.update((decider.their_security, decider.their_cash))
        if decider.charged_any:
            state.touched.add(decider.fee_key)
    return codes


class UniformItems:
    """One uniform batch's shared terms and running balances: `decide` answers one item as
    `Trade.entry` + `LedgerState.apply` would."""

    def __init__(self, state: LedgerState, terms: UniformTerms, keys: UniformKeys) -> None:
        self.state, self.terms, self.of_client = state, terms, keys.of_client
        self.shape = UniformShape(terms)
        self.security, self.currency = str(terms.instrument.id), terms.instrument.currency
        self.buying = terms.side == "Buy"
        self.fee_id = None if terms.fee_account is None else terms.fee_account.id
        counterparty = terms.counterparty.id
        self.their_security = BalanceKey(counterparty, _SECURITY, self.security)
        self.their_cash = BalanceKey(counterparty, _CASH, self.currency)
        self.fee_key = BalanceKey(self.fee_id or "", _CASH, self.currency)
        keys_with_floors = [self.their_security, self.their_cash]
        if self.fee_id is not None:
            keys_with_floors.append(self.fee_key)
        self.floors = {key: state.floor(key, terms.short_allowed) for key in keys_with_floors}
        self.charged_any = False

    def _fees(self, request: BookingRequest) -> tuple[Decimal, bool]:
        """Trade.entry's fees, summed as its FeeLegs are, and whether any was charged."""
        fees, charged = ZERO, False
        if self.fee_id is not None:
            for amount in (request.commission, request.tax, request.other_fees):
                if amount:
                    fees += amount
                    charged = True
        return fees, charged

    def _refusal(
        self, moves: list[tuple[BalanceKey, Balance, Decimal, Decimal | None]]
    ) -> BookingCode | None:
        """The rule the first shrinking balance below its floor breaks (as LedgerState.apply
        orders them), or None."""
        refused = []
        for key, before, after, floor in moves:
            if after < before.quantity:
                if floor is _ASK:
                    floor = self.state.floor(key, self.terms.short_allowed)
                if floor is not None and after < floor:
                    refused.append((key, self.state.rule_for(key, after, self.terms.short_allowed)))
        return min(refused)[1] if refused else None

    def decide(
        self, request: BookingRequest, value: Decimal
    ) -> tuple[BookingCode, JournalEntry | None]:
        terms, balances = self.terms, self.state.balances
        price = terms.price
        code = self.shape(request)
        their_position = balances.get(self.their_security) or _NOTHING
        if (
            code is _OK
            and self.buying
            and premium_refused(terms.counterparty, their_position, price)
        ):
            code = BookingCode.PREMIUM_NOT_ALLOWED
        if code is not _OK:
            return code, None
        client_id, quantity = request.client.id, request.quantity
        fees, charged = self._fees(request)
        client_fees, their_fees = (fees, ZERO) if terms.fees_paid_by_client else (ZERO, fees)
        if self.buying:
            client_moves, their_moves = quantity, -quantity
            client_cash, their_cash_move = -value - client_fees, value - their_fees
        else:
            client_moves, their_moves = -quantity, quantity
            client_cash, their_cash_move = value - client_fees, -value - their_fees
        my_security, my_cash = self.of_client[client_id]
        my_position = balances.get(my_security) or _NOTHING
        my_money = balances.get(my_cash) or _NOTHING
        their_money = balances.get(self.their_cash) or _NOTHING
        fee_money = balances.get(self.fee_key) or _NOTHING
        moves = [
            (my_security, my_position, my_position.quantity + client_moves, _ASK),
            (my_cash, my_money, my_money.quantity + client_cash, _ASK),
            (
                self.their_security,
                their_position,
                their_position.quantity + their_moves,
                self.floors[self.their_security],
            ),
            (
                self.their_cash,
                their_money,
                their_money.quantity + their_cash_move,
                self.floors[self.their_cash],
            ),
            (
                self.fee_key,
                fee_money,
                fee_money.quantity + fees,
                self.floors[self.fee_key] if charged else None,
            ),
        ]
        refused = self._refusal(moves)
        if refused is not None:
            return refused, None
        cash = (client_cash, their_cash_move, fees if charged else None)
        return _OK, self._apply(request, moves, cash)

    def _apply(
        self,
        request: BookingRequest,
        moves: list[tuple[BalanceKey, Balance, Decimal, Decimal | None]],
        cash: tuple[Decimal, Decimal, Decimal | None],
    ) -> JournalEntry:
        """An accepted item's balances into the running state, and its entry."""
        balances, price = self.state.balances, self.terms.price
        counterparty, client_id, quantity = (
            self.terms.counterparty.id,
            request.client.id,
            request.quantity,
        )
        (mine, my_position, _, _), (my_cash, my_money, _, _) = moves[0], moves[1]
        their_position, their_money = moves[2][1], moves[3][1]
        client_moves = quantity if self.buying else -quantity
        balances[mine] = Balance(moves[0][2], moved_cost(my_position, client_moves, price))
        balances[my_cash] = Balance(moves[1][2], my_money.cost_amount)
        balances[self.their_security] = Balance(
            moves[2][2], moved_cost(their_position, -client_moves, price)
        )
        balances[self.their_cash] = Balance(moves[3][2], their_money.cost_amount)
        client_cash, their_cash_move, fees = cash
        seller, buyer = (counterparty, client_id) if self.buying else (client_id, counterparty)
        buyer_cash, seller_cash = (
            (client_cash, their_cash_move) if self.buying else (their_cash_move, client_cash)
        )
        security, currency = self.security, self.currency
        postings: tuple[Posting, ...] = (
            Posting(seller, _SECURITY, security, -quantity, price),
            Posting(buyer, _SECURITY, security, quantity, price),
            Posting(buyer, _CASH, currency, buyer_cash, None),
            Posting(seller, _CASH, currency, seller_cash, None),
        )
        if fees is not None:
            assert self.fee_id is not None
            balances[self.fee_key] = Balance(moves[4][2], moves[4][1].cost_amount)
            postings += (Posting(self.fee_id, _CASH, currency, fees, None),)
            self.charged_any = True
        return JournalEntry("trade", postings)


_ASK = Decimal("NaN")
"""A client's floor: asked of the ledger state only when its balance shrinks."""
_NOTHING = Balance()
"""A balance not held yet (read, never changed)."""
