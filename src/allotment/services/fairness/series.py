"""The cumulative deviation of each account over time (SPEC §12): per account and trade date, the
fairness ledger's deviation (given minus exact target, in increments) summed from the first day
asked, exactly. What the desk's drift page draws."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from fractions import Fraction

from allotment.domain.errors import Forbidden, InvalidInstruction
from allotment.domain.identity import Scope
from allotment.services.context import Context, visible_account
from allotment.services.fairness import DeviationRow, _repository
from allotment.services.ports import UnitOfWork

MOST_SERIES = 8
"""Without an account, the accounts furthest from their targets at the end are drawn."""


@dataclass(frozen=True, slots=True)
class Series:
    account_id: str
    points: tuple[tuple[date, Fraction], ...]
    """(trade date, cumulative deviation in increments at the end of that day), in date order."""

    @property
    def last(self) -> Fraction:
        return self.points[-1][1] if self.points else Fraction(0)


def deviation_series(
    uow: UnitOfWork,
    ctx: Context,
    account_id: str | None,
    period: tuple[date | None, date | None],
) -> list[Series]:
    """One series per account (one account, or the ``MOST_SERIES`` furthest from zero at the
    end, which needs access to every client)."""
    ctx.require(Scope.READ)
    start, end = period
    if start is not None and end is not None and start > end:
        raise InvalidInstruction("from must not be after to", start=start, end=end)
    if account_id is not None:
        accounts: frozenset[str] | None = frozenset({visible_account(uow, ctx, account_id).id})
    elif ctx.principal.client_ids is not None:
        raise Forbidden("the deviation of every account needs access to all clients")
    else:
        accounts = None
    # An instructed allocation's deviation is zero: it would only draw flat lines.
    rows = _repository(uow).deviations(
        ctx.company_id, accounts, None, None, period, instructed=False
    )
    found = series_of(rows)
    found.sort(key=lambda one: (-abs(one.last), one.account_id))
    return sorted(found[:MOST_SERIES], key=lambda one: one.account_id)


def series_of(rows: Sequence[DeviationRow]) -> list[Series]:
    """Per account: the day's deviations summed, then accumulated in date order."""
    days: dict[str, dict[date, Fraction]] = {}
    for row in rows:
        per_day = days.setdefault(row.account_id, {})
        per_day[row.trade_date] = per_day.get(row.trade_date, Fraction(0)) + (
            row.deviation_increments
        )
    made = []
    for account_id, per_day in days.items():
        running = Fraction(0)
        points = []
        for day in sorted(per_day):
            running += per_day[day]
            points.append((day, running))
        made.append(Series(account_id, tuple(points)))
    return made
