"""The fairness ledger (SPEC §12): each allocation's exact target and given quantity, and the
cumulative deviation per account, instrument and allocation key over any period.

An allocation decided by the engine carries a ``FairnessNote`` (its exact target, the key it
was split by, the remainder policy); the booking writes one fairness row per booked allocation
that carries one, in bulk, in the same unit of work (``record_booked``). A transfer whose
quantity is what was asked (ETNA) has a target equal to what is given: its deviation is zero,
so it writes no row and adds nothing to any sum; the repository reads such an allocation (any
allocation without a row) as an ``Instructed`` row, target equal to what was given, so every
allocation of every dialect is in the report (decision 0046). A book-building distribution
writes its engine targets with no instrument, keyed by its tranche (``tranche_key``).

The repository is reached as ``uow.fairness``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import NamedTuple, Protocol

from allotment.domain.allocation.exact import fraction_text, round_fraction
from allotment.domain.errors import Forbidden, InvalidInstruction, NotFound
from allotment.domain.identity import Scope
from allotment.domain.instruments import Instrument
from allotment.domain.ledger import BookingCode
from allotment.services.context import Context, visible_account
from allotment.services.journal.requests import BookingRequest, FairnessNote
from allotment.services.ports import UnitOfWork

__all__ = ["FairnessNote", "record_booked", "record_nothing_given", "report"]

NO_KEY = ""
"""The key column of an allocation split without a stored allocation key."""
INSTRUCTED = "Instructed"
"""The policy column of an allocation whose quantity was instructed, not split (a block-trade
child allocation): its target is that quantity, its deviation zero."""
MONEY_PLACES = 2


@dataclass(frozen=True, slots=True)
class FairnessRow:
    company_id: int
    allocation_id: int | None  # None: nothing was given (nothing booked), the target stands
    account_id: str
    instrument_id: int | None  # None: a book-building tranche (the key names it)
    key: str
    policy: str
    block_id: int | None
    target_quantity: Fraction
    given_quantity: Decimal
    increment: Decimal
    price: Decimal
    trade_date: date
    booked_at: datetime

    @property
    def deviation_increments(self) -> Fraction:
        return (Fraction(self.given_quantity) - self.target_quantity) / Fraction(self.increment)

    @property
    def deviation_money(self) -> Fraction:
        """The deviation valued at the price the allocation was booked at (the block's)."""
        return (Fraction(self.given_quantity) - self.target_quantity) * Fraction(self.price)


class DeviationRow(NamedTuple):
    """What the report reads of a fairness row: the columns the covering index holds, the
    exact target as its numerator and denominator (``parse_target``)."""

    account_id: str
    instrument_id: int | None
    key: str
    target_numerator: int
    target_denominator: int
    given_quantity: Decimal
    increment: Decimal
    price: Decimal
    trade_date: date

    @property
    def target_quantity(self) -> Fraction:
        return Fraction(self.target_numerator, self.target_denominator)

    @property
    def deviation_increments(self) -> Fraction:
        return (Fraction(self.given_quantity) - self.target_quantity) / Fraction(self.increment)


def parse_target(text: str) -> tuple[int, int]:
    """``"301/3"`` -> (301, 3), ``"7"`` -> (7, 1), without building a Fraction."""
    numerator, _, denominator = text.partition("/")
    return int(numerator), int(denominator) if denominator else 1


class FairnessRepository(Protocol):
    def add_many(self, rows: Sequence[FairnessRow]) -> None: ...
    def remove_key(self, company_id: int, key: str) -> None: ...
    def deviations(
        self,
        company_id: int,
        account_ids: frozenset[str] | None,
        instrument_id: int | None,
        key: str | None,
        period: tuple[date | None, date | None],
        *,
        instructed: bool = True,
    ) -> list[DeviationRow]: ...
    def by_allocation(
        self, company_id: int, account_id: str, trade_date: date, allocation_id: int
    ) -> FairnessRow | None: ...
    def rows(
        self,
        company_id: int,
        account_ids: frozenset[str] | None,
        instrument_id: int | None,
        key: str | None,
        period: tuple[date | None, date | None],
    ) -> list[FairnessRow]: ...


def _repository(uow: UnitOfWork) -> FairnessRepository:
    return uow.fairness


def record_booked(
    uow: UnitOfWork,
    ctx: Context,
    requests: Sequence[BookingRequest | BookingCode],
    booked: Iterable[tuple[int, int]],
) -> None:
    """Write, in one statement, the fairness rows of the booked items (item index, allocation
    id) that carry the engine's note."""
    rows = []
    for index, allocation_id in booked:
        request = requests[index]
        if isinstance(request, BookingRequest) and request.fairness is not None:
            rows.append(_fairness_row(ctx, request, request.fairness, allocation_id))
    _add(uow, rows)


def record_nothing_given(
    uow: UnitOfWork,
    ctx: Context,
    allocation: tuple[Instrument, Decimal, int | None],
    notes: Sequence[tuple[str, FairnessNote]],
) -> None:
    """Write the fairness rows of participants (account id, note) whose target was not zero
    but who were given nothing in this allocation (instrument, price, block id)."""
    instrument, price, block_id = allocation
    rows = [
        FairnessRow(
            ctx.company_id,
            None,
            account_id,
            instrument.id,
            note.key,
            note.policy,
            block_id,
            note.target_quantity,
            Decimal(0),
            instrument.quantity_increment,
            price,
            ctx.today,
            ctx.now,
        )
        for account_id, note in notes
    ]
    _add(uow, rows)


def _add(uow: UnitOfWork, rows: Sequence[FairnessRow]) -> None:
    """A unit of work without the fairness capability (a test fake) keeps no fairness ledger."""
    if not rows:
        return
    try:
        repository = _repository(uow)
    except KeyError:
        return
    repository.add_many(rows)


def _fairness_row(
    ctx: Context, request: BookingRequest, note: FairnessNote, allocation_id: int | None
) -> FairnessRow:
    instrument = request.instrument
    return FairnessRow(
        ctx.company_id,
        allocation_id,
        request.client.id,
        instrument.id,
        note.key,
        note.policy,
        request.block_id,
        note.target_quantity,
        request.quantity,
        instrument.quantity_increment,
        request.price,
        ctx.today,
        ctx.now,
    )


@dataclass(frozen=True, slots=True)
class FairnessLine:
    """Per account, instrument and key over the period: how many allocations, what was given
    against the exact targets, and the cumulative deviation in increments and in money."""

    account_id: str
    instrument_id: int | None
    key: str
    allocation_count: int
    given_quantity: Decimal
    target_quantity: Fraction
    deviation_increments: Fraction
    deviation_money: Fraction

    def deviation_money_rounded(self) -> Decimal:
        """The money deviation to the cent, half-even (the exact value is ``deviation_money``)."""
        return round_fraction(self.deviation_money, MONEY_PLACES, ROUND_HALF_EVEN)

    def as_dict(self) -> dict[str, str | int | None]:
        return {
            "account_id": self.account_id,
            "instrument_id": self.instrument_id,
            "key": self.key,
            "allocation_count": self.allocation_count,
            "given_quantity": str(self.given_quantity),
            "target_quantity": fraction_text(self.target_quantity),
            "deviation_increments": fraction_text(self.deviation_increments),
            "deviation_increments_decimal": str(
                round_fraction(self.deviation_increments, 6, ROUND_HALF_EVEN)
            ),
            "deviation_money": str(self.deviation_money_rounded()),
        }


@dataclass(frozen=True, slots=True)
class FairnessQuery:
    account_id: str | None = None
    symbol: str | None = None
    key: str | None = None
    start: date | None = None
    end: date | None = None


def report(uow: UnitOfWork, ctx: Context, query: FairnessQuery) -> list[FairnessLine]:
    """The cumulative deviation per (account, instrument, key) over the period, both ends
    included. Without an account, the caller must see every client of its company."""
    ctx.require(Scope.READ)
    if query.start is not None and query.end is not None and query.start > query.end:
        raise InvalidInstruction("from must not be after to", start=query.start, end=query.end)
    if query.account_id is not None:
        account_ids: frozenset[str] | None = frozenset(
            {visible_account(uow, ctx, query.account_id).id}
        )
    elif ctx.principal.client_ids is not None:
        raise Forbidden("a fairness report of every account needs access to all clients")
    else:
        account_ids = None
    instrument_id = None
    if query.symbol is not None:
        instrument = uow.instruments.by_symbol(query.symbol)
        if instrument is None:
            raise NotFound(f"instrument {query.symbol} does not exist", symbol=query.symbol)
        instrument_id = instrument.id
    rows = _repository(uow).deviations(
        ctx.company_id, account_ids, instrument_id, query.key, (query.start, query.end)
    )
    return summarise(rows)


class _Exact:
    """A sum of fractions kept as one integer numerator per denominator: each addition is an
    integer addition (the denominators of a report are few: the increments, the prices'
    powers of ten, the key's weights), and the fraction is reduced once, at the end."""

    __slots__ = ("parts",)

    def __init__(self) -> None:
        self.parts: dict[int, int] = {}

    def add(self, numerator: int, denominator: int) -> None:
        self.parts[denominator] = self.parts.get(denominator, 0) + numerator

    def value(self) -> Fraction:
        return sum((Fraction(n, d) for d, n in self.parts.items()), Fraction(0))


class _Sum:
    __slots__ = ("count", "given", "increments", "money", "target")

    def __init__(self) -> None:
        self.count = 0
        self.given = Decimal(0)
        self.target = _Exact()
        self.increments = _Exact()
        self.money = _Exact()

    def add(self, row: FairnessRow | DeviationRow) -> None:
        if isinstance(row, DeviationRow):
            tn, td = row.target_numerator, row.target_denominator
        else:
            tn, td = row.target_quantity.numerator, row.target_quantity.denominator
        gn, gd = row.given_quantity.as_integer_ratio()
        inc_n, inc_d = row.increment.as_integer_ratio()
        pn, pd = row.price.as_integer_ratio()
        self.count += 1
        self.given += row.given_quantity
        self.target.add(tn, td)
        # (given - target) / increment and (given - target) * price, term by term.
        self.increments.add(gn * inc_d, gd * inc_n)
        self.increments.add(-tn * inc_d, td * inc_n)
        self.money.add(gn * pn, gd * pd)
        self.money.add(-tn * pn, td * pd)


def summarise(rows: Iterable[FairnessRow | DeviationRow]) -> list[FairnessLine]:
    """Sum the rows exactly per (account, instrument, key), sorted by those."""
    sums: dict[tuple[str, int | None, str], _Sum] = {}
    for row in rows:
        group = (row.account_id, row.instrument_id, row.key)
        held = sums.get(group)
        if held is None:
            held = sums[group] = _Sum()
        held.add(row)
    return [
        FairnessLine(
            account_id,
            instrument_id,
            key,
            held.count,
            held.given,
            held.target.value(),
            held.increments.value(),
            held.money.value(),
        )
        for (account_id, instrument_id, key), held in sorted(
            sums.items(), key=lambda item: (item[0][0], item[0][1] or 0, item[0][2])
        )
    ]


CSV_COLUMNS = (
    "account_id",
    "instrument_id",
    "key",
    "allocation_count",
    "given_quantity",
    "target_quantity",
    "deviation_increments",
    "deviation_increments_decimal",
    "deviation_money",
)


def as_csv(lines: Sequence[FairnessLine]) -> str:
    """The report as CSV text, a header then one record per line."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for line in lines:
        writer.writerow(line.as_dict())
    return out.getvalue()
