"""The desk's later pages and steps: a two-factor user's login, the audit trail of one object,
refused items and idempotency keys in the exceptions queue, book-building's distribution
previewed and committed, and a block placed with an allocation key booked by a fill."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from allotment.adapters.clock import FixedClock
from allotment.adapters.one_time_codes import TotpCodes
from allotment.bootstrap import Container
from allotment.services.bookbuilding.demo import TRANCHE_ID
from allotment.services.demo import COMPANY
from allotment.services.saxo.demo import OWNER_ACCOUNT_KEY
from tests.desk.support import BOOKING, START, log_in
from tests.e2e.test_blocktrade_seed import PATH, as_json, encode, line, seed_request
from tests.e2e.test_etna_codes import body as etna_body
from tests.e2e.test_etna_codes import request as etna_request
from tests.e2e.test_etna_seed import etna_headers

CODES = TotpCodes()


@pytest.fixture
def now(clock: FixedClock) -> datetime:
    """The clock set to the real time: tokens and tickets expire by the real time."""
    clock.at = datetime.now(UTC).replace(microsecond=0)
    return clock.at


def bearer(desk: TestClient) -> dict[str, str]:
    answer = desk.post("/api/v1/auth/token", json={"username": "demo", "password": "demo"})
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


@pytest.fixture
def secret(desk: TestClient, now: datetime) -> str:
    """User `trader`, enrolled in two-factor authentication by the demo admin: its secret."""
    admin = bearer(desk)
    user = {"username": "trader", "password": "trader-pw", "scopes": ["allocations-read"]}
    created = desk.post("/api/v1/users", json=user, headers=admin)
    assert created.status_code == 201, created.text
    enrolled = desk.post(f"/api/v1/users/{created.json()['id']}/two-factor", headers=admin)
    assert enrolled.status_code == 201, enrolled.text
    found: str = enrolled.json()["secret"]
    return found


def _ticket(desk: TestClient) -> str:
    answer = desk.post("/desk/login", data={"username": "trader", "password": "trader-pw"})
    assert answer.status_code == 200 and "set-cookie" not in answer.headers
    assert '<label for="code">Verification code</label>' in answer.text
    found = re.search(r'name="ticket" value="([^"]+)"', answer.text)
    assert found is not None
    return found.group(1)


def test_a_two_factor_user_logs_in_with_its_code_which_is_good_once(
    desk: TestClient, secret: str, now: datetime
) -> None:
    ticket = _ticket(desk)
    wrong = desk.post("/desk/login/code", data={"ticket": ticket, "code": "000000"})
    right = CODES.code_at(secret, now)
    opened = desk.post("/desk/login/code", data={"ticket": ticket, "code": right})
    assert wrong.status_code == 401 and "wrong verification code" in wrong.text
    assert "set-cookie" not in wrong.headers
    assert opened.status_code == 303 and opened.headers["location"] == "/desk/"
    assert desk.get("/desk/").status_code == 200
    desk.cookies.clear()
    again = desk.post("/desk/login/code", data={"ticket": _ticket(desk), "code": right})
    assert again.status_code == 401 and desk.get("/desk/").status_code == 303


def test_a_password_alone_or_a_made_up_ticket_opens_no_session(
    desk: TestClient, secret: str, now: datetime
) -> None:
    code = CODES.code_at(secret, now)
    forged = desk.post("/desk/login/code", data={"ticket": "not-a-ticket", "code": code})
    assert forged.status_code == 401 and "log in again" in forged.text
    _ticket(desk)
    assert desk.get("/desk/").status_code == 303


def test_guessing_codes_is_throttled_like_the_token_endpoints(
    desk: TestClient, demo_container: Container, secret: str, now: datetime
) -> None:
    ticket = _ticket(desk)
    limit = demo_container.settings.login_failures_per_minute
    guess = {"ticket": ticket, "code": "000000", "username": "trader"}
    answers = [desk.post("/desk/login/code", data=guess).status_code for _ in range(limit)]
    right = {**guess, "code": CODES.code_at(secret, now)}
    throttled = desk.post("/desk/login/code", data=right)
    assert answers == [401] * limit
    assert throttled.status_code == 429 and "retry-after" in throttled.headers
    assert throttled.headers["content-type"].startswith("text/html")
    assert desk.get("/desk/").status_code == 303


def test_the_audit_page_shows_one_objects_trail(desk: TestClient) -> None:
    token = log_in(desk)
    assert desk.post("/desk/blocks/195/book", data={**BOOKING, "csrf_token": token}).is_redirect
    trail = desk.get("/desk/audit", params={"object_type": "block", "object_id": "195"})
    assert trail.status_code == 200
    objects = re.findall(r'object_id=[^"]+">([^<]+)</a>', trail.text)
    assert objects and set(objects) == {"block 195"}
    assert "blocktrade.allocated" in trail.text
    assert "block.created" not in desk.get("/desk/audit", params={"object_id": "0"}).text


def test_refused_block_trade_lines_are_listed_with_what_to_do(desk: TestClient) -> None:
    log_in(desk)
    document = line(seed_request(), 0, ClientID=4242)
    refused = desk.post(PATH, content=encode(document), headers=as_json())
    assert refused.status_code == 400
    page = desk.get("/desk/exceptions")
    table = page.text[page.text.index('<table id="refusals">') :]
    assert "client 4242" in table and "Invalid client:4242" in table
    assert "XCCMa3aR573uzw" in table and "blocktrade" in table
    assert "then send it again" in table


def test_the_advisor_sees_no_refusal_of_another_client_and_no_idempotency_key(
    desk: TestClient,
) -> None:
    log_in(desk)
    desk.post(PATH, content=encode(line(seed_request(), 0, ClientID=4242)), headers=as_json())
    desk.cookies.clear()
    log_in(desk, "advisor", "advisor")
    page = desk.get("/desk/exceptions")
    assert page.status_code == 200
    assert "4242" not in page.text and "Idempotency keys in flight" not in page.text


def test_idempotency_keys_in_flight_are_listed_with_their_age_and_next_step(
    desk: TestClient, demo_container: Container
) -> None:
    with demo_container.uow() as uow:
        company = uow.identity.company_by_name(COMPANY)
        assert company is not None and company.id is not None
        claimed = START - timedelta(minutes=5)
        uow.idempotency.reserve(company.id, "run-1", "a" * 64, claimed, START + timedelta(1))
        uow.idempotency.reserve(company.id, "died-1", "b" * 64, claimed, claimed)
        uow.commit()
    log_in(desk)
    page = desk.get("/desk/exceptions").text
    table = page[page.index('<table id="keys-in-flight">') :]
    rows = re.findall(r"<tr><td>([^<]+)</td><td>([^<]+)</td><td class=\"num\">(\d+) s", table)
    assert sorted(rows) == [("died-1", "in_progress", "300"), ("run-1", "in_progress", "300")]
    assert "Still running: wait" in table and "the client may send it again" in table


def test_a_tranche_is_previewed_with_its_finra_exclusion_then_committed(
    desk: TestClient,
) -> None:
    token = log_in(desk)
    deals = desk.get("/desk/bookbuilding")
    assert "Acme Robotics IPO" in deals.text and TRANCHE_ID in deals.text
    tranche = f"/desk/bookbuilding/tranches/{TRANCHE_ID}"
    assert "restricted under FINRA Rule 5130" in desk.get(tranche).text
    preview = desk.post(f"{tranche}/preview", data={"csrf_token": token})
    assert preview.status_code == 200
    excluded = preview.text[preview.text.index('<table id="excluded">') :]
    assert "Gamma Securities (broker-dealer)" in excluded and "Restricted" in excluded
    assert 'id="tranche-allocations"' not in desk.get(tranche).text  # nothing stored
    missing = desk.post(f"{tranche}/distribute", data={})
    committed = desk.post(f"{tranche}/distribute", data={"csrf_token": token})
    assert missing.status_code == 403
    assert committed.status_code == 303
    shown = desk.get(committed.headers["location"]).text
    held = shown[shown.index('<table id="tranche-allocations">') :]
    assert "Distributed: 2 auto allocation(s) stored." in shown
    assert held.count("<td>auto</td>") == 2 and "Gamma" not in held
    trail = desk.get("/desk/audit", params={"object_id": TRANCHE_ID}).text
    assert "distribute" in trail


def _keyed_block(desk: TestClient) -> int:
    """A block on the Saxo average account placed with allocation key 227, not yet filled."""
    body = {
        "account_id": "SAXO-AVG",
        "symbol": "CFD4361",
        "side": "Buy",
        "quantity": "100",
        "allocation_key_id": "227",
    }
    created = desk.post("/api/v1/blocks", json=body, headers=bearer(desk))
    assert created.status_code == 201, created.text
    block_id: int = created.json()["id"]
    return block_id


def test_a_block_placed_with_an_allocation_key_is_booked_by_a_fill(
    desk: TestClient, now: datetime
) -> None:
    block_id = _keyed_block(desk)
    token = log_in(desk)
    page = desk.get(f"/desk/blocks/{block_id}").text
    assert "Book a fill by allocation key 227" in page
    fill = {"csrf_token": token, "fill_quantity": "100", "fill_price": "25.10"}
    preview = desk.post(f"/desk/blocks/{block_id}/fill/preview", data=fill)
    assert preview.status_code == 200, preview.text
    given = re.findall(
        r"<tr><td>(SX-200[12])</td><td class=\"num\">[^<]*</td><td>[^<]*</td>"
        r"<td class=\"num\">(\d+)</td>",
        preview.text,
    )
    assert given == [("SX-2001", "10"), ("SX-2002", "90")]
    assert "Book this fill" in preview.text
    booked = desk.post(f"/desk/blocks/{block_id}/fill", data=fill)
    assert booked.status_code == 303, booked.text
    after = desk.get(booked.headers["location"]).text
    assert "Fill of 100 booked and allocated by key 227" in after
    assert re.search(r"<dt>Allocated</dt><dd>100</dd>", after)
    assert after.count('<a href="/desk/accounts/SX-200') == 2


def test_a_saxo_block_order_is_booked_by_a_fill_from_the_desk(
    desk: TestClient, now: datetime
) -> None:
    order = {
        "AccountKey": OWNER_ACCOUNT_KEY,
        "Uic": 4361,
        "AssetType": "CfdOnStock",
        "BuySell": "Buy",
        "Amount": 50,
        "OrderType": "Market",
        "AllocationKeyId": "227",
        "ManualOrder": True,
        "OrderDuration": {"DurationType": "DayOrder"},
    }
    placed = desk.post("/trade/v2/orders", json=order, headers=bearer(desk))
    assert placed.status_code == 200, placed.text
    block_id = placed.json()["OrderId"]
    token = log_in(desk)
    fill = {"csrf_token": token, "fill_quantity": "50", "fill_price": "25.00"}
    booked = desk.post(f"/desk/blocks/{block_id}/fill", data=fill)
    assert booked.status_code == 303, booked.text
    after = desk.get(f"/desk/blocks/{block_id}").text
    assert "<dd>saxo</dd>" in after and "<dt>Allocated</dt><dd>50</dd>" in after
    assert after.count('<a href="/desk/accounts/SX-200') == 2


def test_a_fill_beyond_the_ordered_quantity_is_refused_beside_the_form(
    desk: TestClient, now: datetime
) -> None:
    block_id = _keyed_block(desk)
    token = log_in(desk)
    fill = {"csrf_token": token, "fill_quantity": "150", "fill_price": "25.10"}
    answer = desk.post(f"/desk/blocks/{block_id}/fill", data=fill)
    assert answer.status_code == 422 and 'class="error" role="alert"' in answer.text
    assert "<dt>Filled</dt><dd>0</dd>" in desk.get(f"/desk/blocks/{block_id}").text


def test_a_refused_etna_item_is_listed_with_its_account_and_code(
    desk: TestClient, now: datetime
) -> None:
    headers = etna_headers(desk)
    refused = etna_request(Action="Sell", Quantity=1_000_000)
    answer = desk.post("/v1.0/allocations/simple", content=etna_body(refused), headers=headers)
    assert answer.status_code == 409, answer.text
    log_in(desk)
    page = desk.get("/desk/exceptions").text
    table = page[page.index('<table id="refusals">') :]
    assert '<a href="/desk/accounts/6688">6688</a>' in table
    assert "<td>InsufficientFunds</td>" in table and "from 6687: Sell 1000000 AAPL" in table
    assert "Fund the account (or raise its credit limit)" in table


def test_a_booking_the_ledger_refuses_at_the_desk_is_kept_as_refused(desk: TestClient) -> None:
    token = log_in(desk)
    too_much = {**BOOKING, "csrf_token": token, "commission_percent": "100000"}
    answer = desk.post("/desk/blocks/195/book", data=too_much)
    assert answer.status_code == 409 and "Nothing was booked" in answer.text
    page = desk.get("/desk/exceptions").text
    table = page[page.index('<table id="refusals">') :]
    assert "<td>desk</td><td>block 195</td>" in table and "client 1574444" in table
