"""The floors of a run of a uniform batch checked on NumPy int64 columns (journal/columnar says
what a run is and what its columns are).

Each figure the floors read becomes an integer count of units at its group's scale: quantities
(the items', the clients' positions, the counterparty's) at the finest digit any of them
carries, cash (trade values, fees, the clients', the counterparty's and the fee account's cash,
the floors) at the finest digit any of those carries. The moves are then added in int64, the
counterparty's and the fee account's running balances are cumulative sums, and each floor is
one vector comparison whose first failing item is an argmax. An integer is exact at its scale,
so each comparison answers as the Decimal one does.

What is written and kept (entries, balances) is not taken from these integers: a Decimal made
from an int costs three to four times the Decimal addition that gives the same figure with its
own digits (`7`, `7.0` and `7.00` are different texts), so those stay Decimal columns.

A run the integers cannot check exactly is refused up front (`Inexact`), and its floors are
checked on the Decimal columns instead: a figure that is not finite, a scale finer than 18
digits, a figure past int64, or a column whose running sum could come near 2**62 (`_BOUND`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import ROUND_CEILING, Decimal
from itertools import chain, compress, count, repeat
from operator import attrgetter, itemgetter
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from allotment.domain.ledger import BalanceKey, LedgerState, above_cost
from allotment.domain.numbers import scale_of

if TYPE_CHECKING:
    from allotment.services.journal.columnar import Moves
    from allotment.services.journal.requests import BookingRequest

Ints = NDArray[np.int64]
Flags = NDArray[np.bool_]

MAX_DIGITS = 18
"""The finest digit a column may carry: 10**18 units to 1 still fit in an int64."""
_BOUND = 2**60
"""No figure, and no column's sum of magnitudes, may reach this: a client's balance plus its
move, and a running balance plus every move of the run, stay inside int64 (2**63)."""
_LOWEST, _HIGHEST = -(2**62), 2**62
"""Floors beyond any figure of a run, clamped (every comparison with them stays the same)."""

_FIRST = itemgetter(0)
_FEES = (attrgetter("commission"), attrgetter("tax"), attrgetter("other_fees"))


class Inexact(Exception):
    """A run int64 columns cannot check exactly (see the module docstring)."""


class Scale:
    """One group of columns' scale (10**digits units to 1) and each figure's units."""

    def __init__(self, columns: Iterable[Sequence[Decimal]]) -> None:
        # Equal figures of other exponents have the same units: one of them stands for all.
        self._units: dict[Decimal, int] = dict.fromkeys(chain.from_iterable(columns), 0)
        if not all(map(Decimal.is_finite, self._units)):
            raise Inexact("a figure that is not finite")
        self.digits = max(map(scale_of, self._units), default=0)
        if self.digits > MAX_DIGITS:
            raise Inexact(f"{self.digits} digits")
        for number in self._units:
            self._units[number] = int(number.scaleb(self.digits))

    def units(self, column: Sequence[Decimal]) -> Ints:
        """The column in units (exact: none of its figures is finer than the scale)."""
        try:
            array = np.array(list(map(self._units.__getitem__, column)), dtype=np.int64)
        except OverflowError as error:
            raise Inexact("past int64") from error
        if len(array) and float(np.abs(array.astype(np.float64)).sum()) >= _BOUND:
            raise Inexact("a sum near int64's limit")
        return array

    def floor(self, floor: Decimal | None) -> int:
        """A floor in units: an integer is below `floor` exactly when it is below this."""
        if floor is None:
            return _LOWEST
        units = int(floor.scaleb(self.digits).to_integral_value(rounding=ROUND_CEILING))
        return min(max(units, _LOWEST), _HIGHEST)


class _Floors(dict[Decimal | None, int]):
    """Floors in units (`Scale.floor`), each distinct one converted once."""

    def __init__(self, scale: Scale) -> None:
        super().__init__()
        self.scale = scale

    def __missing__(self, floor: Decimal | None) -> int:
        units = self[floor] = self.scale.floor(floor)
        return units


def first_true(flags: Flags, otherwise: int) -> int:
    """The position of the first true flag, or `otherwise`."""
    if not len(flags):
        return otherwise
    first = int(flags.argmax())
    return first if flags[first] else otherwise


def refused_running(start: int, moves: Ints, floor: int) -> Flags:
    """Each move's refusal by a floor: the running balance shrinks below it."""
    after = np.cumsum(moves) + start
    before = np.empty_like(after)
    before[:1] = start
    before[1:] = after[:-1]
    result: Flags = (after < before) & (after < floor)
    return result


