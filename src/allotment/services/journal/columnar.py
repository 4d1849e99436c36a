"""Deciding a uniform batch column by column (journal/uniform says what a uniform batch is).

The item-by-item decider (`UniformItems`) answers each item as `Trade.entry` and
`LedgerState.apply` would, building its postings, its entry and its balances. Here a run of
items is decided at once: each figure is a column (quantities, trade values, fees, the client's
cash and position before and after, the counterparty's and the fee account's running balances
as running sums), computed by C-level `map` and `accumulate` over the columns with the very
operations the item-by-item decider makes, in the same order, so every figure has the same
digits; the floors are checked as comparisons of whole columns. Until the first item that would
be refused (or that names a client met earlier in the run), every item is accepted, and the run
is taken as it stands: its balances go into the state, its entries into `EntryColumns` (no
posting, entry or balance object per item). The item where the run stopped is decided by
`UniformItems`, which places the refusal exactly and gives its code, and a new run starts after
it. Many stops in one call end the runs: the rest is decided item by item.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from decimal import Decimal
from functools import cached_property
from itertools import accumulate, chain, compress, count, filterfalse, islice, repeat
from operator import add, and_, attrgetter, ge, is_not, itemgetter, lt, mul, neg, sub

from allotment.domain.accounts import AccountRole
from allotment.domain.ledger import (
    Balance,
    BalanceKey,
    BookingCode,
    LedgerState,
    above_cost,
    cost_after,
)
from allotment.domain.numbers import ZERO
from allotment.services.journal.decided import Decided as Decided
from allotment.services.journal.requests import BookingRequest
from allotment.services.journal.uniform import (
    UniformItems,
    UniformKeys,
    UniformShape,
    UniformTerms,
)

MAX_STOPS = 16
"""Runs stopped by a refusal or a repeated client in one call before the rest is decided item
by item: each stop decides the items after it again, column by column."""

_OK = BookingCode.OK
_NOTHING = Balance()
_NO_FLOOR = Decimal("-Infinity")
_FIRST, _SECOND = itemgetter(0), itemgetter(1)
_CLIENT_ID = attrgetter("client.id")
_QUANTITIES = attrgetter("quantity")
_FEES = (attrgetter("commission"), attrgetter("tax"), attrgetter("other_fees"))


def decide_columns(
    state: LedgerState,
    terms: UniformTerms,
    keys: UniformKeys,
    requests: Sequence[BookingRequest | BookingCode],
    indexes: range,
    values: dict[Decimal, Decimal],
) -> Decided:
    """Each item's code, in order, as the general path decides it, the accepted items'
    entries by columns, and their balances moved in `state` (see the module docstring)."""
    run = Runs(state, terms, keys, values)
    start, stop, stops = indexes.start, indexes.stop, 0
    step = Step(run.shape, requests, indexes)
    while start < stop:
        end = run.columns(step, start) if stops < MAX_STOPS else start
        if end < stop:
            run.one(requests, end)
            end += 1
            stops += 1
        start = end
    run.touch()
    return run.decided


class Step:
    """What the runs of one call share, computed once: each item's shape code (it depends on
    the item and the shared terms only, never on a balance), the items those codes accept
    (their positions, requests and clients), and for each of them the one before it naming
    the same client (-1 for none). A run from the k-th accepted item ends at the first one
    whose client was met at k or later: found by one scan of that run, not of the rest."""

    def __init__(
        self,
        shape: UniformShape,
        requests: Sequence[BookingRequest | BookingCode],
        indexes: range,
    ) -> None:
        self.base, self.stop = indexes.start, indexes.stop
        self.codes = shape.codes(requests[self.base : self.stop])
        self.ok = list(compress(count(self.base), map(_OK.__eq__, self.codes)))
        self.taking: list[BookingRequest] = list(map(requests.__getitem__, self.ok))  # type: ignore[arg-type]
        self.clients = list(map(_CLIENT_ID, self.taking))
        self.previous = _previous_same(self.clients)

    def run_end(self, first: int) -> int:
        """The position (among the accepted items) of the first one from `first` on whose
        client is met a second time from `first` on; their count when there is none."""
        return next(
            compress(count(first), map(ge, islice(self.previous, first, None), repeat(first))),
            len(self.previous),
        )


def _previous_same(clients: list[str]) -> list[int]:
    """For each position, the last one before it naming the same client, or -1."""
    last: dict[str, int] = {}
    previous = [-1] * len(clients)
    for position, client in enumerate(clients):
        previous[position] = last.get(client, -1)
        last[client] = position
    return previous


class Runs:
    def __init__(
        self,
        state: LedgerState,
        terms: UniformTerms,
        keys: UniformKeys,
        values: dict[Decimal, Decimal],
    ) -> None:
        self.state, self.terms, self.keys, self.values = state, terms, keys, values
        self.items = UniformItems(state, terms, keys)
        self.shape = UniformShape(terms)
        self.decided = Decided(terms)
        self.charged_any = False
        self.premium = self.decided.buying and terms.counterparty.role is AccountRole.AVERAGE

    def one(self, requests: Sequence[BookingRequest | BookingCode], index: int) -> None:
        """One item decided item by item."""
        request = requests[index]
        if not isinstance(request, BookingRequest):
            self.decided.codes.append(request)
            return
        code, entry = self.items.decide(request, self.values[request.quantity])
        self.decided.codes.append(code)
        if entry is not None:
            self.decided.add_entry(index, request.client.id, entry)

    def touch(self) -> None:
        """The accepted items' balances marked as changed (as `LedgerState.apply` does)."""
        decided, items = self.decided, self.items
        if not decided.indexes:
            return
        touched = self.state.touched
        touched.update(chain.from_iterable(map(self.keys.of_client.__getitem__, decided.clients)))
        touched.update((items.their_security, items.their_cash))
        if self.charged_any or items.charged_any:
            touched.add(items.fee_key)

    def columns(self, step: Step, start: int) -> int:
        """Decide the items from `start` on, column by column, up to the first one that must be
        decided on its own; returns its index (the step's stop when there is none)."""
        first = bisect_left(step.ok, start)
        end = step.run_end(first)
        stop = step.ok[end] if end < len(step.ok) else step.stop
        moves = Moves(self, step.taking[first:end], step.clients[first:end])
        accepted = moves.first_refused()
        if accepted < end - first:
            stop = step.ok[first + accepted]
        self.decided.codes.extend(step.codes[start - step.base : stop - step.base])
        moves.apply(accepted, step.ok[first : first + accepted])
        return stop


