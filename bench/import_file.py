"""Benchmark: `allotment import FILE` of a Clear Street client allocation file of 1,000,000 rows
(two instruments, one average account, a thousand client accounts), on SQLite and on
PostgreSQL. Prints rows per second and the import process's peak memory (its maximum resident
set size), which must stay bounded whatever the file's size.

    python bench/import_file.py [--rows 1000000] [--accounts 1000]

PostgreSQL runs when ALLOTMENT_BENCH_POSTGRES_URL (or ALLOTMENT_TEST_POSTGRES_URL) names a
server where the bench may create and drop a database of its own.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from allotment.adapters.database import tables as t
from allotment.adapters.database.bulk import insert_rows
from allotment.adapters.database.migrate import upgrade
from allotment.bootstrap import Container, build
from allotment.domain.accounts import AccountRole
from allotment.domain.identity import ALL_SCOPES, Principal, PrincipalKind
from allotment.domain.ledger import AssetKind, JournalEntry, Posting
from allotment.services import calendar, demo
from allotment.services.context import Context
from allotment.services.journal import ledger
from allotment.services.registry import house_account_id
from allotment.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parent))
from etna_batch import SECRET, _account, postgres_database

AVERAGE = "BENCH-AVG"
CASH_EACH = Decimal("100000000.00")
PRICES = {"AAPL": ("150.00", "150.02", "150.05"), "MSFT": ("400.00", "400.10")}
HEADER = [
    "client_trade_id", "omni_account_id", "account_id", "date", "exec_mpid", "side.direction",
    "instrument.identifier", "instrument.identifier_type", "instrument.country",
    "instrument.currency", "quantity", "price", "fees.commission", "capacity",
]  # fmt: skip


@dataclass
class Figure:
    backend: str
    rows: int
    seconds: float
    rate: float
    peak_mb: float

    def line(self) -> str:
        return (
            f"  {self.backend:<10} {self.rate:10,.0f} rows/s ({self.seconds:.1f} s end to end)"
            f" | peak memory {self.peak_mb:6.0f} MB"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=1_000)
    args = parser.parse_args()
    figures = []
    with tempfile.TemporaryDirectory(prefix="import-bench-") as folder:
        sqlite_url = f"sqlite:///{Path(folder) / 'bench.db'}"
        figures.append(run("sqlite", sqlite_url, args.rows, args.accounts, Path(folder)))
        admin_url = os.environ.get("ALLOTMENT_BENCH_POSTGRES_URL") or os.environ.get(
            "ALLOTMENT_TEST_POSTGRES_URL"
        )
        if admin_url:
            with postgres_database(admin_url) as url:
                figures.append(run("postgresql", url, args.rows, args.accounts, Path(folder)))
        else:
            print("postgresql: skipped (set ALLOTMENT_BENCH_POSTGRES_URL)")
    print()
    print(f"allotment import of a {args.rows:,}-row client allocation file:")
    for figure in figures:
        print(figure.line())


def run(backend: str, url: str, rows: int, accounts: int, folder: Path) -> Figure:
    settings = Settings(database_url=url, secret_key=SECRET, var_dir=folder)
    box = build(settings)
    upgrade(box.engine)
    day = prepare(box, accounts)
    path = folder / f"clientallocation_bench_{backend}.csv"
    write_file(path, rows, accounts, day)
    env = os.environ | {
        "ALLOTMENT_DATABASE_URL": url,
        "ALLOTMENT_SECRET_KEY": SECRET,
        "ALLOTMENT_VAR_DIR": str(folder),
        "ALLOTMENT_LOG_LEVEL": "WARNING",
    }
    command = [str(Path(sys.executable).with_name("allotment")), "import", str(path)]
    command += ["--company", demo.COMPANY]
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    assert child.stderr is not None
    output = child.stderr.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{backend}: the import failed:\n{output[-2000:]}")
    found = re.search(rf"{rows} rows, booked {rows} in .*\(([\d,]+) rows/s\)", output)
    if found is None:
        raise SystemExit(f"{backend}: not every row was booked:\n{output[-2000:]}")
    with box.uow(write=False) as uow:
        mismatches = ledger.check_ledger(uow)
    box.engine.dispose()
    if mismatches:
        raise SystemExit(f"{backend}: ledger check failed: {mismatches[:3]}")
    peak_mb = usage.ru_maxrss / 1024  # kilobytes on Linux
    figure = Figure(backend, rows, seconds, float(found.group(1).replace(",", "")), peak_mb)
    print(figure.line(), "| ledger check passed")
    return figure


def prepare(box: Container, count: int) -> str:
    """The demo company, one average account and `count` funded client cash accounts; the
    company's business date (the file's trade date)."""
    now = box.clock.now()
    with box.uow() as uow:
        demo.load(uow, box.hasher, now)
        company = uow.identity.company_by_name(demo.COMPANY)
        assert company is not None
        principal = Principal(company.id, "bench", PrincipalKind.USER, ALL_SCOPES, None)
        ctx = Context(principal, "bench", now)
        connection = uow.connection  # type: ignore[attr-defined]
        clients = [
            {"id": 600_000 + i, "company_id": company.id, "name": f"bench {i}",
             "client_key": f"bench-{i}", "created_at": now}
            for i in range(count)
        ]  # fmt: skip
        insert_rows(connection, t.clients, clients)
        rows = [_account(AVERAGE, company.id, None, "Margin", "average", now)]
        rows += [
            _account(_client(i), company.id, 600_000 + i, "Cash", "client", now)
            for i in range(count)
        ]
        insert_rows(connection, t.accounts, rows)
        external = house_account_id(company.id, AccountRole.EXTERNAL)
        postings = [Posting(_client(i), AssetKind.CASH, "USD", CASH_EACH) for i in range(count)]
        postings.append(Posting(external, AssetKind.CASH, "USD", -CASH_EACH * count))
        ids = sorted({p.account_id for p in postings})
        entry = JournalEntry("deposit", tuple(postings), "bench deposits")
        ledger.post_entry(uow, ctx, entry, uow.accounts.accounts_by_ids(ids), force=True)
        day = calendar.company_business_date(uow, ctx)
        uow.commit()
    return day.strftime("%Y%m%d")


def _client(index: int) -> str:
    return f"BENCH-{index:06d}"


def write_file(path: Path, rows: int, accounts: int, day: str) -> None:
    symbols = list(PRICES)
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(HEADER)
        for i in range(rows):
            symbol = symbols[i % len(symbols)]
            prices = PRICES[symbol]
            writer.writerow(
                [f"bench-{i}", AVERAGE, _client(i % accounts), day, "CLST", "buy", symbol,
                 "ticker", "USA", "USD", 1 + i % 3, prices[i % len(prices)], "0.10", "agency"]
            )  # fmt: skip


if __name__ == "__main__":
    main()
