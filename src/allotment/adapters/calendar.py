"""Exchange calendars from the maintained `exchange_calendars` library: each market's sessions
(weekends and holidays) by its ISO 10383 MIC. The library (and pandas under it) is imported when
a calendar is first needed, and each market's calendar is built once per process."""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

from allotment.services.calendar import WEEKDAYS


class ExchangeCalendars:
    """`capabilities.ExchangeCalendar` over exchange_calendars. A market the library does not know,
    or a date outside the span its calendars cover (about twenty years back to one ahead),
    counts weekdays instead."""

    def __init__(self) -> None:
        self._calendars: dict[str, Any] = {}
        self._lock = threading.Lock()

    def settlement_date(self, market: str | None, trade_date: date, cycle_days: int) -> date:
        calendar = self._calendar(market) if market else None
        if calendar is None or not _covers(calendar, trade_date):
            return WEEKDAYS.settlement_date(market, trade_date, cycle_days)
        import pandas as pd

        session = calendar.date_to_session(pd.Timestamp(trade_date), direction="next")
        try:
            settles = calendar.session_offset(session, cycle_days)
        except ValueError:  # past the calendar's last session
            return WEEKDAYS.settlement_date(market, trade_date, cycle_days)
        result: date = settles.date()
        return result

    def is_session(self, market: str, day: date) -> bool:
        calendar = self._calendar(market)
        if calendar is None or not _covers(calendar, day):
            return day.weekday() < 5
        return bool(calendar.is_session(day.isoformat()))

    def _calendar(self, market: str) -> Any | None:
        with self._lock:
            if market not in self._calendars:
                self._calendars[market] = _load(market)
            return self._calendars[market]


def _load(market: str) -> Any | None:
    import exchange_calendars

    try:
        return exchange_calendars.get_calendar(market)
    except exchange_calendars.errors.InvalidCalendarName:
        return None


def _covers(calendar: Any, day: date) -> bool:
    return bool(calendar.first_session.date() <= day <= calendar.last_session.date())


CALENDARS = ExchangeCalendars()
"""One per process: building a market's calendar is slow, and its sessions never change."""
