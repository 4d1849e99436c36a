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
from itertools import chain
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
from allotment.services.booking_requests import BookingRequest, shape_code

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


class _Shape:
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
        self.valid_quantities: dict[Decimal, bool] = {}

    def __call__(self, request: BookingRequest) -> BookingCode:
        quantity = request.quantity
        valid = self.valid_quantities.get(quantity)
        if valid is None:
            valid = quantity > 0 and is_multiple_of(quantity, self.increment)
            self.valid_quantities[quantity] = valid
        if (
            valid
            and self.shared_ok
            and request.client.is_open
            and request.client.id != self.counterparty_id
            and request.commission >= 0
            and request.tax >= 0
            and request.other_fees >= 0
        ):
            return _OK
        return shape_code(request)


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
    shape = _Shape(terms)
    counterparty, price = terms.counterparty, terms.price
    security, currency = str(terms.instrument.id), terms.instrument.currency
    buying = terms.side == "Buy"
    fee_id = None if terms.fee_account is None else terms.fee_account.id
    by_client, short_allowed = terms.fees_paid_by_client, terms.short_allowed
    their_security = BalanceKey(counterparty.id, _SECURITY, security)
    their_cash = BalanceKey(counterparty.id, _CASH, currency)
    fee_key = BalanceKey(fee_id or "", _CASH, currency)
    balances, of_client = state.balances, keys.of_client
    floors = {key: state.floor(key, short_allowed) for key in (their_security, their_cash)}
    if fee_id is not None:
        floors[fee_key] = state.floor(fee_key, short_allowed)
    codes: list[BookingCode] = []
    accepted: list[str] = []
    charged_any = False
    for index in indexes:
        request = requests[index]
        if not isinstance(request, BookingRequest):
            codes.append(request)
            continue
        code = shape(request)
        their_position = balances.get(their_security) or _NOTHING
        if code is _OK and buying and premium_refused(counterparty, their_position, price):
            code = BookingCode.PREMIUM_NOT_ALLOWED
        if code is not _OK:
            codes.append(code)
            continue
        client_id, quantity = request.client.id, request.quantity
        value = values[quantity]
        # Trade.entry: the fees, summed as its FeeLegs are, netted into the payer's cash line.
        fees, charged = ZERO, False
        if fee_id is not None:
            for amount in (request.commission, request.tax, request.other_fees):
                if amount:
                    fees += amount
                    charged = True
        client_fees, their_fees = (fees, ZERO) if by_client else (ZERO, fees)
        if buying:
            client_moves, their_moves = quantity, -quantity
            client_cash, their_cash_move = -value - client_fees, value - their_fees
        else:
            client_moves, their_moves = -quantity, quantity
            client_cash, their_cash_move = value - client_fees, -value - their_fees
        my_security, my_cash = of_client[client_id]
        my_position = balances.get(my_security) or _NOTHING
        my_money = balances.get(my_cash) or _NOTHING
        their_money = balances.get(their_cash) or _NOTHING
        fee_money = balances.get(fee_key) or _NOTHING
        my_position_after = my_position.quantity + client_moves
        my_money_after = my_money.quantity + client_cash
        their_position_after = their_position.quantity + their_moves
        their_money_after = their_money.quantity + their_cash_move
        fee_money_after = fee_money.quantity + fees
        refused = []
        for key, before, after, floor in (
            (my_security, my_position, my_position_after, _ASK),
            (my_cash, my_money, my_money_after, _ASK),
            (their_security, their_position, their_position_after, floors[their_security]),
            (their_cash, their_money, their_money_after, floors[their_cash]),
            (fee_key, fee_money, fee_money_after, floors[fee_key] if charged else None),
        ):
            if after < before.quantity:
                if floor is _ASK:
                    floor = state.floor(key, short_allowed)
                if floor is not None and after < floor:
                    refused.append((key, state.rule_for(key, after, short_allowed)))
        if refused:
            codes.append(min(refused)[1])
            continue
        balances[my_security] = Balance(
            my_position_after, moved_cost(my_position, client_moves, price)
        )
        balances[my_cash] = Balance(my_money_after, my_money.cost_amount)
        balances[their_security] = Balance(
            their_position_after, moved_cost(their_position, their_moves, price)
        )
        balances[their_cash] = Balance(their_money_after, their_money.cost_amount)
        seller, buyer = (counterparty.id, client_id) if buying else (client_id, counterparty.id)
        buyer_cash, seller_cash = (
            (client_cash, their_cash_move) if buying else (their_cash_move, client_cash)
        )
        postings: tuple[Posting, ...] = (
            Posting(seller, _SECURITY, security, -quantity, price),
            Posting(buyer, _SECURITY, security, quantity, price),
            Posting(buyer, _CASH, currency, buyer_cash, None),
            Posting(seller, _CASH, currency, seller_cash, None),
        )
        if charged:
            assert fee_id is not None
            balances[fee_key] = Balance(fee_money_after, fee_money.cost_amount)
            postings += (Posting(fee_id, _CASH, currency, fees, None),)
            charged_any = True
        entries[index] = JournalEntry("trade", postings)
        booked_values[index] = value
        accepted.append(client_id)
        codes.append(_OK)
    if accepted:
        state.touched.update(chain.from_iterable(map(of_client.__getitem__, accepted)))
        state.touched.update((their_security, their_cash))
        if charged_any:
            state.touched.add(fee_key)
    return codes


_ASK = Decimal("NaN")
"""A client's floor: asked of the ledger state only when its balance shrinks."""
_NOTHING = Balance()
"""A balance not held yet (read, never changed)."""
