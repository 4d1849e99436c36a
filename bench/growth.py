"""Benchmark: does the service slow down as its book grows? On PostgreSQL, four operations are
timed on a nearly empty book, then 10,000,000 postings (with their journal entries and
allocations) are loaded with COPY, and the same four are timed again:

- a 10,000-item ETNA batch (`POST /v1.0/allocations/simple`, in process);
- one Saxo fill allocated and booked across 100,000 participants (`blocks.report_fill`);
- a CAS search (deal + status, newest first, page of 250) over 100,000 CAS allocations;
- an account's journal page (`GET /api/v1/ledger/journal?account_id=…`, its first 50 entries).

Target: each within 1.5x its empty-book figure. Prints both figures (medians: of 3 batches and
3 fills, of 7 searches and 7 pages) and their ratio.

    python bench/growth.py [--postings 10000000] [--items 10000] [--participants 100000]
                           [--cas 100000] [--runs 7] [--repeats 3]

It needs ALLOTMENT_BENCH_POSTGRES_URL (or ALLOTMENT_TEST_POSTGRES_URL): a server where it may
create and drop a database of its own. The grown rows belong to the same company as the probes,
on 20,000 other accounts and 500 trade dates; one posting in a thousand is on the account whose
journal page is read, so its history grows with the book.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from block_fill import AVERAGE_KEY, key_draft, order_draft
from block_fill import _account as participant_account
from block_fill import _fund as fund_participants
from bookbuilding_search import _allocations, _book, _chunks, _searches
from copy_floor import postgres_database
from etna_batch import SECRET, _json, prepare
from fastapi.testclient import TestClient
from sqlalchemy import text

from allotment.adapters.database import tables as t
from allotment.adapters.database.bookbuilding import repository as cas_tables
from allotment.adapters.database.bulk import insert_rows, reserve_ids
from allotment.bootstrap import Container, build, migrate
from allotment.domain.accounts import AccountRole, AccountType
from allotment.domain.identity import ALL_SCOPES, Principal, PrincipalKind
from allotment.domain.instruments import Instrument
from allotment.entrypoints.http.app import create_app
from allotment.services import blocks, demo, registry
from allotment.services.bookbuilding import allocations as bookbuilding
from allotment.services.context import Context
from allotment.services.saxo import keys as saxo
from allotment.services.saxo import orders as saxo_orders
from allotment.settings import Settings

TARGET = 1.5
JOURNAL_ACCOUNT = "BENCH-000000"
GROWN_ACCOUNTS = 20_000
CHUNK = 500_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postings", type=int, default=10_000_000)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--participants", type=int, default=100_000)
    parser.add_argument("--cas", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7, help="reads timed (median)")
    parser.add_argument("--repeats", type=int, default=3, help="batches and fills (median)")
    args = parser.parse_args()
    admin_url = os.environ.get("ALLOTMENT_BENCH_POSTGRES_URL") or os.environ.get(
        "ALLOTMENT_TEST_POSTGRES_URL"
    )
    if not admin_url:
        print("growth: skipped, it needs PostgreSQL (set ALLOTMENT_BENCH_POSTGRES_URL)")
        return
    with postgres_database(admin_url) as url, tempfile.TemporaryDirectory() as folder:
        run(url, Path(folder), args)


def run(url: str, folder: Path, args: argparse.Namespace) -> None:
    settings = Settings(
        database_url=url,
        secret_key=SECRET,
        var_dir=folder,
        fast_password_hashing=True,
        log_level="WARNING",
    )
    box = build(settings)
    try:
        migrate(box)
        probes = Probes.set_up(box, args)
        empty = probes.measure()
        print(f"grow: {grow(box, args.postings)}")
        grown = probes.measure()
        report(empty, grown, args.postings)
    finally:
        box.engine.dispose()


class Probes:
    """The four operations, set up once (outside the timing) and timed as often as asked."""

    def __init__(self, box: Container, args: argparse.Namespace, ctx: Context, items: Any) -> None:
        self.box, self.args, self.ctx, self.items = box, args, ctx, items
        self.client = TestClient(create_app(container=box))
        self.rng = random.Random(5)
        self.cas_book: dict[str, Any] = {}
        self.headers: dict[str, str] = {}
        self.native: dict[str, str] = {}

    @classmethod
    def set_up(cls, box: Container, args: argparse.Namespace) -> Probes:
        items = prepare(box, args.items)  # the demo, BENCH-AVG and the ETNA batch's accounts
        with box.uow() as uow:
            company = uow.identity.company_by_name(demo.COMPANY)
            assert company is not None
            now = box.clock.now()
            principal = Principal(company.id, "bench", PrincipalKind.USER, ALL_SCOPES, None)
            ctx = Context(principal, "saxo", now)
            _participants(uow, ctx, args.participants)
            book = _book(uow.connection, company.id)  # type: ignore[attr-defined]
            rows = _allocations(company.id, book, args.cas, random.Random(7))
            for chunk in _chunks(rows, 100_000):
                insert_rows(uow.connection, cas_tables.allocations, chunk)  # type: ignore[attr-defined]
            uow.commit()
        probes = cls(box, args, ctx, items)
        probes.cas_book = book
        probes.headers = _etna_headers(probes.client)
        token = probes.client.post(
            "/api/v1/auth/token", json={"username": "demo", "password": "demo"}
        ).json()["access_token"]
        probes.native = {"Authorization": f"Bearer {token}"}
        probes.journal_history()
        _analyze(box)
        return probes

    def measure(self) -> dict[str, float]:
        return {
            "ETNA batch": statistics.median(self.etna_batch() for _ in range(self.args.repeats)),
            "Saxo fill": statistics.median(self.fill() for _ in range(self.args.repeats)),
            "CAS search": _median(self.args.runs, self.cas_search),
            "journal page": _median(self.args.runs, self.journal_page),
        }

    def etna_batch(self) -> float:
        body = _json(self.items)
        started = time.perf_counter()
        response = self.client.post("/v1.0/allocations/simple", content=body, headers=self.headers)
        seconds = time.perf_counter() - started
        booked = sum(1 for answer in response.json() if answer["IsSucceed"])
        if response.status_code != 200 or booked != len(self.items):
            raise SystemExit(f"the batch answered {response.status_code}, {booked} booked")
        return seconds

    def fill(self) -> float:
        count = self.args.participants
        with self.box.uow() as uow:
            key = saxo.create_key(uow, self.ctx, key_draft(count))
            block = saxo_orders.place_block_order(uow, self.ctx, order_draft(str(key.id), count))
            uow.commit()
        assert block.id is not None
        started = time.perf_counter()
        with self.box.uow() as uow:
            fill = blocks.FillInput(Decimal(count * 10), Decimal("10.00"))
            blocks.report_fill(uow, self.ctx, block.id, fill, listeners=self.box.fill_listeners)
            uow.commit()
        return time.perf_counter() - started

    def cas_search(self) -> None:
        label, body = _searches(self.cas_book, self.rng)[0]
        with self.box.uow(write=False) as uow:
            page = bookbuilding.search_allocations(uow, self.ctx, body)
        assert len(page.items) <= 250, label

    def journal_history(self) -> None:
        """The journal page's account gets 60 entries of its own first (60 one-share ETNA
        items; they warm the batch's path too), so that the page read before and after the
        growth is the same full page: its first 50 entries."""
        items = [{**self.items[0], "ToAccount": JOURNAL_ACCOUNT, "Quantity": 1}] * 60
        for item in items:
            response = self.client.post(
                "/v1.0/allocations/simple", content=_json([item]), headers=self.headers
            )
            assert response.status_code == 200 and response.json()[0]["IsSucceed"], response.text

    def journal_page(self) -> None:
        response = self.client.get(
            "/api/v1/ledger/journal",
            params={"account_id": JOURNAL_ACCOUNT, "limit": 50},
            headers=self.native,
        )
        if response.status_code != 200 or len(response.json()["items"]) != 50:
            raise SystemExit(f"the journal page answered {response.status_code}")


def _participants(uow: Any, ctx: Context, count: int) -> None:
    """The fill's instrument, average account (owning the allocation key) and `count` funded
    participants, in bulk, as bench/block_fill.py makes them."""
    uow.instruments.add(
        Instrument(0, "BENCH", 990_001, "Stock", "USD", Decimal(1), Decimal("0.01"))
    )
    registry.open_account(
        uow,
        ctx,
        account_id="FILL-AVG",
        client_id=None,
        account_type=AccountType.MARGIN,
        role=AccountRole.AVERAGE,
        currency="USD",
        credit_limit=Decimal("1000000000"),
        account_key=AVERAGE_KEY,
    )
    connection = uow.connection
    client_ids = reserve_ids(connection, t.clients, count)
    clients = [
        {"id": i, "company_id": ctx.company_id, "name": f"client {i}", "client_key": f"bk-{i}",
         "created_at": ctx.now}
        for i in client_ids
    ]  # fmt: skip
    insert_rows(connection, t.clients, clients)
    accounts = [
        participant_account(ctx.company_id, n, i, ctx.now) for n, i in enumerate(client_ids)
    ]
    insert_rows(connection, t.accounts, accounts)
    fund_participants(uow, ctx, count)


def _etna_headers(client: TestClient) -> dict[str, str]:
    token = client.post(
        "/token", headers={"Username": "demo", "Password": "demo", "Et-App-Key": "demo-app-key"}
    ).json()["Token"]
    return {
        "Et-App-Key": "demo-app-key",
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
    }


def _median(runs: int, probe: Callable[[], None]) -> float:
    probe()  # warms the caches; not counted
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        probe()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def grow(box: Container, postings: int) -> str:
    """`postings` postings, two to a journal entry (a share moved between grown accounts), one
    allocation per entry, COPYed in chunks
    (indexes kept, as in service), then ANALYZEd. Returns what was loaded and how fast."""
    with box.uow(write=False) as uow:
        company = uow.identity.company_by_name(demo.COMPANY)
        assert company is not None
        instrument = uow.instruments.by_symbol("AAPL")
        assert instrument is not None
    engine = box.engine
    with engine.connect() as connection:
        start = int(
            connection.execute(
                text("SELECT coalesce(max(id), 0) FROM journal_entries")
            ).scalar_one()
        )
        first_allocation = int(
            connection.execute(text("SELECT coalesce(max(id), 0) FROM allocations")).scalar_one()
        )
    entries = postings // 2
    started = time.perf_counter()
    raw = engine.raw_connection()
    try:
        for low in range(0, entries, CHUNK):
            high = min(entries, low + CHUNK)
            with raw.cursor() as cursor:  # type: ignore[attr-defined]
                _copy(cursor, "journal_entries", _entries(company.id, start, low, high))
                _copy(cursor, "postings", _postings(start, low, high, instrument.id))
                _copy(
                    cursor,
                    "allocations",
                    _allocation_rows(company.id, start, first_allocation, low, high, instrument.id),
                )
            raw.commit()
            print(f"  {high * 2:,} postings loaded", file=sys.stderr)
    finally:
        raw.close()
    seconds = time.perf_counter() - started
    with engine.connect() as connection:
        for table in ("journal_entries", "allocations"):
            connection.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            )
        connection.commit()
    _analyze(box)
    return (
        f"{entries * 2:,} postings, {entries:,} journal entries and {entries:,} allocations "
        f"COPYed in {seconds:.1f} s ({entries * 4 / seconds:,.0f} rows/s, indexes included)"
    )


def _copy(cursor: Any, table: str, lines: io.StringIO) -> None:
    lines.seek(0)
    columns = lines.readline().strip()
    with cursor.copy(f'COPY "{table}" ({columns}) FROM STDIN') as copy:
        while chunk := lines.read(1 << 20):
            copy.write(chunk)


def _account(n: int) -> str:
    return JOURNAL_ACCOUNT if n % 1000 == 0 else f"GROWN-{n % GROWN_ACCOUNTS:05d}"


def _day(n: int) -> date:
    return date(2025, 1, 1) + timedelta(days=n % 500)


def _entries(company_id: int, start: int, low: int, high: int) -> io.StringIO:
    out = io.StringIO()
    out.write(
        "id, company_id, entry_type, description, trade_date, created_at, created_by, dialect\n"
    )
    for n in range(low, high):
        out.write(
            f"{start + 1 + n}\t{company_id}\tallocation\tgrown\t{_day(n)}\t"
            f"{_day(n)} 15:00:00+00\tbench\tetna\n"
        )
    return out


def _postings(start: int, low: int, high: int, instrument_id: int) -> io.StringIO:
    """A balanced entry: one share from one grown account to another."""
    out = io.StringIO()
    out.write("entry_id, line, account_id, kind, asset, amount, price\n")
    for n in range(low, high):
        entry, source = start + 1 + n, f"GROWN-{(n + 1) % GROWN_ACCOUNTS:05d}"
        out.write(f"{entry}\t0\t{_account(n)}\tsecurity\t{instrument_id}\t1\t100.00\n")
        out.write(f"{entry}\t1\t{source}\tsecurity\t{instrument_id}\t-1\t100.00\n")
    return out


def _allocation_rows(
    company_id: int, start: int, first: int, low: int, high: int, instrument_id: int
) -> io.StringIO:
    out = io.StringIO()
    out.write(
        "id, company_id, entry_id, dialect, trade_date, account_id, source_account_id, "
        "instrument_id, side, action, quantity, price, trade_value, commission, tax, other_fees, "
        "net_amount, comment, created_at, created_by, status, settlement_date, late\n"
    )
    for n in range(low, high):
        day = _day(n)
        out.write(
            f"{first + 1 + n}\t{company_id}\t{start + 1 + n}\tetna\t{day}\t{_account(n)}\t"
            "BENCH-AVG\t"
            f"{instrument_id}\tBuy\tBuy\t1\t100.00\t100.00\t0\t0\t0\t100.00\tgrown\t"
            f"{day} 15:00:00+00\tbench\tbooked\t{day + timedelta(days=1)}\tf\n"
        )
    return out


def _analyze(box: Container) -> None:
    with box.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("ANALYZE"))


def report(empty: dict[str, float], grown: dict[str, float], postings: int) -> None:
    print(f"{'operation':14} {'empty book':>12} {f'{postings:,} postings':>18} {'ratio':>7}")
    for name, before in empty.items():
        after = grown[name]
        unit, scale = ("s", 1) if before >= 1 else ("ms", 1000)
        verdict = "within" if after <= TARGET * before else "OUTSIDE"
        print(
            f"{name:14} {before * scale:>10.1f} {unit} {after * scale:>16.1f} {unit} "
            f"{after / before:>6.2f}x  {verdict} the {TARGET}x target"
        )


if __name__ == "__main__":
    main()
