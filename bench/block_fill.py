"""Benchmark: one fill of a Saxo block order allocated and booked across 100,000 participants,
on SQLite and on PostgreSQL. Prints the seconds per step; the fill is the figure that counts.

    python bench/block_fill.py [--participants 100000] [--no-fees]

The accounts, their cash and the company's fee schedule are created in bulk first, outside the
timing. Then, timed: the allocation key (Percentage, 0.001 % each), the block order placed with
it (each participant's target from the engine's split), and one fill of the whole order
(`services.blocks.report_fill`: the fill booked, the engine's partial-fill allocation, the
affordability and fee checks, one `booking.book` call for every participant, the holders' state
written), each in one unit of work, committed.

PostgreSQL runs when ALLOTMENT_BENCH_POSTGRES_URL (or ALLOTMENT_TEST_POSTGRES_URL) names a
server where the bench may create and drop a database of its own. There the bench also prints
the floor: the rows the fill's transaction wrote, copied into the same tables of a fresh
database with nothing around them (`copy_floor.py`), and the fill's ratio to it.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from copy_floor import copy_floor, postgres_database

from allotment.adapters.database import tables as t
from allotment.adapters.database.bulk import insert_rows, reserve_ids
from allotment.bootstrap import Container, build, migrate
from allotment.domain.accounts import AccountRole, AccountType
from allotment.domain.identity import ALL_SCOPES, Principal, PrincipalKind
from allotment.domain.instruments import Instrument
from allotment.domain.ledger import AssetKind, JournalEntry, LedgerState, Posting, keys_of
from allotment.services import blocks, registry
from allotment.services.context import Context
from allotment.services.saxo import fees as saxo_fees
from allotment.services.saxo import keys as saxo
from allotment.services.saxo import orders as saxo_orders
from allotment.services.saxo.records import MarginHandling, UnitType
from allotment.settings import Settings

SECRET = "bench-secret-key-0123456789-abcdefghijklmnop"
CASH_EACH = Decimal("100000.00")
SHARES_EACH = 10
PRICE = Decimal("10.00")
AVERAGE_KEY = "BENCH-AVG-KEY"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--participants", type=int, default=100_000)
    parser.add_argument("--no-fees", action="store_true", help="no fee schedule")
    args = parser.parse_args()
    lines = []
    with tempfile.TemporaryDirectory(prefix="saxo-bench-") as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        lines.append(run("sqlite", url, folder, args.participants, not args.no_fees)[0])
        admin_url = os.environ.get("ALLOTMENT_BENCH_POSTGRES_URL") or os.environ.get(
            "ALLOTMENT_TEST_POSTGRES_URL"
        )
        if admin_url:
            with postgres_database(admin_url) as pg_url:
                line, seconds = run(
                    "postgresql", pg_url, folder, args.participants, not args.no_fees
                )
                lines.append(line)
                lines.append(floor_line(pg_url, admin_url, args.participants, seconds))
        else:
            lines.append("postgresql: skipped (set ALLOTMENT_BENCH_POSTGRES_URL)")
    print()
    fees = "without fees" if args.no_fees else "with a fee schedule"
    print(f"One fill of a Saxo block order across {args.participants:,} participants ({fees}):")
    for line in lines:
        print(line)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024  # KiB on Linux
    print(f"  peak memory of this process (both runs, set-up included): {peak:.2f} GiB")


def run(backend: str, url: str, folder: str, count: int, with_fees: bool) -> tuple[str, float]:
    """The figures' line, and the fill's seconds."""
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
        ctx = setup(box, count, with_fees)
        timings = {}
        started = time.perf_counter()
        with box.uow() as uow:
            key = saxo.create_key(uow, ctx, key_draft(count))
            uow.commit()
        timings["key"] = time.perf_counter() - started
        started = time.perf_counter()
        with box.uow() as uow:
            block = saxo_orders.place_block_order(uow, ctx, order_draft(str(key.id), count))
            uow.commit()
        timings["order"] = time.perf_counter() - started
        assert block.id is not None
        started, cpu = time.perf_counter(), time.process_time()
        with box.uow() as uow:
            blocks.report_fill(
                uow,
                ctx,
                block.id,
                blocks.FillInput(Decimal(count * SHARES_EACH), PRICE),
                listeners=box.fill_listeners,
            )
            uow.commit()
        timings["fill"] = time.perf_counter() - started
        timings["cpu"] = time.process_time() - cpu
        check(box, ctx, block.id, count)
    finally:
        box.engine.dispose()
    line = (
        f"  {backend:<10}  fill {timings['fill']:6.2f} s "
        f"({count / timings['fill']:,.0f} participants/s; this process's CPU "
        f"{timings['cpu']:.2f} s)   key {timings['key']:5.2f} s   order {timings['order']:5.2f} s"
    )
    return line, timings["fill"]


def floor_line(url: str, admin_url: str, count: int, fill_seconds: float) -> str:
    """The COPY floor of what the PostgreSQL fill wrote (the last transaction of the bench)."""
    floor = copy_floor(url, admin_url)
    return (
        f"  {'floor':<10}  COPY {floor.seconds:6.2f} s of the {floor.rows:,} rows the fill "
        f"inserted or updated ({floor.rows / count:.1f} per participant) into the same tables "
        f"of a fresh database; the fill takes {fill_seconds / floor.seconds:.1f}x its floor"
    )


def setup(box: Container, count: int, with_fees: bool) -> Context:
    """A company, an instrument, an average account and `count` funded client accounts, in
    bulk (outside the timing)."""
    now = box.clock.now()
    with box.uow() as uow:
        company = registry.create_company(uow, "Bench Broker", Decimal("0.10"), "USD", now)
        ctx = Context(
            Principal(company.id, "bench", PrincipalKind.USER, ALL_SCOPES, None), "saxo", now
        )
        uow.instruments.add(
            Instrument(0, "BENCH", 990_001, "Stock", "USD", Decimal(1), Decimal("0.01"))
        )
        registry.open_account(
            uow,
            ctx,
            account_id="BENCH-AVG",
            client_id=None,
            account_type=AccountType.MARGIN,
            role=AccountRole.AVERAGE,
            currency="USD",
            credit_limit=Decimal("1000000000"),
            account_key=AVERAGE_KEY,
        )
        connection = uow.connection  # type: ignore[attr-defined]
        client_ids = reserve_ids(connection, t.clients, count)
        insert_rows(
            connection,
            t.clients,
            [
                {
                    "id": i,
                    "company_id": company.id,
                    "name": f"client {i}",
                    "client_key": f"bk-{i}",
                    "created_at": now,
                }
                for i in client_ids
            ],
        )
        insert_rows(
            connection,
            t.accounts,
            [_account(company.id, n, i, now) for n, i in enumerate(client_ids)],
        )
        _fund(uow, ctx, count)
        if with_fees:
            saxo_fees.put_schedule(
                uow,
                ctx,
                None,
                saxo_fees.FeeTerms(
                    commission_per_share=Decimal("0.01"), commission_minimum=Decimal("1.00")
                ),
            )
        uow.commit()
    return ctx


def _account(company_id: int, number: int, client_id: int, now: object) -> dict[str, object]:
    return {
        "id": f"BP-{number:06d}",
        "company_id": company_id,
        "client_id": client_id,
        "account_key": f"bench-key-{number:06d}",
        "type": AccountType.CASH.value,
        "role": AccountRole.CLIENT.value,
        "status": "active",
        "currency": "USD",
        "credit_limit": Decimal(0),
        "created_at": now,
    }


def _fund(uow: object, ctx: Context, count: int) -> None:
    """One deposit entry crediting every participant (balanced against the external account)."""
    external = registry.house_account_id(ctx.company_id, AccountRole.EXTERNAL)
    postings = [Posting(f"BP-{n:06d}", AssetKind.CASH, "USD", CASH_EACH) for n in range(count)]
    postings.append(Posting(external, AssetKind.CASH, "USD", -CASH_EACH * count))
    entry = JournalEntry("deposit", tuple(postings), "bench funding")
    state = LedgerState({}, {})
    state.force(entry)
    ledger = uow.ledger  # type: ignore[attr-defined]
    ledger.add_entries(ctx.company_id, [entry], ctx.today, ctx.now, "bench", "bench")
    ledger.write_balances({key: state.balances[key] for key in keys_of([entry])})


def key_draft(count: int) -> saxo.KeyDraft:
    share = Decimal(100) / Decimal(count)
    return saxo.KeyDraft(
        name="bench key",
        unit_type=UnitType.PERCENTAGE,
        margin_handling=MarginHandling.REDUCE,
        one_time=False,
        owner_account_key=AVERAGE_KEY,
        participants=[
            saxo.ParticipantDraft(share, 1, n == 0, account_id=f"BP-{n:06d}") for n in range(count)
        ],
    )


def order_draft(key_id: str, count: int) -> saxo_orders.OrderDraft:
    return saxo_orders.OrderDraft(
        account_key=AVERAGE_KEY,
        uic=990_001,
        asset_type="Stock",
        buy_sell="Buy",
        amount=Decimal(count * SHARES_EACH),
        order_type="Market",
        allocation_key_id=key_id,
    )


def check(box: Container, ctx: Context, block_id: int, count: int) -> None:
    """The fill is fully allocated and the ledger agrees with itself."""
    with box.uow(write=False) as uow:
        block = uow.blocks.get(ctx.company_id, block_id)
        assert block is not None and block.allocated_quantity == count * SHARES_EACH, block
        rows = uow.allocations.list(ctx.company_id, None, block_id=block_id, limit=count + 10)
        assert len(rows) == count, len(rows)
        assert not uow.ledger.recompute()


if __name__ == "__main__":
    main()
