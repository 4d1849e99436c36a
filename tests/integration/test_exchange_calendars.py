"""Settlement dates in each market's sessions (decision 0024): the exchange calendars adapter
skips weekends and each exchange's own holidays; without a known market, weekdays count."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from allotment.adapters.calendar import ExchangeCalendars
from allotment.domain.errors import InvalidInstruction
from allotment.domain.instruments import Instrument, settlement_cycle
from allotment.services.calendar import WEEKDAYS, business_date, checked_time_zone, next_weekday

CALENDARS = ExchangeCalendars()


@pytest.mark.parametrize(
    ("market", "trade_date", "cycle", "settles"),
    [
        ("XNYS", date(2026, 11, 25), 1, date(2026, 11, 27)),  # Thanksgiving on the 26th
        ("XNAS", date(2026, 11, 28), 1, date(2026, 12, 1)),  # a Saturday counts from Monday
        ("XASX", date(2026, 12, 24), 2, date(2026, 12, 30)),  # Christmas, Boxing Day on Monday
        ("XASX", date(2026, 1, 23), 2, date(2026, 1, 28)),  # Australia Day, Monday 26 January
        ("XNAS", date(2026, 1, 23), 1, date(2026, 1, 26)),  # ... is a Nasdaq session
        ("XNAS", date(2026, 7, 2), 1, date(2026, 7, 6)),  # Independence Day observed on the 3rd
    ],
)
def test_settlement_skips_weekends_and_the_markets_own_holidays(
    market: str, trade_date: date, cycle: int, settles: date
) -> None:
    assert CALENDARS.settlement_date(market, trade_date, cycle) == settles


def test_an_unknown_market_or_a_date_beyond_the_calendar_counts_weekdays() -> None:
    assert CALENDARS.settlement_date("ZZZZ", date(2026, 12, 24), 1) == date(2026, 12, 25)
    assert CALENDARS.settlement_date(None, date(2026, 12, 26), 0) == date(2026, 12, 28)
    far = date(2099, 12, 31)  # a Thursday, past every calendar's last session
    assert CALENDARS.settlement_date("XNYS", far, 2) == WEEKDAYS.settlement_date(None, far, 2)
    assert WEEKDAYS.settlement_date(None, far, 2) == date(2100, 1, 4)


def instrument(
    market: str | None, asset_type: str = "Stock", days: int | None = None
) -> Instrument:
    one = Decimal(1)
    return Instrument(1, "X", 1, asset_type, "USD", one, one, None, None, market, days)


def test_the_cycle_is_t_plus_1_in_the_us_t_plus_2_elsewhere_unless_the_instrument_says() -> None:
    assert settlement_cycle(instrument("XNYS")) == 1
    assert settlement_cycle(instrument("XNAS")) == 1
    assert settlement_cycle(instrument("XASX")) == 2
    assert settlement_cycle(instrument(None)) == 2
    assert settlement_cycle(instrument("XNAS", "FxSpot")) == 2
    assert settlement_cycle(instrument("XASX", days=3)) == 3


def test_the_business_date_is_the_date_in_the_companys_time_zone() -> None:
    moment = datetime(2026, 1, 22, 23, 30, tzinfo=UTC)

    assert business_date("Australia/Sydney", moment) == date(2026, 1, 23)
    assert business_date("America/New_York", moment) == date(2026, 1, 22)
    assert business_date("UTC", moment) == date(2026, 1, 22)
    assert next_weekday(date(2026, 1, 23)) == date(2026, 1, 26)
    with pytest.raises(InvalidInstruction):
        checked_time_zone("Europe/Nowhere")
