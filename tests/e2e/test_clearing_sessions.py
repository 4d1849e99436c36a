"""Clearing sessions (SPEC §5): closing a trade date registers its bookings in a report that
reconciles with the ledger, closing twice is harmless, and closed bookings are final."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from allotment.bootstrap import Container
from allotment.domain.accounts import AccountRole
from allotment.domain.errors import SessionClosed
from allotment.entrypoints.cli import app as cli
from allotment.services import calendar, clearing, demo, registry
from allotment.services.journal import ledger
from allotment.services.ports import EntryFilter
from tests.conftest import SECRET, bearer
from tests.e2e.test_etna_codes import request, send
from tests.e2e.test_etna_seed import admin_context, demo_ids, etna_headers

SESSIONS = "/api/v1/clearing/sessions"


def business_day(box: Container) -> date:
    """The demo company's business date now (its time zone's date)."""
    return calendar.business_date(demo.TIME_ZONE, box.clock.now())


def today(box: Container) -> str:
    return business_day(box).isoformat()


def book_a_day(client: TestClient) -> None:
    """Three buys and a sale back, with commissions; one refusal that books nothing. (The sale
    back at 135.50 lowers the average cost of 6687, so the last buy is priced below it.)"""
    items = [
        request(Quantity=100),
        request(Quantity=50, Price=Decimal("135.00"), Commission=Decimal("0.75")),
        request(Quantity=30, Action="Sell", Price=Decimal("135.50"), Commission=Decimal("0.50")),
        request(Symbol="NOPE"),
        request(Quantity=1, Price=Decimal("135.00"), Commission=Decimal(0)),
    ]
    assert [r["IsSucceed"] for r in send(client, items).json()] == [True] * 3 + [False, True]


def close(client: TestClient, day: str, headers: dict[str, str]) -> Any:
    return client.post(f"{SESSIONS}/{day}/close", headers=headers)


def test_closing_a_session_twice_gives_the_same_report(
    client: TestClient, demo_container: Container, demo_headers: dict[str, str]
) -> None:
    book_a_day(client)
    day = today(demo_container)

    first = close(client, day, demo_headers)
    first_json = client.get(f"{SESSIONS}/{day}/report", headers=demo_headers)
    first_csv = client.get(f"{SESSIONS}/{day}/report.csv", headers=demo_headers)
    second = close(client, day, demo_headers)

    assert first.status_code == second.status_code == 200, first.text
    assert second.json() == first.json()
    assert first.json()["status"] == "closed"
    assert first.json()["allocation_count"] == 4
    assert (
        client.get(f"{SESSIONS}/{day}/report", headers=demo_headers).content == first_json.content
    )
    again_csv = client.get(f"{SESSIONS}/{day}/report.csv", headers=demo_headers)
    assert again_csv.content == first_csv.content


def test_the_report_lists_every_booking_of_the_trade_date_with_its_details(
    client: TestClient, demo_container: Container, demo_headers: dict[str, str]
) -> None:
    book_a_day(client)
    day = today(demo_container)
    close(client, day, demo_headers)

    report = client.get(f"{SESSIONS}/{day}/report", headers=demo_headers).json()

    company_id, _ = demo_ids(demo_container)
    with demo_container.uow(write=False) as uow:
        booked = uow.allocations.by_trade_date(company_id, business_day(demo_container))
    assert [row["allocation_id"] for row in report["allocations"]] == [a.id for a in booked]
    first = report["allocations"][0]
    assert {key: first[key] for key in DETAILS} == {
        "account_id": "6688",
        "source_account_id": "6687",
        "symbol": "AAPL",
        "side": "Buy",
        "action": "Buy",
        "quantity": "100",
        "price": "135.89",
        "trade_value": "13589.00",
        "commission": "1.36",
        "net_amount": "13590.36",
        "dialect": "etna",
    }
    assert report["allocations"][2]["side"] == "Sell"
    assert report["allocations"][2]["net_amount"] == "4064.50"


DETAILS = (
    "account_id",
    "source_account_id",
    "symbol",
    "side",
    "action",
    "quantity",
    "price",
    "trade_value",
    "commission",
    "net_amount",
    "dialect",
)


def test_the_totals_reconcile_with_the_ledger(
    client: TestClient, demo_container: Container, demo_headers: dict[str, str]
) -> None:
    book_a_day(client)
    day = today(demo_container)
    totals = close(client, day, demo_headers).json()["totals"]

    company_id, _ = demo_ids(demo_container)
    fee_account = registry.house_account_id(company_id, AccountRole.FEE)
    moved: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    with demo_container.uow(write=False) as uow:
        rows = uow.allocations.by_trade_date(company_id, business_day(demo_container))
        entries = uow.ledger.entries(EntryFilter(company_id=company_id, limit=1000))
    allocation_entries = {row.entry_id for row in rows}
    for stored in entries:
        if stored.id in allocation_entries:
            for p in stored.entry.postings:
                who = "fee" if p.account_id == fee_account else p.account_id
                moved[(who, p.kind.value)] += p.amount
    [usd] = totals["by_currency"]
    [shares] = totals["by_instrument"]
    fees = Decimal(usd["commission"]) + Decimal(usd["tax"]) + Decimal(usd["other_fees"])
    assert moved[("fee", "cash")] == fees
    net = Decimal(usd["net_amount_received"]) - Decimal(usd["net_amount_paid"])
    assert moved[("6688", "cash")] == net
    gross = Decimal(usd["sold_value"]) - Decimal(usd["bought_value"])
    assert moved[("6687", "cash")] == -gross
    assert moved[("6688", "security")] == (
        Decimal(shares["bought_quantity"]) - Decimal(shares["sold_quantity"])
    )
    assert (usd["buy_count"], usd["sell_count"], shares["symbol"]) == (3, 1, "AAPL")


def test_the_report_is_served_as_csv_with_a_record_per_allocation_and_a_total(
    client: TestClient, demo_container: Container, demo_headers: dict[str, str]
) -> None:
    book_a_day(client)
    day = today(demo_container)
    close(client, day, demo_headers)

    response = client.get(f"{SESSIONS}/{day}/report.csv", headers=demo_headers)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    records = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["record"] for r in records] == ["allocation"] * 4 + ["total"]
    assert records[0]["net_amount"] == "13590.36"
    total = records[-1]
    assert (total["currency"], total["commission"]) == ("USD", "2.61")
    paid = sum(Decimal(r["net_amount"]) for r in records[:-1] if r["side"] == "Buy")
    received = sum(Decimal(r["net_amount"]) for r in records[:-1] if r["side"] == "Sell")
    assert Decimal(total["net_amount"]) == paid - received


def test_an_open_session_shows_its_bookings_so_far(
    client: TestClient, demo_container: Container, demo_headers: dict[str, str]
) -> None:
    book_a_day(client)

    session = client.get(f"{SESSIONS}/{today(demo_container)}", headers=demo_headers).json()

    assert (session["status"], session["closed_at"], session["allocation_count"]) == (
        "open",
        None,
        4,
    )


def test_bookings_after_a_close_go_to_the_next_trade_date_and_leave_the_closed_one_alone(
    client: TestClient, demo_container: Container, demo_headers: dict[str, str]
) -> None:
    book_a_day(client)
    close(client, today(demo_container), demo_headers)

    etna = send(client, [request(Quantity=1, Price=Decimal("135.00"))])
    deposit = client.post(
        "/api/v1/ledger/deposits",
        json={"account_id": "6688", "amount": "10.00"},
        headers=demo_headers,
    )

    assert etna.status_code == 200, etna.text
    assert deposit.status_code == 201, deposit.text
    session = client.get(f"{SESSIONS}/{today(demo_container)}", headers=demo_headers).json()
    assert session["allocation_count"] == 4
    next_day = calendar.next_weekday(business_day(demo_container)).isoformat()
    later = client.get(f"{SESSIONS}/{next_day}", headers=demo_headers).json()
    assert later["allocation_count"] == 1
    entry = client.get(
        f"/api/v1/ledger/entries/{deposit.json()['entry_id']}", headers=demo_headers
    ).json()
    assert entry["trade_date"] == next_day


def test_a_booking_of_a_closed_session_is_reversed_only_in_a_later_session(
    client: TestClient, demo_container: Container, demo_headers: dict[str, str]
) -> None:
    send(client, [request(Quantity=10)])
    day_of = business_day(demo_container)
    day = day_of.isoformat()
    close(client, day, demo_headers)
    company_id, _ = demo_ids(demo_container)
    with demo_container.uow(write=False) as uow:
        [allocation] = uow.allocations.list(company_id, None)

    closed_day = replace(admin_context(demo_container, company_id), requested_trade_date=day_of)
    with demo_container.uow() as uow, pytest.raises(SessionClosed):
        ledger.reverse_entry(uow, closed_day, allocation.entry_id)
    with demo_container.uow() as uow:
        now = admin_context(demo_container, company_id)
        reversal_id = ledger.reverse_entry(uow, now, allocation.entry_id, "wrong account")
        uow.commit()

    next_day = calendar.next_weekday(day_of)
    tomorrow = admin_context(demo_container, company_id, days=(next_day - day_of).days)
    with demo_container.uow(write=False) as uow:
        stored = uow.ledger.entry(company_id, reversal_id)
        later = clearing.close_session(uow, tomorrow, next_day)
    assert stored is not None and stored.trade_date == next_day
    assert '"reverses_entry_id":' + str(allocation.entry_id) in later.json_text
    report = client.get(f"{SESSIONS}/{day}/report", headers=demo_headers).json()
    assert report["allocations"][0]["status"] == "booked"  # the stored report stays as closed


def test_only_admins_close_and_only_callers_seeing_every_client_read(
    client: TestClient, demo_container: Container
) -> None:
    day = today(demo_container)
    future = (business_day(demo_container) + timedelta(days=1)).isoformat()

    assert close(client, day, bearer(client, "robert.z", "robert.z")).status_code == 403
    advisor = bearer(client, "advisor", "advisor")
    assert client.get(f"{SESSIONS}/{day}/report", headers=advisor).status_code == 403
    assert close(client, future, bearer(client)).status_code == 422
    assert close(client, "not-a-date", bearer(client)).status_code == 422


def test_the_cli_closes_a_trade_date_for_every_company_and_prints_a_summary(
    client: TestClient,
    demo_container: Container,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
) -> None:
    book_a_day(client)
    monkeypatch.setenv("ALLOTMENT_DATABASE_URL", database_url)
    monkeypatch.setenv("ALLOTMENT_SECRET_KEY", SECRET)
    monkeypatch.setenv("ALLOTMENT_VAR_DIR", str(tmp_path))
    day = today(demo_container)

    first = CliRunner().invoke(cli, ["clearing", "close", "--date", day])
    second = CliRunner().invoke(cli, ["clearing", "close", "--date", day])
    unknown = CliRunner().invoke(cli, ["clearing", "close", "--date", day, "--company", "Nope"])
    report = CliRunner().invoke(
        cli, ["clearing", "report", "--date", day, "--company", "Demo Broker", "--csv"]
    )

    assert first.exit_code == 0, first.output
    assert "Demo Broker" in first.output and "closed" in first.output
    assert second.output == first.output
    assert unknown.exit_code == 3
    assert report.exit_code == 0
    assert report.output.count("\nallocation,") == 4
    late = send(client, [request(Quantity=1, Price=Decimal("135.00"))])
    assert late.status_code == 200, late.text  # booked on the next trade date


def test_an_etna_token_reads_the_session_too(client: TestClient, demo_container: Container) -> None:
    headers = {"Authorization": etna_headers(client)["Authorization"]}

    response = client.get(f"{SESSIONS}/{today(demo_container)}", headers=headers)

    assert response.status_code == 200
    assert response.json()["totals"]["by_currency"] == []
