"""Benchmark: the operations desk's blotter with 100,000 allocations in the book, on SQLite and
on PostgreSQL. Prints the milliseconds of its first page and of a filtered page (instrument,
status and a participant's account), each the median of a few requests of the rendered page.

    python bench/desk_blotter.py [--allocations 100000] [--blocks 2000] [--runs 5]

The book is loaded in bulk first, outside the timing: a company, three instruments, an average
account and 1,000 client accounts, `--blocks` blocks of today and `--allocations` allocation
rows spread over them. Then, timed: `GET /desk/` and `GET /desk/?symbol=…&status=…&account=…`
through the application (session check, service, query, template), logged in as a user.

PostgreSQL runs when ALLOTMENT_BENCH_POSTGRES_URL (or ALLOTMENT_TEST_POSTGRES_URL) names a
server where the bench may create and drop a database of its own. The target is under 300 ms
for each page.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from copy_floor import postgres_database
from fastapi.testclient import TestClient

from allotment.adapters.database import tables as t
from allotment.adapters.database.bulk import insert_rows, reserve_ids
from allotment.bootstrap import Container, build, migrate
from allotment.domain.accounts import AccountRole, AccountType
from allotment.domain.identity import ALL_SCOPES, Principal, PrincipalKind
from allotment.domain.instruments import Instrument
from allotment.entrypoints.http.app import create_app
from allotment.services import registry
from allotment.services.context import Context
from allotment.services.ports import AllocationRow, UserRecord
from allotment.settings import Settings

SECRET = "bench-secret-key-0123456789-abcdefghijklmnop"
ACCOUNTS = 1000
SYMBOLS = ("DESKA", "DESKB", "DESKC")
STATUSES = ("open", "filled", "filled", "filled")
PRICE = Decimal("10.00")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--allocations", type=int, default=100_000)
    parser.add_argument("--blocks", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    lines = []
    with tempfile.TemporaryDirectory(prefix="desk-bench-") as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        lines.append(run("sqlite", url, folder, args))
        admin_url = os.environ.get("ALLOTMENT_BENCH_POSTGRES_URL") or os.environ.get(
            "ALLOTMENT_TEST_POSTGRES_URL"
        )
        if admin_url:
            with postgres_database(admin_url) as pg_url:
                lines.append(run("postgresql", pg_url, folder, args))
        else:
            lines.append("  postgresql: skipped (set ALLOTMENT_BENCH_POSTGRES_URL)")
    print()
    print(
        f"The desk's blotter with {args.allocations:,} allocations over {args.blocks:,} blocks "
        f"(median of {args.runs} requests, target under 300 ms each):"
    )
    for line in lines:
        print(line)


def run(backend: str, url: str, folder: str, args: argparse.Namespace) -> str:
    box = build(
        Settings(
            database_url=url,
            secret_key=SECRET,
            var_dir=Path(folder) / backend,
            fast_password_hashing=True,
            log_level="WARNING",
        )
    )
    try:
        migrate(box)
        load(box, args.blocks, args.allocations)
        with TestClient(create_app(container=box), base_url="https://bench") as client:
            answer = client.post("/desk/login", data={"username": "desk", "password": "desk"})
            assert answer.status_code == 200, answer.status_code
            first = timed(client, "/desk/", args.runs)
            query = f"/desk/?symbol={SYMBOLS[1]}&status=open&account=BD-000007"
            filtered = timed(client, query, args.runs)
    finally:
        box.engine.dispose()
    return f"  {backend:<10}  first page {first:7.1f} ms   filtered page {filtered:7.1f} ms"


def timed(client: TestClient, path: str, runs: int) -> float:
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        answer = client.get(path)
        seconds.append(time.perf_counter() - started)
        assert answer.status_code == 200 and "<table>" in answer.text, answer.text[:500]
    return statistics.median(seconds) * 1000


def load(box: Container, block_count: int, allocation_count: int) -> None:
    """The book, in bulk (outside the timing)."""
    now = box.clock.now()
    with box.uow() as uow:
        company = registry.create_company(uow, "Desk Bench", Decimal("0.10"), "USD", now)
        ctx = Context(
            Principal(company.id, "bench", PrincipalKind.USER, ALL_SCOPES, None), "bench", now
        )
        uow.identity.add_user(
            UserRecord(
                company.id,
                "desk",
                box.hasher.hash("desk"),
                frozenset(s.value for s in ALL_SCOPES),
                None,
            ),
            now,
        )
        instruments = [
            uow.instruments.add(
                Instrument(0, symbol, 990_100 + n, "Stock", "USD", Decimal(1), Decimal("0.01"))
            )
            for n, symbol in enumerate(SYMBOLS)
        ]
        registry.open_account(
            uow,
            ctx,
            account_id="BD-AVG",
            client_id=None,
            account_type=AccountType.MARGIN,
            role=AccountRole.AVERAGE,
            currency="USD",
            credit_limit=Decimal("1000000000"),
        )
        connection = uow.connection  # type: ignore[attr-defined]
        client_ids = reserve_ids(connection, t.clients, ACCOUNTS)
        insert_rows(
            connection,
            t.clients,
            [
                {"id": i, "company_id": company.id, "name": f"c{i}", "client_key": f"bd-{i}"}
                | {"created_at": now}
                for i in client_ids
            ],
        )
        insert_rows(
            connection,
            t.accounts,
            [_account(company.id, n, i, now) for n, i in enumerate(client_ids)],
        )
        block_ids = reserve_ids(connection, t.blocks, block_count)
        per_block = max(1, allocation_count // block_count)
        insert_rows(
            connection,
            t.blocks,
            [
                _block(company.id, [i.id for i in instruments][n % 3], block_id, n, per_block, now)
                for n, block_id in enumerate(block_ids)
            ],
        )
        ids = uow.allocations.reserve_ids(allocation_count)
        rows = [
            _allocation(
                company.id, instruments[(n // per_block) % 3].id, n, block_ids, per_block, now
            )
            for n in range(allocation_count)
        ]
        uow.allocations.add_many(rows, ids)
        uow.commit()


def _account(company_id: int, number: int, client_id: int, now: datetime) -> dict[str, object]:
    return {
        "id": f"BD-{number:06d}",
        "company_id": company_id,
        "client_id": client_id,
        "account_key": f"bd-key-{number:06d}",
        "type": AccountType.CASH.value,
        "role": AccountRole.CLIENT.value,
        "status": "active",
        "currency": "USD",
        "credit_limit": Decimal(0),
        "created_at": now,
    }


def _block(
    company_id: int, instrument_id: int, block_id: int, n: int, per_block: int, now: datetime
) -> dict[str, object]:
    quantity = Decimal(per_block * 10)
    return {
        "id": block_id,
        "company_id": company_id,
        "master_reference": None,
        "account_id": "BD-AVG",
        "instrument_id": instrument_id,
        "side": "Buy",
        "ordered_quantity": quantity,
        "filled_quantity": quantity,
        "filled_notional": quantity * PRICE,
        "allocated_quantity": quantity,
        "allocation_key_id": None,
        "status": STATUSES[n % len(STATUSES)],
        "dialect": "native",
        "created_at": now,
        "created_by": "bench",
    }


def _allocation(
    company_id: int, instrument_id: int, n: int, block_ids: list[int], per_block: int, now: datetime
) -> AllocationRow:
    value = PRICE * 10
    return AllocationRow(
        company_id=company_id,
        entry_id=10_000_000 + n,
        dialect="native",
        trade_date=now.date(),
        account_id=f"BD-{n % ACCOUNTS:06d}",
        source_account_id="BD-AVG",
        instrument_id=instrument_id,
        side="Buy",
        action="allocate",
        quantity=Decimal(10),
        price=PRICE,
        trade_value=value,
        commission=Decimal(0),
        tax=Decimal(0),
        other_fees=Decimal(0),
        net_amount=value,
        comment="",
        created_at=now,
        created_by="bench",
        block_id=block_ids[min(n // per_block, len(block_ids) - 1)],
        reference=f"r{n}",
    )


if __name__ == "__main__":
    main()
