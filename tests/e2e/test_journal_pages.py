"""An account's journal, paged by `after_id`: every entry with a posting on the account comes
once, oldest first, however many of its postings name the account, and no other entry does."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import bearer
from tests.e2e.test_etna_seed import PATH, SEED_REQUEST, etna_headers

ACCOUNT = "6688"


def _pages(client: TestClient, headers: dict[str, str], **query: Any) -> list[list[Any]]:
    pages, after = [], 0
    while True:
        params = {**query, "after_id": after, "limit": 2}
        response = client.get("/api/v1/ledger/journal", params=params, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body["items"])
        if body["next_after_id"] is None:
            return pages
        after = body["next_after_id"]


def test_an_accounts_journal_pages_list_each_of_its_entries_once_oldest_first(
    client: TestClient,
) -> None:
    headers, etna = bearer(client), etna_headers(client)
    for amount in ("10.00", "20.00", "30.00"):
        # An ETNA booking puts two postings on the account (the shares and the cash paid);
        # a deposit to it one; a deposit to another account none.
        assert client.post(PATH, content=SEED_REQUEST, headers=etna).is_success
        for account in (ACCOUNT, "6687"):
            deposit = {"account_id": account, "amount": amount}
            made = client.post("/api/v1/ledger/deposits", json=deposit, headers=headers)
            assert made.is_success, made.text
    everything = [
        entry for page in _pages(client, headers) for entry in page
    ]  # the whole journal, unfiltered
    expected = [
        e["id"] for e in everything if any(p["account_id"] == ACCOUNT for p in e["postings"])
    ]
    assert len(expected) >= 6
    pages = _pages(client, headers, account_id=ACCOUNT)
    assert all(len(page) == 2 for page in pages[:-1])
    ids = [entry["id"] for page in pages for entry in page]
    assert ids == expected  # each once, in id order
    doubled = [
        e
        for page in pages
        for e in page
        if sum(p["account_id"] == ACCOUNT for p in e["postings"]) == 2
    ]
    assert len(doubled) >= 3
    middle = pages[1][0]["id"]
    later = client.get(
        "/api/v1/ledger/journal",
        params={"account_id": ACCOUNT, "after_id": middle, "limit": 50},
        headers=headers,
    ).json()["items"]
    assert [entry["id"] for entry in later] == [i for i in expected if i > middle]