def _fee_sum(commission: Decimal, tax: Decimal, other: Decimal) -> Decimal | None:
    """`UniformItems._fees`: the fees charged, summed as its fee legs are, or None."""
    if not (commission or tax or other):
        return None
    fees = ZERO
    for amount in (commission, tax, other):
        if amount:
            fees += amount
    return fees


def _fee_sums(taking: list[BookingRequest]) -> list[Decimal | None]:
    """`_fee_sum` of each item, added in C (zero, then the commission, the tax and the other
    fees) where every zero fee is a plain 0, whose addition changes no digit; the fees of an
    item a run takes are never negative, so a sum of zero is an item charged nothing."""
    columns = [list(map(get, taking)) for get in _FEES]
    if not all(all(map(ZERO.same_quantum, filterfalse(None, column))) for column in columns):
        return list(map(_fee_sum, *columns))
    sums = map(add, map(add, map(add, repeat(ZERO), columns[0]), columns[1]), columns[2])
    return [fee if fee else None for fee in sums]


def _first_true(flags: Iterable[bool], otherwise: int) -> int:
    return next(compress(count(), flags), otherwise)


def _running(start: Decimal, moves: Iterable[Decimal]) -> list[Decimal]:
    """A balance before the first move, then after each (`balance + move`, in order)."""
    return list(accumulate(moves, add, initial=start))


