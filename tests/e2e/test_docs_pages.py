"""The documentation pages work on a machine without internet access: `/docs` (Swagger UI),
`/redoc` and the book-building service's Swagger page render every operation in headless
Chromium against `allotment serve --demo` on 127.0.0.1, while every request to another host is
aborted and recorded (any such request fails the test). Swagger UI's Authorize button gets a
client-credentials token from `/connect/token`, and "Try it out" then calls with it.

Chromium is Debian's (`make test` installs it); Playwright drives it, its own browser download
is never used.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.serving import CHROMIUM, CHROMIUM_ARGS, LOCAL, served_demo

TIMEOUT_MS = 60_000

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is missing (make test installs it)"
    ),
]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`allotment serve --demo` on a free port of 127.0.0.1."""
    with served_demo(tmp_path_factory.mktemp("docs") / "var") as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A page whose requests may go to 127.0.0.1 only; any other is aborted, and fails the
    test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    elsewhere: list[str] = []

    def only_local(route: Any) -> None:
        url = route.request.url
        if urlsplit(url).hostname == LOCAL:
            route.continue_()
        else:
            elsewhere.append(url)
            route.abort()

    context.route("**/*", only_local)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    yield page
    context.close()
    assert elsewhere == [], f"the page asked for other hosts: {elsewhere}"


def shown_operations(document_url: str) -> int:
    """How many operation blocks the document shows: one per operation and tag."""
    document = httpx.get(document_url, timeout=30).json()
    return sum(
        max(1, len(operation.get("tags", [])))
        for item in document["paths"].values()
        for operation in item.values()
    )


def test_swagger_ui_at_docs_renders_every_operation_from_allotment_alone(
    served: str, page: Any, tmp_path: Path
) -> None:
    page.goto(f"{served}/docs")
    page.wait_for_selector(".opblock")
    page.screenshot(path=str(tmp_path / "docs.png"))
    assert (tmp_path / "docs.png").stat().st_size > 10_000
    assert page.locator(".opblock").count() == shown_operations(f"{served}/openapi.json")
    assert page.locator(".information-container .title").inner_text().startswith("allotment")


def test_the_authorize_button_gets_a_client_credentials_token_that_try_it_out_uses(
    served: str, page: Any, tmp_path: Path
) -> None:
    page.goto(f"{served}/docs")
    page.wait_for_selector(".opblock")
    page.click("button.authorize")
    dialog = page.locator(".auth-container", has_text="clientCredentials")
    dialog.locator("#client_id_clientCredentials").fill("demo-client")
    dialog.locator("#client_secret_clientCredentials").fill("demo-secret")
    with page.expect_response(f"{served}/connect/token") as token_answer:
        dialog.locator("button.authorize").click()
    assert token_answer.value.status == 200
    assert token_answer.value.request.headers["authorization"].startswith("Basic ")
    dialog.get_by_text("Authorized").wait_for()
    page.locator(".auth-btn-wrapper button.btn-done").first.click()

    operation = page.locator("#operations-Clients_and_accounts-list_accounts_api_v1_accounts_get")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    with page.expect_response(f"{served}/api/v1/accounts") as accounts:
        operation.get_by_role("button", name="Execute").click()
    page.screenshot(path=str(tmp_path / "try-it-out.png"))
    assert accounts.value.status == 200
    assert accounts.value.request.headers["authorization"].startswith("Bearer ")
    assert any(account["id"] == "6688" for account in accounts.value.json())


def test_the_book_building_swagger_page_renders_its_operations_from_allotment_alone(
    served: str, page: Any, tmp_path: Path
) -> None:
    root = f"{served}/book-building/allocations"
    page.goto(f"{root}/docs/index.html")
    page.wait_for_selector(".opblock")
    page.screenshot(path=str(tmp_path / "book-building.png"))
    assert page.locator(".opblock").count() == shown_operations(f"{root}/docs/v4/openapi.json")


def test_redoc_renders_every_operation_from_allotment_alone(
    served: str, page: Any, tmp_path: Path
) -> None:
    page.goto(f"{served}/redoc")
    operations = page.locator("[data-section-id^='operation/']")
    operations.first.wait_for()
    page.screenshot(path=str(tmp_path / "redoc.png"))
    assert operations.count() == shown_operations(f"{served}/openapi.json")
