"""A small write holds its average account for three waits (decision 0048): on PostgreSQL the
lock and the read of the balances are sent together, after every other read and id drawn; then
the writes (entry, postings, allocation, balances, audit event) and the key's mark go in one
pipeline, answered together; then the COMMIT. On both databases the booking, its
audit event and its stored answer are what they were."""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from allotment.bootstrap import Container
from allotment.domain.accounts import Account, AccountStatus
from allotment.domain.ledger import BookingCode
from allotment.services.etna import batches
from allotment.services.journal import ledger
from tests.e2e.test_etna_concurrency import server  # noqa: F401  (the served demo app)
from tests.e2e.test_etna_seed import admin_context, demo_ids

LOCK = re.compile(r"\bFOR\s+NO\s+KEY\s+UPDATE\b", re.IGNORECASE)
ETNA = {
    "FromAccount": "6687",
    "ToAccount": "6688",
    "Symbol": "AAPL",
    "Quantity": 1,
    "Price": 135.89,
    "Commission": 0.01,
    "Action": "Buy",
    "AccountType": "Cash",
}


WAIT = "(a wait for answers)"


@contextmanager
def sent(container: Container) -> Iterator[list[tuple[str, bool]]]:
    """Each statement sent through the driver and whether it went in a pipeline, and each
    wait for the answers of a pipeline (`WAIT`); a COMMIT is a statement not pipelined."""
    seen: list[tuple[str, bool]] = []
    if container.engine.dialect.name != "postgresql":
        yield seen
        return
    import psycopg

    patch = pytest.MonkeyPatch()
    for name in ("execute", "executemany"):
        original: Callable[..., Any] = getattr(psycopg.Cursor, name)

        def recording(
            cursor: Any, query: Any, *args: Any, _original: Any = original, **kw: Any
        ) -> Any:
            text = query if isinstance(query, str) else query.as_string(cursor.connection)
            seen.append((text, cursor.connection._pipeline is not None))
            return _original(cursor, query, *args, **kw)

        patch.setattr(psycopg.Cursor, name, recording)
    for name in ("sync", "__exit__"):
        waiting: Callable[..., Any] = getattr(psycopg.Pipeline, name)

        def waited(pipeline: Any, *args: Any, _original: Any = waiting) -> Any:
            seen.append((WAIT, True))
            return _original(pipeline, *args)

        patch.setattr(psycopg.Pipeline, name, waited)
    committing = psycopg.Connection.commit

    def commit(connection: Any) -> None:
        seen.append(("COMMIT", connection._pipeline is not None))
        committing(connection)

    patch.setattr(psycopg.Connection, "commit", commit)
    try:
        yield seen
    finally:
        patch.undo()


@pytest.fixture
def etna_headers(client: TestClient) -> dict[str, str]:
    login = {"Username": "demo", "Password": "demo", "Et-App-Key": "demo-app-key"}
    token = client.post("/token", headers=login).json()["Token"]
    headers = {"Authorization": f"Bearer {token}", "Et-App-Key": "demo-app-key"}
    for path, body in (
        (
            "/api/v1/ledger/opening-positions",
            {"account_id": "6687", "symbol": "AAPL", "quantity": "100", "price": "135.89"},
        ),
        ("/api/v1/ledger/deposits", {"account_id": "6688", "amount": "100000"}),
    ):
        assert client.post(path, json=body, headers=headers).status_code == 201
    return headers


def _locked(seen: list[tuple[str, bool]]) -> tuple[int, list[str]]:
    """From the lock to the COMMIT: how many times the booking waited for answers, and the
    statements it sent without waiting."""
    [lock] = [i for i, (text, _) in enumerate(seen) if LOCK.search(text)]
    # The balances are read by the next statement (which starts once the lock is held, and
    # so sees what its last holder committed), sent with the lock, waited for once.
    assert seen[lock][1] and seen[lock + 1][1]
    assert re.search(r"^\s*SELECT\b.*\bFROM\s+balances\b", seen[lock + 1][0])
    commit = next(i for i in range(lock, len(seen)) if seen[i][0] == "COMMIT")
    window = seen[lock : commit + 1]
    waits = sum(1 for text, piped in window if text == WAIT or not piped or text == "COMMIT")
    return waits, [text for text, piped in window if piped and text not in (WAIT, "COMMIT")]


def _tables(statements: list[str]) -> set[str]:
    return {m.group(1) for s in statements if (m := re.match(r'\s*INSERT INTO "?(\w+)', s))}