def _sum(moves: list[Decimal], count: int, start: Decimal) -> Decimal:
    """A balance after the first `count` moves (what `_running` gives at `count`)."""
    return sum(islice(moves, count), start)


def _refused_running(running: list[Decimal], floor: Decimal | None) -> Iterable[bool]:
    """Each move's refusal by a floor: the balance shrinks below it."""
    if floor is None:
        return repeat(False, len(running) - 1)
    after = running[1:]
    return map(and_, map(lt, after, running), map(lt, after, repeat(floor)))


class Moves:
    """One run's columns, every item taken as accepted (see `first_refused`)."""

    def __init__(self, runs: Runs, taking: list[BookingRequest], clients: list[str]) -> None:
        self.runs, self.clients, self.count = runs, clients, len(taking)
        terms, items, balances = runs.terms, runs.items, runs.state.balances
        self.quantities = list(map(_QUANTITIES, taking))
        self.values = values = list(map(runs.values.__getitem__, self.quantities))
        if items.fee_id is None:
            fees: list[Decimal | None] = [None] * self.count
        else:
            fees = _fee_sums(taking)
        moved = [ZERO if fee is None else fee for fee in fees]
        none = [ZERO] * self.count
        client_fees, their_fees = (moved, none) if terms.fees_paid_by_client else (none, moved)
        minus_values, minus_quantities = list(map(neg, values)), list(map(neg, self.quantities))
        if runs.decided.buying:
            self.client_moves, self.their_moves = self.quantities, minus_quantities
            self.client_cash = list(map(sub, minus_values, client_fees))
            self.their_cash = list(map(sub, values, their_fees))
        else:
            self.client_moves, self.their_moves = minus_quantities, self.quantities
            self.client_cash = list(map(sub, values, client_fees))
            self.their_cash = list(map(sub, minus_values, their_fees))
        pairs = list(map(runs.keys.of_client.__getitem__, clients))
        self.security_keys, self.cash_keys = list(map(_FIRST, pairs)), list(map(_SECOND, pairs))
        self.positions = list(map(balances.get, self.security_keys, repeat(_NOTHING)))
        self.moneys = list(map(balances.get, self.cash_keys, repeat(_NOTHING)))
        self.positions_after = list(map(add, map(_FIRST, self.positions), self.client_moves))
        self.moneys_after = list(map(add, map(_FIRST, self.moneys), self.client_cash))
        self.their_position = balances.get(items.their_security) or _NOTHING
        self.their_money = balances.get(items.their_cash) or _NOTHING
        self.fee_money = balances.get(items.fee_key) or _NOTHING
        self.fee_rows = list(compress(count(), map(is_not, fees, repeat(None))))
        self.fees = [fee for fee in fees if fee is not None]
        self._their_costs: list[Decimal] | None = None

    @cached_property
    def their_quantities(self) -> list[Decimal]:
        """The counterparty's position before the first move, then after each."""
        return _running(self.their_position.quantity, self.their_moves)

    @cached_property
    def their_moneys(self) -> list[Decimal]:
        return _running(self.their_money.quantity, self.their_cash)

    @cached_property
    def fee_moneys(self) -> list[Decimal]:
        return _running(self.fee_money.quantity, self.fees)

    def first_refused(self) -> int:
        """The position of the first item a floor or the premium rule refuses (`count` when
        none is): up to it, every item is accepted with the balances computed here."""
        runs, n = self.runs, self.count
        floors = runs.items.floors
        firsts = [
            _first_true(self._client_refusals(self.cash_keys, self.moneys, self.moneys_after), n)
        ]
        if not runs.decided.buying:
            refusals = self._client_refusals(
                self.security_keys, self.positions, self.positions_after
            )
            firsts.append(_first_true(refusals, n))
        firsts.append(
            _first_true(
                _refused_running(self.their_quantities, floors[runs.items.their_security]), n
            )
        )
        firsts.append(
            _first_true(_refused_running(self.their_moneys, floors[runs.items.their_cash]), n)
        )
        if self.fees:
            fee_floor = floors[runs.items.fee_key]
            charged = _first_true(_refused_running(self.fee_moneys, fee_floor), len(self.fees))
            firsts.append(self.fee_rows[charged] if charged < len(self.fees) else n)
        if runs.premium:
            costs = self.their_costs()
            above = map(above_cost, self.their_quantities[:n], costs[:n], repeat(runs.terms.price))
            firsts.append(_first_true(above, n))
        return min(firsts)

    def _client_refusals(
        self, keys: list[BalanceKey], before: list[Balance], after: list[Decimal]
    ) -> Iterable[bool]:
        state, short = self.runs.state, self.runs.terms.short_allowed
        floors = [
            _NO_FLOOR if floor is None else floor for floor in map(state.floor, keys, repeat(short))
        ]
        return map(and_, map(lt, after, map(_FIRST, before)), map(lt, after, floors))

    def their_costs(self) -> list[Decimal]:
        """The counterparty position's cost before the first move, then after each."""
        if self._their_costs is None:
            price, position = self.runs.terms.price, self.their_position
            if not self.runs.decided.buying and position.quantity >= 0:
                # Units coming into a position not short: the cost grows by each at the price.
                grows = map(mul, self.their_moves, repeat(price))
                self._their_costs = list(accumulate(grows, add, initial=position.cost_amount))
            else:
                costs, cost = [position.cost_amount], position.cost_amount
                for old, amount in zip(self.their_quantities, self.their_moves, strict=False):
                    cost = cost_after(old, cost, amount, price)
                    costs.append(cost)
                self._their_costs = costs
        return self._their_costs

    def apply(self, accepted: int, indexes: list[int]) -> None:
        """The first `accepted` items booked: their balances into the state, their entries
        into the decided columns."""
        if not accepted:
            return
        runs, r = self.runs, accepted
        items, balances, price = runs.items, runs.state.balances, runs.terms.price
        positions = self.positions[:r]
        held, costs = map(_FIRST, positions), map(_SECOND, positions)
        if runs.decided.buying and min(map(_FIRST, positions)) >= 0:
            # Units coming into positions not short: each cost grows by the units at the price.
            moved = list(map(add, costs, map(mul, self.client_moves[:r], repeat(price))))
        else:
            moved = list(map(cost_after, held, costs, self.client_moves[:r], repeat(price)))
        balances.update(
            zip(self.security_keys[:r], map(Balance, self.positions_after[:r], moved), strict=True)
        )
        balances.update(
            zip(
                self.cash_keys[:r],
                map(Balance, self.moneys_after[:r], map(_SECOND, self.moneys[:r])),
                strict=True,
            )
        )
        their = _sum(self.their_moves, r, self.their_position.quantity)
        balances[items.their_security] = Balance(their, self.their_costs()[r])
        their = _sum(self.their_cash, r, self.their_money.quantity)
        balances[items.their_cash] = Balance(their, self.their_money.cost_amount)
        charged = bisect_left(self.fee_rows, r)
        if charged:
            fee = _sum(self.fees, charged, self.fee_money.quantity)
            balances[items.fee_key] = Balance(fee, self.fee_money.cost_amount)
            runs.charged_any = True
        decided = runs.decided
        first = len(decided.indexes)
        decided.fee_rows.extend(map(add, self.fee_rows[:charged], repeat(first)))
        decided.fees.extend(self.fees[:charged])
        decided.indexes.extend(indexes)
        decided.clients.extend(self.clients[:r])
        decided.quantities.extend(self.quantities[:r])
        decided.client_cash.extend(self.client_cash[:r])
        decided.their_cash.extend(self.their_cash[:r])
