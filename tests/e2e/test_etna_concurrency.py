"""Four clients send ETNA batches at once to a real server; together the batches would take the
source account below zero. No account breaks its rule, exactly the items answered IsSucceed are
booked, and `allotment ledger check` passes."""

from __future__ import annotations

import random
import socket
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
import uvicorn
from typer.testing import CliRunner

from allotment.bootstrap import Container
from allotment.domain.accounts import AccountRole, AccountType
from allotment.domain.ledger import AssetKind
from allotment.entrypoints.cli import app as cli
from allotment.entrypoints.http.app import create_app
from allotment.services import registry
from allotment.services.journal import ledger
from tests.conftest import SECRET
from tests.e2e.test_etna_codes import body
from tests.e2e.test_etna_seed import admin_context, demo_ids

SOURCE = "SRC-1001"
TARGETS = [f"T-{i}" for i in range(8)]
CLIENTS = 4
BATCHES = 5
ITEMS = 40


@pytest.fixture
def server(demo_container: Container) -> Iterator[str]:
    """The demo app served by uvicorn on a free loopback port, in a thread of this process."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        create_app(container=demo_container), host="127.0.0.1", port=port, log_level="warning"
    )
    served = uvicorn.Server(config)
    thread = threading.Thread(target=served.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not served.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert served.started, "the server did not start"
    yield f"http://127.0.0.1:{port}"
    served.should_exit = True
    thread.join(timeout=30)


@pytest.fixture
def accounts(demo_container: Container) -> None:
    """A cash source account with 1,000 AAPL and 5,000.00; eight cash targets with 20,000.00."""
    company_id, _ = demo_ids(demo_container)
    with demo_container.uow() as uow:
        ctx = admin_context(demo_container, company_id)
        aapl = uow.instruments.by_symbol("AAPL")
        assert aapl is not None
        for account_id, cash in [(SOURCE, "5000.00")] + [(t, "20000.00") for t in TARGETS]:
            registry.open_account(
                uow,
                ctx,
                account_id=account_id,
                client_id=1001,
                account_type=AccountType.CASH,
                role=AccountRole.CLIENT,
                currency="USD",
            )
            ledger.move_cash(uow, ctx, account_id, Decimal(cash), deposit=True)
        ledger.open_position(uow, ctx, SOURCE, aapl, Decimal(1000), Decimal("100.00"))
        uow.commit()


def batch(rng: random.Random, client: int, number: int) -> list[dict[str, Any]]:
    """Mostly buys from the source, some sales back to it, each item tagged by its comment."""
    return [
        {
            "FromAccount": SOURCE,
            "ToAccount": rng.choice(TARGETS),
            "Symbol": "AAPL",
            "Quantity": rng.randint(5, 40),
            "Price": Decimal(rng.choice(["99.50", "100.00", "100.50"])),
            "Commission": Decimal("1.00"),
            "Action": "Sell" if rng.random() < 0.25 else "Buy",
            "AccountType": "Cash",
            "Comment": f"c{client}-b{number}-i{index}",
        }
        for index in range(ITEMS)
    ]


def run_client(base: str, token: str, client: int, answers: list[Any]) -> None:
    rng = random.Random(client)
    headers = {"Et-App-Key": "demo-app-key", "Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, timeout=120) as http:
        for number in range(BATCHES):
            response = http.post(
                "/v1.0/allocations/simple",
                content=body(*batch(rng, client, number)),
                headers=headers,
            )
            assert response.status_code in (200, 409), response.text
            answers.extend(response.json())


def test_concurrent_batches_never_break_a_rule_and_book_exactly_their_successes(
    server: str,
    accounts: None,
    demo_container: Container,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
) -> None:
    token = httpx.post(
        f"{server}/token",
        headers={"Username": "demo", "Password": "demo", "Et-App-Key": "demo-app-key"},
    ).json()["Token"]
    answers: list[list[Any]] = [[] for _ in range(CLIENTS)]
    threads = [
        threading.Thread(target=run_client, args=(server, token, i, answers[i]))
        for i in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    results = [answer for client in answers for answer in client]
    assert len(results) == CLIENTS * BATCHES * ITEMS
    succeeded = {r["Request"]["Comment"] for r in results if r["IsSucceed"]}
    refused = {r["Description"] for r in results if not r["IsSucceed"]}
    assert "InsufficientPosition" in refused  # the batches together ask for more than 1,000
    company_id, _ = demo_ids(demo_container)
    with demo_container.uow(write=False) as uow:
        booked = uow.allocations.list(company_id, None, dialect="etna", limit=10_000)
        held = uow.ledger.balances([SOURCE, *TARGETS])
    assert {a.comment for a in booked} == succeeded
    assert len(booked) == len(succeeded)
    assert all(balance.quantity >= 0 for balance in held.values())
    shares = sum(b.quantity for k, b in held.items() if k.kind is AssetKind.SECURITY)
    assert shares == 1000
    monkeypatch.setenv("ALLOTMENT_DATABASE_URL", database_url)
    monkeypatch.setenv("ALLOTMENT_SECRET_KEY", SECRET)
    monkeypatch.setenv("ALLOTMENT_VAR_DIR", str(tmp_path))
    check = CliRunner().invoke(cli, ["ledger", "check"])
    assert check.exit_code == 0, check.output