@pytest.mark.parametrize("path", ["etna", "deposit"])
def test_a_small_write_holds_the_account_for_three_waits(
    client: TestClient, etna_headers: dict[str, str], demo_container: Container, path: str
) -> None:
    booked = "allocations.booked" if path == "etna" else "cash.deposited"
    before = _audited(demo_container, booked)
    key = {"Idempotency-Key": uuid.uuid4().hex}
    with sent(demo_container) as seen:
        if path == "etna":
            answer = client.put(
                "/v1.0/allocations/simple", json=ETNA, headers={**etna_headers, **key}
            )
        else:
            body = {"account_id": "6687", "amount": "1.00", "currency": "USD"}
            answer = client.post(
                "/api/v1/ledger/deposits", json=body, headers={**etna_headers, **key}
            )
    assert answer.status_code in (200, 201), answer.text
    if demo_container.engine.dialect.name == "postgresql":
        waits, piped = _locked(seen)
        # The lock with the balances' read; the writes with the key's mark (which must see
        # that the claim is still this request's); the COMMIT.
        assert waits == 3, seen
        assert any(text.lstrip().startswith("UPDATE idempotency_keys SET") for text in piped)
        wanted = {"journal_entries", "postings", "balances", "audit_events"}
        assert _tables(piped) == wanted | ({"allocations"} if path == "etna" else set())
    replayed = (
        client.put("/v1.0/allocations/simple", json=ETNA, headers={**etna_headers, **key})
        if path == "etna"
        else client.post(
            "/api/v1/ledger/deposits",
            json={"account_id": "6687", "amount": "1.00", "currency": "USD"},
            headers={**etna_headers, **key},
        )
    )
    assert replayed.headers.get("Idempotent-Replayed") == "true"
    assert replayed.content == answer.content
    assert _audited(demo_container, booked) == before + 1  # once, though asked twice
    with demo_container.uow(write=False) as uow:
        assert ledger.check_ledger(uow) == []


def _audited(container: Container, action: str) -> int:
    with container.uow(write=False) as uow:
        account = uow.accounts.account("6687")
        assert account is not None
        events = uow.audit.list(account.company_id, None, 0, 10_000)
    return [event.action for event in events].count(action)


def test_small_writes_from_several_clients_on_one_account_keep_the_ledger(
    server: str,  # noqa: F811  (the fixture imported above)
    demo_container: Container,
) -> None:
    """Four clients book single ETNA items and deposits on the one average account at once,
    each keyed: every balance still agrees with the journal (a read of the balances that did
    not wait for the lock's last holder to commit would lose its writes), and every answered
    booking is booked once."""
    with httpx.Client(base_url=server, timeout=60) as client:
        login = {"Username": "demo", "Password": "demo", "Et-App-Key": "demo-app-key"}
        token = client.post("/token", headers=login).json()["Token"]
    headers = {"Authorization": f"Bearer {token}", "Et-App-Key": "demo-app-key"}
    with httpx.Client(base_url=server, timeout=60) as client:
        for path, body in (
            (
                "/api/v1/ledger/opening-positions",
                {"account_id": "6687", "symbol": "AAPL", "quantity": "1000", "price": "135.89"},
            ),
            ("/api/v1/ledger/deposits", {"account_id": "6688", "amount": "100000"}),
        ):
            assert client.post(path, json=body, headers=headers).status_code == 201
    booked = {"allocations.booked": 0, "cash.deposited": 0}
    before = {action: _audited(demo_container, action) for action in booked}
    failures: list[str] = []
    lock = threading.Lock()

    def one_client() -> None:
        with httpx.Client(base_url=server, timeout=60) as client:
            for number in range(12):
                key = {**headers, "Idempotency-Key": uuid.uuid4().hex}
                if number % 2:
                    body = {"account_id": "6687", "amount": "1.00", "currency": "USD"}
                    answer = client.post("/api/v1/ledger/deposits", json=body, headers=key)
                    action = "cash.deposited"
                else:
                    answer = client.put("/v1.0/allocations/simple", json=ETNA, headers=key)
                    action = "allocations.booked"
                with lock:
                    if answer.status_code in (200, 201):
                        booked[action] += 1
                    else:
                        failures.append(f"{answer.status_code} {answer.text}")

    threads = [threading.Thread(target=one_client) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert failures == []
    for action, count in booked.items():
        assert _audited(demo_container, action) == before[action] + count
    with demo_container.uow(write=False) as uow:
        assert ledger.check_ledger(uow) == []


def test_a_small_batch_is_checked_again_on_its_accounts_as_the_lock_finds_them(
    etna_headers: dict[str, str], demo_container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The accounts are read before the lock; one that changed meanwhile (here: read as
    closed, open when locked) is judged as the lock found it, not as it was read."""
    real = batches._company_accounts

    def read_stale(uow: Any, ctx: Any, ids: set[str]) -> dict[str, Account]:
        found = real(uow, ctx, ids)
        found["6688"] = replace(found["6688"], status=AccountStatus.CLOSED)
        return found

    monkeypatch.setattr(batches, "_company_accounts", read_stale)
    company_id, _ = demo_ids(demo_container)
    request = batches.AllocationRequest(
        "6687",
        "6688",
        None,
        (batches.Leg("AAPL", Decimal(1), Decimal("135.89"), batches.Action.BUY),),
        Decimal("0.01"),
    )
    with demo_container.uow() as uow:
        [result] = batches.allocate(uow, admin_context(demo_container, company_id), [request])
        uow.commit()
    assert result.booked and result.code is BookingCode.OK
    with demo_container.uow(write=False) as uow:
        assert ledger.check_ledger(uow) == []
