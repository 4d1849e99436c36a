"""Trade and settlement dates (SPEC §5, decisions 0024 and 0025): a booking's trade date is its
company's business date in its time zone, its settlement date the market's cycle in that
market's sessions; after a close the desk goes on, on the next open trade date.

The clock is injected: the app under test runs on a container whose clock stands still at a
chosen moment. Tokens are issued by an app on the real clock (a token issued in the past would
have expired), and are good for both: they share the database and the signing secret."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from allotment.adapters.clock import FixedClock
from allotment.bootstrap import Container
from allotment.entrypoints.http.app import create_app
from tests.e2e.test_blocktrade_seed import PATH as BLOCKTRADE
from tests.e2e.test_blocktrade_seed import SEED_JSON, as_json, basic
from tests.e2e.test_etna_codes import PATH, body, request
from tests.e2e.test_etna_seed import etna_headers

SESSIONS = "/api/v1/clearing/sessions"
SYDNEY_FRIDAY_MORNING = datetime(2026, 1, 22, 23, 30, tzinfo=UTC)
"""Friday 23 January 2026, 10:30 in Sydney; still Thursday the 22nd in UTC. The next Monday,
26 January, is Australia Day: the ASX is closed, Nasdaq is open."""
NEW_YORK_THURSDAY_NIGHT = datetime(2026, 7, 3, 2, 0, tzinfo=UTC)
"""Thursday 2 July 2026, 22:00 in New York; already Friday the 3rd in UTC. Friday 3 July is
Independence Day observed: Nasdaq is closed, the ASX is open."""

Desk = Callable[[datetime], TestClient]


@pytest.fixture
def desk(demo_container: Container) -> Iterator[Desk]:
    """Apps on the demo database whose clock stands at a given moment."""
    opened: list[TestClient] = []

    def at(moment: datetime) -> TestClient:
        still = replace(demo_container, clock=FixedClock(moment))
        test_client = TestClient(create_app(container=still))
        opened.append(test_client.__enter__())
        return test_client

    yield at
    for test_client in opened:
        test_client.__exit__(None, None, None)


@pytest.fixture
def etna(client: TestClient) -> dict[str, str]:
    return etna_headers(client)


def set_time_zone(app: TestClient, headers: dict[str, str], zone: str) -> None:
    response = app.put("/api/v1/company/calendar", json={"time_zone": zone}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["time_zone"] == zone


def give_bhp_to_the_average_account(app: TestClient, headers: dict[str, str]) -> None:
    """6687 holds BHP and 6688 holds Australian dollars, so that the ETNA sample can trade BHP."""
    position = app.post(
        "/api/v1/ledger/opening-positions",
        json={"account_id": "6687", "symbol": "BHP", "quantity": "1000", "price": "45.00"},
        headers=headers,
    )
    cash = app.post(
        "/api/v1/ledger/deposits",
        json={"account_id": "6688", "amount": "100000.00", "currency": "AUD"},
        headers=headers,
    )
    assert (position.status_code, cash.status_code) == (201, 201), position.text + cash.text


def book(app: TestClient, etna: dict[str, str], *items: dict[str, Any]) -> None:
    response = app.post(PATH, content=body(*items), headers=etna)
    assert response.status_code == 200, response.text


AAPL = request(Quantity=10)
BHP = request(Symbol="BHP", Quantity=20, Price=Decimal("45.00"), Commission=Decimal("2.00"))


def allocations(app: TestClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    response = app.get("/api/v1/allocations", params=params, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def by_symbol(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["symbol"]: item for item in items}


def test_a_sydney_desk_books_on_its_own_friday_and_the_asx_settles_after_australia_day(
    desk: Desk, demo_headers: dict[str, str], etna: dict[str, str]
) -> None:
    app = desk(SYDNEY_FRIDAY_MORNING)
    set_time_zone(app, demo_headers, "Australia/Sydney")
    give_bhp_to_the_average_account(app, demo_headers)

    book(app, etna, AAPL, BHP)

    booked = by_symbol(allocations(app, demo_headers, trade_date_from="2026-01-23"))
    assert booked["BHP"]["trade_date"] == booked["AAPL"]["trade_date"] == "2026-01-23"
    # T+2 on the ASX: Monday the 26th is a holiday, so Tuesday 27 and Wednesday 28.
    assert booked["BHP"]["settlement_date"] == "2026-01-28"
    assert booked["BHP"]["isin"] == "AU000000BHP4"
    # T+1 on Nasdaq, which is open on Australia Day.
    assert booked["AAPL"]["settlement_date"] == "2026-01-26"
    assert booked["AAPL"]["isin"] == "US0378331005"
    assert not booked["AAPL"]["late"] and not booked["BHP"]["late"]


def test_a_new_york_desk_books_on_thursday_and_nasdaq_settles_after_the_holiday_weekend(
    desk: Desk, demo_headers: dict[str, str], etna: dict[str, str]
) -> None:
    app = desk(NEW_YORK_THURSDAY_NIGHT)
    set_time_zone(app, demo_headers, "America/New_York")
    give_bhp_to_the_average_account(app, demo_headers)

    book(app, etna, AAPL, BHP)

    booked = by_symbol(allocations(app, demo_headers, trade_date_to="2026-07-02"))
    assert booked["AAPL"]["trade_date"] == booked["BHP"]["trade_date"] == "2026-07-02"
    # Friday 3 July is a Nasdaq holiday and then the weekend: T+1 is Monday 6 July.
    assert booked["AAPL"]["settlement_date"] == "2026-07-06"
    # The ASX trades on 3 July: T+2 is Friday 3 and Monday 6.
    assert booked["BHP"]["settlement_date"] == "2026-07-06"


def test_the_same_moment_is_another_trade_date_in_another_time_zone(
    desk: Desk, demo_headers: dict[str, str], etna: dict[str, str]
) -> None:
    app = desk(SYDNEY_FRIDAY_MORNING)
    set_time_zone(app, demo_headers, "America/New_York")

    book(app, etna, AAPL)

    [booked] = allocations(app, demo_headers, trade_date_from="2026-01-01")
    assert (booked["trade_date"], booked["settlement_date"]) == ("2026-01-22", "2026-01-23")
    calendar = app.get("/api/v1/company/calendar", headers=demo_headers).json()
    assert calendar == {"time_zone": "America/New_York", "business_date": "2026-01-22"}


def test_an_unknown_time_zone_is_refused_and_changes_nothing(
    client: TestClient, demo_headers: dict[str, str]
) -> None:
    response = client.put(
        "/api/v1/company/calendar", json={"time_zone": "Mars/Olympus"}, headers=demo_headers
    )

    assert response.status_code == 422
    assert "Mars/Olympus" in response.json()["detail"]
    calendar = client.get("/api/v1/company/calendar", headers=demo_headers).json()
    assert calendar["time_zone"] == "America/New_York"


def close(app: TestClient, headers: dict[str, str], day: str) -> dict[str, Any]:
    response = app.post(f"{SESSIONS}/{day}/close", headers=headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_a_deposit_and_an_etna_allocation_after_the_close_go_to_the_next_trade_date(
    desk: Desk, demo_headers: dict[str, str], etna: dict[str, str]
) -> None:
    app = desk(SYDNEY_FRIDAY_MORNING)
    set_time_zone(app, demo_headers, "Australia/Sydney")
    give_bhp_to_the_average_account(app, demo_headers)
    book(app, etna, BHP)
    close(app, demo_headers, "2026-01-23")

    late = app.post(PATH, content=body(BHP), headers=etna)
    deposit = app.post(
        "/api/v1/ledger/deposits",
        json={"account_id": "6688", "amount": "10.00"},
        headers=demo_headers,
    )

    assert late.status_code == 200, late.text
    assert late.json()[0]["IsSucceed"] is True
    assert deposit.status_code == 201, deposit.text
    entry_id = deposit.json()["entry_id"]
    entry = app.get(f"/api/v1/ledger/entries/{entry_id}", headers=demo_headers).json()
    assert entry["trade_date"] == "2026-01-26"  # the next weekday: the company's, not the ASX's
    friday, monday = allocations(app, demo_headers, symbol="BHP")
    assert (friday["trade_date"], friday["late"]) == ("2026-01-23", False)
    assert (monday["trade_date"], monday["late"]) == ("2026-01-26", True)
    assert monday["settlement_date"] == "2026-01-29"  # from the ASX's next session, the 27th
    closed = app.get(f"{SESSIONS}/2026-01-23/report", headers=demo_headers).json()
    assert [row["allocation_id"] for row in closed["allocations"]] == [friday["id"]]


def test_a_reversal_of_a_closed_dates_allocation_lands_in_an_open_session(
    desk: Desk, demo_headers: dict[str, str], etna: dict[str, str]
) -> None:
    app = desk(SYDNEY_FRIDAY_MORNING)
    set_time_zone(app, demo_headers, "Australia/Sydney")
    book(app, etna, AAPL)
    [booked] = allocations(app, demo_headers, trade_date_from="2026-01-23")
    close(app, demo_headers, "2026-01-23")
    reverse = f"/api/v1/ledger/entries/{booked['entry_id']}/reverse"

    backdated = app.post(
        reverse, json={"reason": "x", "trade_date": "2026-01-23"}, headers=demo_headers
    )
    reversed_now = app.post(reverse, json={"reason": "wrong account"}, headers=demo_headers)

    assert backdated.status_code == 409
    assert backdated.json()["code"] == "SessionClosed"
    assert "2026-01-23" in backdated.json()["detail"]
    assert reversed_now.status_code == 201, reversed_now.text
    entry_id = reversed_now.json()["entry_id"]
    entry = app.get(f"/api/v1/ledger/entries/{entry_id}", headers=demo_headers).json()
    assert entry["trade_date"] == "2026-01-26"
    report = app.get(f"{SESSIONS}/2026-01-26/report", headers=demo_headers).json()
    assert [r["allocation_id"] for r in report["reversals"]] == [booked["id"]]


def test_an_explicit_trade_date_books_there_and_a_future_one_is_refused(
    desk: Desk, demo_headers: dict[str, str]
) -> None:
    app = desk(SYDNEY_FRIDAY_MORNING)

    def deposit(trade_date: str) -> Any:
        return app.post(
            "/api/v1/ledger/deposits",
            json={"account_id": "6688", "amount": "5.00", "trade_date": trade_date},
            headers=demo_headers,
        )

    earlier = deposit("2026-01-20")
    future = deposit("2026-02-02")

    assert earlier.status_code == 201, earlier.text
    entry = app.get(
        f"/api/v1/ledger/entries/{earlier.json()['entry_id']}", headers=demo_headers
    ).json()
    assert entry["trade_date"] == "2026-01-20"
    assert future.status_code == 422
    assert "future" in future.json()["detail"]


def test_every_allocation_is_in_the_clearing_report_and_the_export_once_with_its_dates(
    desk: Desk, demo_headers: dict[str, str], etna: dict[str, str]
) -> None:
    app = desk(SYDNEY_FRIDAY_MORNING)
    set_time_zone(app, demo_headers, "Australia/Sydney")
    give_bhp_to_the_average_account(app, demo_headers)
    book(app, etna, AAPL, BHP, request(Quantity=5), BHP)
    booked = allocations(app, demo_headers, trade_date_from="2026-01-23")

    report = close(app, demo_headers, "2026-01-23")
    document = app.get(f"{SESSIONS}/2026-01-23/report", headers=demo_headers).json()
    exported = app.get(
        "/api/v1/allocations.csv", params={"trade_date_from": "2026-01-23"}, headers=demo_headers
    )

    assert report["allocation_count"] == len(booked) == 4
    in_report = {row["allocation_id"]: row for row in document["allocations"]}
    lines = exported.text.splitlines()
    header = lines[0].split(",")
    in_export = [dict(zip(header, line.split(","), strict=True)) for line in lines[1:]]
    assert sorted(in_report) == sorted(int(row["allocation_id"]) for row in in_export)
    assert sorted(in_report) == sorted(item["id"] for item in booked)
    for row in [*in_report.values(), *in_export]:
        expected = ("2026-01-28", "AU000000BHP4") if row["symbol"] == "BHP" else None
        expected = expected or ("2026-01-26", "US0378331005")
        assert (row["settlement_date"], row["isin"]) == expected
        assert row["trade_date"] == "2026-01-23"


def test_a_block_trade_request_after_the_close_books_late_in_its_own_shape(
    desk: Desk, client: TestClient, demo_headers: dict[str, str]
) -> None:
    app = desk(SYDNEY_FRIDAY_MORNING)
    set_time_zone(app, demo_headers, "Australia/Sydney")
    close(app, demo_headers, "2026-01-23")

    response = app.post(BLOCKTRADE, content=SEED_JSON, headers=as_json(basic()))

    assert response.status_code == 200, response.text
    assert [child["MasterReference"] for child in response.json()] == ["XCCMa3aR573uzw"] * 2
    booked = allocations(app, demo_headers, dialect="blocktrade")
    assert [(a["trade_date"], a["late"]) for a in booked] == [("2026-01-26", True)] * 2
    assert {a["settlement_date"] for a in booked} == {"2026-01-29"}  # from the 27th: T+2


def test_a_fill_reported_for_an_earlier_open_trade_date_books_its_allocations_there(
    desk: Desk, demo_headers: dict[str, str]
) -> None:
    app = desk(SYDNEY_FRIDAY_MORNING)
    set_time_zone(app, demo_headers, "Australia/Sydney")
    placed = app.post(
        "/api/v1/blocks",
        json={
            "account_id": "SAXO-AVG",
            "symbol": "CFD4361",
            "side": "Buy",
            "quantity": "50",
            "allocation_key_id": "227",
        },
        headers=demo_headers,
    )
    assert placed.status_code == 201, placed.text
    fills = f"/api/v1/blocks/{placed.json()['id']}/fills"
    close(app, demo_headers, "2026-01-21")

    closed = app.post(
        fills,
        json={"quantity": "10", "price": "20.00", "trade_date": "2026-01-21"},
        headers=demo_headers,
    )
    earlier = app.post(
        fills,
        json={"quantity": "40", "price": "20.00", "trade_date": "2026-01-22"},
        headers=demo_headers,
    )

    assert closed.status_code == 409 and closed.json()["code"] == "SessionClosed"
    assert earlier.status_code == 201, earlier.text
    booked = allocations(app, demo_headers, block_id=placed.json()["id"])
    assert {(a["trade_date"], a["late"]) for a in booked} == {("2026-01-22", False)}
    assert sum(Decimal(a["quantity"]) for a in booked) == Decimal(40)
