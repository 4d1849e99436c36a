"""Benchmark: the fairness ledger holding a million allocations' deviations, and the report of
one account over a year of them, on PostgreSQL. Prints the seconds per step.

    python bench/fairness.py [--rows 1000000] [--accounts 1000] [--allocations]

The rows (one instrument, one allocation key, trade dates spread over a year, exact targets
such as 7/10 or 301/3) are written through the fairness repository in batches of 100,000, as a
booking writes them (COPY behind). Timed: the writing, then the report of one account over the
year as `fairness.report` answers it (the covered columns read by an index-only scan of
`ix_fairness_company_account_date`, summed exactly), cold and warm, with the plan PostgreSQL
chose. Before the report the table is vacuumed and analysed, as autovacuum does after a large
insert (PostgreSQL 13+), so that the visibility map lets the scan skip the table. The target is
under 100 ms.

With ``--allocations`` each fairness row also gets its allocation, and every tenth allocation
one more without a fairness row (an instructed quantity, read as an ``Instructed`` row,
decision 0046); the report is then timed without a key, with and without those rows, so the
cost of the allocations read is the difference of two reports over the same data.

PostgreSQL runs when ALLOTMENT_BENCH_POSTGRES_URL (or ALLOTMENT_TEST_POSTGRES_URL) names a
server where the bench may create and drop a database of its own.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from copy_floor import postgres_database

import allotment.adapters.database.schema  # noqa: F401  (registers the repositories)
from allotment.adapters.database.bulk import insert_values
from allotment.adapters.database.tables import allocations, instruments
from allotment.bootstrap import Container, build, migrate
from allotment.services.fairness import FairnessRow, summarise
from allotment.settings import Settings

SECRET = "bench-secret-key-0123456789-abcdefghijklmnop"
BATCH = 100_000
YEAR_START = date(2026, 1, 1)
PRICE = Decimal("10.00")


def rows(count: int, accounts: int, seed: int = 7) -> list[FairnessRow]:
    """`count` rows: the accounts in turn, trade dates through the year, a target whose
    fraction is what a split of a random total by ten weights would give."""
    pick = random.Random(seed)
    booked_at = datetime(2026, 1, 1, tzinfo=UTC)
    made = []
    for index in range(count):
        target = Fraction(pick.randint(0, 10_000), pick.choice((1, 3, 7, 10, 13)))
        given = Decimal(int(target) + (1 if pick.random() < target - int(target) else 0))
        made.append(
            FairnessRow(
                1,
                index + 1,
                f"ACC-{index % accounts:05d}",
                1,
                "K1",
                "Fair",
                None,
                target,
                given,
                Decimal(1),
                PRICE,
                YEAR_START + timedelta(days=index * 365 // count),
                booked_at,
            )
        )
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=1_000)
    parser.add_argument("--allocations", action="store_true")
    args = parser.parse_args()
    admin_url = os.environ.get("ALLOTMENT_BENCH_POSTGRES_URL") or os.environ.get(
        "ALLOTMENT_TEST_POSTGRES_URL"
    )
    if not admin_url:
        # The target is PostgreSQL's (the covering index is PostgreSQL's): nothing to measure.
        print("fairness: skipped, ALLOTMENT_BENCH_POSTGRES_URL names no PostgreSQL server")
        return
    made = rows(args.rows, args.accounts)
    with (
        postgres_database(admin_url) as url,
        tempfile.TemporaryDirectory(prefix="fairness-bench-") as folder,
    ):
        settings = Settings(database_url=url, secret_key=SECRET, var_dir=Path(folder))
        box = build(settings)
        migrate(box)
        try:
            if args.allocations:
                run_with_allocations(box, made, args.accounts)
            else:
                run(box, made, args.accounts)
        finally:
            box.engine.dispose()


def run(box: Container, made: list[FairnessRow], accounts: int) -> None:
    started = time.perf_counter()
    for first in range(0, len(made), BATCH):
        with box.uow() as uow:
            uow.fairness.add_many(made[first : first + BATCH])
            uow.commit()
    written = time.perf_counter() - started
    print(f"wrote {len(made):,} fairness rows in {written:.2f} s", flush=True)
    with box.engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
            "VACUUM ANALYZE fairness_records"
        )
    year = (YEAR_START, date(2026, 12, 31))
    account = f"ACC-{42 % accounts:05d}"
    print(plan(box, account, year), flush=True)
    timings = []
    for attempt in ("cold", "warm", "warm", "warm", "warm"):
        started = time.perf_counter()
        with box.uow(write=False) as uow:
            found = uow.fairness.deviations(1, frozenset({account}), 1, "K1", year)
        [line] = summarise(found)
        elapsed = time.perf_counter() - started
        timings.append(elapsed)
        deviation = float(line.deviation_increments)
        print(
            f"report of one account over a year ({attempt}): {elapsed * 1000:.1f} ms, "
            f"{line.allocation_count:,} allocations, deviation {deviation:.3f} increments, "
            f"{line.deviation_money_rounded()} in money"
        )
    warm = sorted(timings[1:])[len(timings[1:]) // 2]
    print(f"median warm report {warm * 1000:.1f} ms ({accounts:,} accounts; target under 100 ms)")


def allocation_rows(made: list[FairnessRow]) -> list[tuple[object, ...]]:
    """One allocation per fairness row (same id, account, day), and for every tenth row of an
    account one more that has none (ids above the rows')."""
    values: list[tuple[object, ...]] = []
    extra = len(made)
    seen: dict[str, int] = {}
    for row in made:
        seen[row.account_id] = seen.get(row.account_id, 0) + 1
        ids = [row.allocation_id] if seen[row.account_id] % 10 else [row.allocation_id, 0]
        for allocation_id in ids:
            if not allocation_id:
                extra += 1
                allocation_id = extra
            quantity = row.given_quantity
            values.append(
                (
                    allocation_id,
                    1,
                    allocation_id,
                    "saxo",
                    row.trade_date,
                    row.account_id,
                    "AVG",
                    1,
                    "Buy",
                    "Buy",
                    quantity,
                    PRICE,
                    quantity * PRICE,
                    ZERO,
                    ZERO,
                    ZERO,
                    quantity * PRICE,
                    None,
                    None,
                    "",
                    "booked",
                    row.booked_at,
                    "bench",
                    None,
                    False,
                )
            )
    return values


ALLOCATION_COLUMNS = [column.name for column in allocations.columns]
ZERO = Decimal(0)


def run_with_allocations(box: Container, made: list[FairnessRow], accounts: int) -> None:
    values = allocation_rows(made)
    with box.uow() as uow:
        connection = uow.connection  # type: ignore[attr-defined]  (the SQL unit of work's)
        connection.execute(
            instruments.insert().values(
                id=1,
                symbol="BENCH",
                uic=1,
                asset_type="Stock",
                currency="USD",
                quantity_increment=Decimal(1),
                price_increment=Decimal("0.01"),
            )
        )
        for first in range(0, len(made), BATCH):
            uow.fairness.add_many(made[first : first + BATCH])
            insert_values(
                connection, allocations, ALLOCATION_COLUMNS, values[first : first + BATCH]
            )
        insert_values(connection, allocations, ALLOCATION_COLUMNS, values[len(made) :])
        uow.commit()
    print(f"wrote {len(made):,} fairness rows and {len(values):,} allocations", flush=True)
    with box.engine.connect() as connection:
        autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
        for table in ("fairness_records", "allocations", "instruments"):
            autocommit.exec_driver_sql(f"VACUUM ANALYZE {table}")
    year = (YEAR_START, date(2026, 12, 31))
    account = f"ACC-{42 % accounts:05d}"
    for instructed in (False, True, False, True, False, True, False, True, False, True):
        started = time.perf_counter()
        with box.uow(write=False) as uow:
            found = uow.fairness.deviations(
                1, frozenset({account}), None, None, year, instructed=instructed
            )
        lines = summarise(found)
        elapsed = time.perf_counter() - started
        count = sum(line.allocation_count for line in lines)
        print(
            f"report of one account over a year, instructed rows "
            f"{'read' if instructed else 'left out'}: {elapsed * 1000:.1f} ms, {count:,} rows"
        )


def plan(box: Container, account: str, year: tuple[date, date]) -> str:
    """The plan of the report's query: an index-only scan, heap fetches 0 once vacuumed."""
    with box.engine.connect() as connection:
        found = connection.exec_driver_sql(
            "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT account_id, "
            "instrument_id, allocation_key, target_quantity, given_quantity, increment, price, "
            "trade_date FROM fairness_records WHERE company_id = 1 AND account_id = %(a)s "
            "AND instrument_id = 1 AND allocation_key = 'K1' AND trade_date >= %(s)s "
            "AND trade_date <= %(e)s",
            {"a": account, "s": year[0], "e": year[1]},
        )
        return "\n".join(f"  plan: {line}" for (line,) in found)


if __name__ == "__main__":
    main()