def client_refusals(
    state: LedgerState, short: bool, keys: list[BalanceKey], before: Ints, after: Ints, scale: Scale
) -> Flags:
    """Each client's refusal by its floor: its balance shrinks below it."""
    floors = _Floors(scale)
    units = list(map(floors.__getitem__, map(state.floor, keys, repeat(short))))
    result: Flags = (after < before) & (after < np.array(units, dtype=np.int64))
    return result


def first_refused(moves: Moves, taking: Sequence[BookingRequest]) -> int:
    """As `Moves.first_refused` answers on Decimal columns; `Inexact` when the run cannot be
    checked on integers."""
    runs, n = moves.runs, moves.count
    items, terms, state = runs.items, runs.terms, runs.state
    buying, short, floors = runs.decided.buying, terms.short_allowed, items.floors
    held = list(map(_FIRST, moves.positions))
    qs = Scale((moves.quantities, held, [moves.their_position.quantity]))
    quantities = qs.units(moves.quantities)
    cash = _Cash(moves, taking)
    refused = client_refusals(
        state, short, moves.cash_keys, cash.money, cash.money + cash.client, cash.scale
    )
    firsts = [first_true(refused, n)]
    if not buying:
        held_units = qs.units(held)
        after = held_units - quantities
        refused = client_refusals(state, short, moves.security_keys, held_units, after, qs)
        firsts.append(first_true(refused, n))
    [their_quantity] = qs.units([moves.their_position.quantity]).tolist()
    their_moves = -quantities if buying else quantities
    refused = refused_running(their_quantity, their_moves, qs.floor(floors[items.their_security]))
    firsts.append(first_true(refused, n))
    cash_floor = cash.scale.floor(floors[items.their_cash])
    firsts.append(first_true(refused_running(cash.their_money, cash.their, cash_floor), n))
    fee_rows = np.flatnonzero(cash.fees)
    if len(fee_rows):
        fee_floor = cash.scale.floor(floors[items.fee_key])
        charged = first_true(refused_running(cash.fee_money, cash.fees[fee_rows], fee_floor), n)
        firsts.append(int(fee_rows[charged]) if charged < len(fee_rows) else n)
    if runs.premium:
        costs, price = moves.their_costs(), terms.price
        above = map(above_cost, moves.their_quantities[:n], costs[:n], repeat(price))
        firsts.append(next(compress(count(), above), n))
    return min(firsts)


class _Cash:
    """A run's cash in units: each item's fees (summed), the client's and the counterparty's
    cash moves, the clients' cash before, the counterparty's and the fee account's."""

    def __init__(self, moves: Moves, taking: Sequence[BookingRequest]) -> None:
        runs, n = moves.runs, moves.count
        money = list(map(_FIRST, moves.moneys))
        theirs = [moves.their_money.quantity, moves.fee_money.quantity]
        fees = [list(map(get, taking)) for get in _FEES] if runs.items.fee_id is not None else []
        self.scale = scale = Scale((moves.values, money, theirs, *fees))
        values = scale.units(moves.values)
        self.fees = np.zeros(n, dtype=np.int64)
        for column in fees:
            self.fees += scale.units(column)
        paid_by_client = runs.terms.fees_paid_by_client
        client_fees = self.fees if paid_by_client else 0
        their_fees = 0 if paid_by_client else self.fees
        sign = -1 if runs.decided.buying else 1
        self.client: Ints = sign * values - client_fees
        self.their: Ints = -sign * values - their_fees
        self.money = scale.units(money)
        self.their_money, self.fee_money = (int(one) for one in scale.units(theirs))
