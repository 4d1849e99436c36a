"""The operations desk in a real browser (Debian's Chromium driven by Playwright) against
`allotment serve --demo`: the demo user books, reverses and closes the day; the advisor never
sees client 987558 and every action on it is refused; no page asks any other host."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from allotment.services.saxo.demo import OWNER_ACCOUNT_KEY
from tests.serving import CHROMIUM, CHROMIUM_ARGS, served_demo

SCREENSHOTS = os.environ.get("ALLOTMENT_DESK_SCREENSHOTS")
"""Set to a directory to keep the screenshots there (the README's set was made so)."""

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    var_dir = tmp_path_factory.mktemp("desk") / "var"
    with served_demo(var_dir, FAST_PASSWORD_HASHING="true") as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[sync_api.Browser]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Requests:
    """Every request of a page, through `page.route`: the app's own go on, any other host is
    recorded and aborted."""

    def __init__(self, base: str) -> None:
        self.own = urlsplit(base).netloc
        self.seen: list[str] = []
        self.foreign: list[str] = []

    def handle(self, route: sync_api.Route) -> None:
        url = route.request.url
        self.seen.append(url)
        if urlsplit(url).netloc == self.own or url.startswith(("data:", "about:")):
            route.continue_()
        else:
            self.foreign.append(url)
            route.abort()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    target = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path / "screenshots"
    target.mkdir(parents=True, exist_ok=True)
    return target


def open_desk(
    browser: sync_api.Browser, base: str, username: str
) -> tuple[sync_api.Page, Requests]:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    requests = Requests(base)
    context.route("**/*", requests.handle)
    page = context.new_page()
    page.goto(f"{base}/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(username)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/desk/")
    return page, requests


def test_the_demo_user_books_reverses_and_closes_the_day_in_the_browser(
    served: str, browser: sync_api.Browser, shots: Path
) -> None:
    page, requests = open_desk(browser, served, "demo")
    blotter = page.locator("table tbody tr", has_text="XCCMa3aR573uzw")
    assert "Sell" in blotter.inner_text() and "BHP" in blotter.inner_text()
    page.screenshot(path=shots / "blotter.png")

    page.get_by_role("link", name="195", exact=True).click()
    page.get_by_label("Method").select_option("Unit")
    page.get_by_label("1574444-01").fill("25")
    page.get_by_label("987558-01").fill("75")
    page.get_by_label("Commission (% of trade value)").fill("1")
    page.get_by_role("button", name="Preview").click()
    preview = page.locator("#preview")
    expect(preview.locator("svg.chart rect.chart-given")).to_have_count(3)  # and the legend's
    assert "target 25" in preview.locator("svg.chart").inner_html()
    rows = preview.locator("table").first.locator("tbody tr")
    expect(rows).to_have_count(2)
    assert [rows.nth(i).locator("td").nth(3).inner_text() for i in range(2)] == ["25", "75"]
    preview.scroll_into_view_if_needed()
    page.screenshot(path=shots / "block-preview.png")

    page.get_by_role("button", name="Book this allocation").click()
    expect(page.get_by_role("status")).to_have_text("Booked 2 allocation(s).")
    booked = page.locator("#allocations tbody tr")
    expect(booked).to_have_count(2)
    assert "booked" in booked.nth(0).inner_text()
    page.screenshot(path=shots / "block-booked.png")

    page.get_by_role("link", name="1574444-01").first.click()
    expect(page.get_by_role("heading", level=2)).to_contain_text("Account 1574444-01")
    assert page.locator("#positions").inner_text().count("BHP") == 1
    assert page.locator("#positions tbody tr td").nth(1).inner_text() == "0"
    cash = page.locator("#cash tbody tr td").nth(1).inner_text()
    assert cash not in ("10000", "10000.00")  # the sale's net proceeds arrived
    page.screenshot(path=shots / "account.png")
    page.go_back()

    first = booked.nth(0)
    first.get_by_role("textbox").fill("wrong account")
    first.get_by_role("button", name="Reverse").click()
    expect(page.get_by_role("status")).to_contain_text("reversed")
    expect(page.locator("#allocations tbody tr").nth(0)).to_contain_text("reversed")

    page.set_viewport_size({"width": 390, "height": 844})  # a phone: nothing overflows
    for path in (
        "/desk/",
        "/desk/blocks/195",
        "/desk/eod",
        "/desk/bookbuilding",
        "/desk/exceptions",
    ):
        page.goto(f"{served}{path}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
    page.set_viewport_size({"width": 1280, "height": 800})
    page.get_by_role("link", name="End of day").click()
    with page.expect_download() as csv_download:
        page.get_by_role("link", name="Download the report (CSV)").click()
    csv_text = Path(csv_download.value.path()).read_text()
    assert "1574444-01" in csv_text and "987558-01" in csv_text
    page.get_by_role("link", name=re.compile("^Close ")).click()
    page.get_by_label(re.compile("I have checked the day")).check()
    page.screenshot(path=shots / "end-of-day-close.png")
    page.get_by_role("button", name="Close the trade date").click()
    expect(page.get_by_role("status")).to_contain_text("is closed")
    with page.expect_download() as json_download:
        page.get_by_role("link", name="Download the report (JSON)").click()
    report = json.loads(Path(json_download.value.path()).read_text())
    assert report["status"] == "closed"
    page.screenshot(path=shots / "end-of-day.png")

    assert requests.seen and requests.foreign == []
    page.context.close()


def _saxo_block_order(served: str) -> int:
    """A Saxo block order of 100 CFD4361 on allocation key 227, placed through Saxo's API."""
    with httpx.Client(base_url=served) as api:
        login = api.post("/api/v1/auth/token", json={"username": "demo", "password": "demo"})
        bearer = {"Authorization": f"Bearer {login.json()['access_token']}"}
        body = {
            "AccountKey": OWNER_ACCOUNT_KEY,
            "Uic": 4361,
            "AssetType": "CfdOnStock",
            "BuySell": "Buy",
            "Amount": 100,
            "OrderType": "Market",
            "AllocationKeyId": "227",
            "ManualOrder": True,
            "OrderDuration": {"DurationType": "DayOrder"},
        }
        placed = api.post("/trade/v2/orders", json=body, headers=bearer)
    assert placed.status_code == 200, placed.text
    return int(placed.json()["OrderId"])


def test_the_demo_user_distributes_a_tranche_and_books_a_saxo_block_order_in_the_browser(
    served: str, browser: sync_api.Browser, shots: Path
) -> None:
    page, requests = open_desk(browser, served, "demo")
    page.get_by_role("link", name="Book-building").click()
    page.get_by_role("link", name="US institutional tranche").click()
    page.get_by_role("button", name="Preview the distribution").click()
    excluded = page.locator("#excluded tbody tr")
    expect(excluded).to_have_count(1)
    assert "Gamma Securities" in excluded.inner_text() and "Restricted" in excluded.inner_text()
    expect(page.locator("#shares tbody tr")).to_have_count(2)
    page.locator("#distribution").scroll_into_view_if_needed()
    page.screenshot(path=shots / "bookbuilding-preview.png")
    page.get_by_role("button", name="Commit this distribution").click()
    expect(page.get_by_role("status")).to_have_text("Distributed: 2 auto allocation(s) stored.")
    expect(page.locator("#tranche-allocations tbody tr")).to_have_count(2)

    block_id = _saxo_block_order(served)
    page.goto(f"{served}/desk/blocks/{block_id}")
    page.get_by_label("Fill price").fill("25.10")
    page.get_by_role("button", name="Preview the fill").click()
    expect(page.locator("#preview svg.chart rect.chart-given")).to_have_count(3)
    page.get_by_role("button", name="Book this fill").click()
    expect(page.get_by_role("status")).to_contain_text("allocated by key 227")
    expect(page.locator("#allocations tbody tr")).to_have_count(2)
    page.screenshot(path=shots / "saxo-block-booked.png")
    assert requests.seen and requests.foreign == []
    page.context.close()


def _allocations_of_987558(browser: sync_api.Browser, served: str) -> list[int]:
    """Client 987558's allocations of block 195, booked by the demo user when none are."""
    demo, _ = open_desk(browser, served, "demo")
    demo.goto(f"{served}/desk/blocks/195")
    form = {"csrf_token": _csrf(demo), "method": "Unit", "weight:987558-01": "75"}
    demo.request.post(f"{served}/desk/blocks/195/book", form=form)
    demo.context.close()
    with httpx.Client(base_url=served) as api:
        login = api.post("/api/v1/auth/token", json={"username": "demo", "password": "demo"})
        bearer = {"Authorization": f"Bearer {login.json()['access_token']}"}
        rows = api.get("/api/v1/allocations", headers=bearer).json()["items"]
    return [row["id"] for row in rows if row["account_id"] == "987558-01"]


def _csrf(page: sync_api.Page) -> str:
    value = page.locator("input[name=csrf_token]").first.get_attribute("value")
    assert value
    return value


def test_the_advisor_never_sees_client_987558_and_every_action_on_it_is_refused(
    served: str, browser: sync_api.Browser
) -> None:
    others = _allocations_of_987558(browser, served)
    assert others
    page, requests = open_desk(browser, served, "advisor")
    pages = {}
    for path in (
        "/desk/",
        "/desk/blocks/195",
        "/desk/allocations",
        "/desk/exceptions",
        "/desk/keys",
        "/desk/accounts",
        "/desk/eod",
        "/desk/audit",
    ):
        answer = page.goto(f"{served}{path}")
        assert answer is not None
        pages[path] = answer.status
        assert "987558" not in page.content()
    assert pages == {
        "/desk/": 200,
        "/desk/blocks/195": 200,
        "/desk/allocations": 200,
        "/desk/exceptions": 200,
        "/desk/keys": 200,
        "/desk/accounts": 200,
        "/desk/eod": 403,
        "/desk/audit": 403,
    }
    export = page.request.get(f"{served}/desk/allocations/export.csv")
    assert export.ok and export.text().startswith("id,dialect,") and "987558" not in export.text()
    for path in (
        "/desk/accounts/987558-01",
        "/desk/?account=987558-01",
        "/desk/allocations?account=987558-01",
    ):
        answer = page.goto(f"{served}{path}")
        assert answer is not None and answer.status == 403
    page.goto(f"{served}/desk/blocks/195")
    token = _csrf(page)
    form = {"csrf_token": token, "method": "Unit", "weight:987558-01": "75"}
    refused = {
        "preview": page.request.post(f"{served}/desk/blocks/195/preview", form=form),
        "book": page.request.post(f"{served}/desk/blocks/195/book", form=form),
        "close": page.request.post(
            f"{served}/desk/eod/2026-01-02/close", form={"csrf_token": token, "confirm": "yes"}
        ),
    }
    assert {name: answer.status for name, answer in refused.items()} == {
        "preview": 403,
        "book": 403,
        "close": 403,
    }
    for allocation_id in others:
        answer = page.request.post(
            f"{served}/desk/allocations/{allocation_id}/reverse",
            form={"csrf_token": token, "reason": "not mine"},
        )
        assert answer.status == 404
    assert requests.seen and requests.foreign == []
    page.context.close()
