"""Business dates: the company's trade date in its time zone, and settlement dates in the
market's sessions (SPEC §5, decision 0024).

The exchange calendars are an adapter (`capabilities.ExchangeCalendar`), reached as
`uow.exchange_calendar`; an instrument without a known market counts weekdays.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, available_timezones

from allotment.domain.errors import InvalidInstruction
from allotment.domain.identity import Scope
from allotment.domain.instruments import Instrument, settlement_cycle
from allotment.services.context import Context, record
from allotment.services.ports import UnitOfWork

if TYPE_CHECKING:
    from allotment.services.capabilities import ExchangeCalendar

DEFAULT_TIME_ZONE = "UTC"
SATURDAY = 5


def next_weekday(day: date) -> date:
    """The first weekday after `day`."""
    day += timedelta(days=1)
    while day.weekday() >= SATURDAY:
        day += timedelta(days=1)
    return day


class WeekdayCalendar:
    """Every weekday is a session: the calendar of an instrument without a known market."""

    def settlement_date(self, market: str | None, trade_date: date, cycle_days: int) -> date:
        day = trade_date
        while day.weekday() >= SATURDAY:
            day += timedelta(days=1)
        for _ in range(cycle_days):
            day = next_weekday(day)
        return day


WEEKDAYS = WeekdayCalendar()


def exchange_calendar(uow: UnitOfWork) -> ExchangeCalendar:
    return uow.exchange_calendar


def business_date(time_zone: str, now: datetime) -> date:
    """The date in the company's time zone at `now`."""
    return now.astimezone(ZoneInfo(time_zone)).date()


def company_time_zone(uow: UnitOfWork, company_id: int) -> str:
    company = uow.identity.company(company_id)
    return company.time_zone if company is not None else DEFAULT_TIME_ZONE


def company_business_date(uow: UnitOfWork, ctx: Context) -> date:
    return business_date(company_time_zone(uow, ctx.company_id), ctx.now)


class SettlementDates:
    """Settlement dates of one trade date, computed once per instrument (a block's fill books
    100,000 allocations of one instrument)."""

    def __init__(self, uow: UnitOfWork, trade_date: date) -> None:
        self._calendar = exchange_calendar(uow)
        self._trade_date = trade_date
        self._known: dict[int, date] = {}

    def of(self, instrument: Instrument) -> date:
        found = self._known.get(instrument.id)
        if found is None:
            found = self._known[instrument.id] = self._calendar.settlement_date(
                instrument.market, self._trade_date, settlement_cycle(instrument)
            )
        return found


def checked_time_zone(name: str) -> str:
    """The name if it is an IANA time zone this machine knows, else InvalidInstruction."""
    if name not in available_timezones():
        raise InvalidInstruction(
            f"unknown time zone {name!r}: give an IANA name such as Australia/Sydney",
            time_zone=name,
        )
    return name


def set_time_zone(uow: UnitOfWork, ctx: Context, name: str) -> str:
    """Make `name` the company's time zone: its business date from now on."""
    ctx.require(Scope.ADMIN)
    checked = checked_time_zone(name)
    before = company_time_zone(uow, ctx.company_id)
    uow.dates.set_time_zone(ctx.company_id, checked)
    record(
        uow,
        ctx,
        "company.time_zone.changed",
        "company",
        ctx.company_id,
        before={"time_zone": before},
        after={"time_zone": checked},
    )
    return checked
