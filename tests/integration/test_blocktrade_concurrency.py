"""Concurrent child-allocation requests on one master never allocate more than it holds: the
master's row is locked (SELECT ... FOR UPDATE on PostgreSQL; SQLite serialises writers), and
the ledger check passes afterwards."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import text
from typer.testing import CliRunner

from allotment.bootstrap import Container
from allotment.domain.identity import ALL_SCOPES, Principal, PrincipalKind
from allotment.entrypoints.cli.main import app
from allotment.services.blocktrade import children as blocktrade
from allotment.services.blocktrade.children import Outcome
from allotment.services.blocktrade.reading import BlockAllocation, BlockTradeBlockAllocation
from allotment.services.context import Context
from allotment.services.demo import COMPANY
from allotment.services.journal import ledger
from tests.conftest import SECRET

D = Decimal
CLIENT_ACCOUNTS = {1574444: "1574444-01", 987558: "987558-01"}


def context(box: Container) -> Context:
    with box.uow(write=False) as uow:
        company = uow.identity.company_by_name(COMPANY)
        assert company is not None
    principal = Principal(company.id, "demo", PrincipalKind.USER, ALL_SCOPES, None)
    return Context(principal, "blocktrade", datetime.now(UTC))


def give_shares(box: Container, ctx: Context) -> None:
    """Enough BHP for every client that only the master's quantity can stop a request."""
    with box.uow() as uow:
        instrument = uow.instruments.by_symbol("BHP")
        assert instrument is not None
        for account_id in CLIENT_ACCOUNTS.values():
            ledger.open_position(uow, ctx, account_id, instrument, D(500), D("6.10"))
        uow.commit()


def sale(client_id: int, quantity: int, reference: str) -> BlockTradeBlockAllocation:
    value = quantity * D("6.75")
    line = BlockAllocation(
        client_id, D(quantity), D("6.75"), value, value, D(0), D(0), reference, None, D(0)
    )
    return BlockTradeBlockAllocation(195, "XCCMa3aR573uzw", (line,))


def allocate(box: Container, ctx: Context, request: BlockTradeBlockAllocation) -> Outcome:
    with box.uow() as uow:
        outcome = blocktrade.allocate(uow, ctx, request)
        if outcome.accepted:
            uow.commit()
    return outcome


def allocated(box: Container, ctx: Context) -> tuple[Decimal, Decimal]:
    """(the master's allocated quantity, the quantity of its booked children)."""
    with box.uow(write=False) as uow:
        block = uow.blocks.get(ctx.company_id, 195)
        assert block is not None
        rows = uow.allocations.list(ctx.company_id, None, block_id=195)
    return block.allocated_quantity, sum((row.quantity for row in rows), D(0))


def waiting_for_a_lock(box: Container) -> bool:
    if box.engine.dialect.name != "postgresql":
        return True  # SQLite: the second writer waits at BEGIN IMMEDIATE
    with box.engine.connect() as connection:
        query = (
            "SELECT count(*) FROM pg_locks WHERE NOT granted AND database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        return bool(connection.execute(text(query)).scalar_one())


def eventually(condition: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)


def test_a_request_waiting_on_the_master_sees_what_the_first_one_allocated(
    demo_container: Container,
) -> None:
    box, ctx = demo_container, context(demo_container)
    give_shares(box, ctx)
    booked, results = threading.Event(), {}

    def first() -> None:
        with box.uow() as uow:
            results["first"] = blocktrade.allocate(uow, ctx, sale(1574444, 60, "FIRST"))
            booked.set()
            eventually(lambda: waiting_for_a_lock(box))
            uow.commit()

    def second() -> None:
        booked.wait(10)
        results["second"] = allocate(box, ctx, sale(987558, 60, "SECOND"))

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results["first"].accepted
    [refused] = results["second"].errors
    assert refused.errors[0].startswith("Quantity 60 exceeds the unallocated quantity")
    assert allocated(box, ctx) == (D(60), D(60))


def test_many_concurrent_requests_never_allocate_more_than_the_master_and_the_ledger_checks(
    demo_container: Container, database_url: str
) -> None:
    box, ctx = demo_container, context(demo_container)
    give_shares(box, ctx)
    start, outcomes = threading.Barrier(6), []

    def request(number: int) -> None:
        client_id = list(CLIENT_ACCOUNTS)[number % 2]
        start.wait(10)
        outcomes.append(allocate(box, ctx, sale(client_id, 30, f"RACE-{number}")))

    threads = [threading.Thread(target=request, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(outcomes) == 6
    assert sum(outcome.accepted for outcome in outcomes) == 3  # 3 × 30 ≤ 100 < 4 × 30
    assert allocated(box, ctx) == (D(90), D(90))
    with box.uow(write=False) as uow:
        assert ledger.check_ledger(uow) == []
    env = {"ALLOTMENT_DATABASE_URL": database_url, "ALLOTMENT_SECRET_KEY": SECRET}
    result = CliRunner().invoke(app, ["ledger", "check"], env=env)
    assert result.exit_code == 0, result.output
    assert "ledger check passed" in result.output
