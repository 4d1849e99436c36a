"""Benchmark: does the service slow down as its book grows? On PostgreSQL, two books are set
up alike in databases of their own; 10,000,000 postings (with their journal entries and
allocations) are COPYed into one of them; then four operations are timed on both books in
turn, round after round, so that a ratio reflects the book rather than the minute it was
measured in:

- a 10,000-item ETNA batch (`POST /v1.0/allocations/simple`, in process);
- one Saxo fill allocated and booked across 100,000 participants (`blocks.report_fill`);
- a CAS search (deal + status, newest first, page of 250) over 100,000 CAS allocations;
- an account's journal page (`GET /api/v1/ledger/journal?account_id=…`, its first 50 entries).

Target: the grown book's figure within 1.5x the empty book's. Each round times one batch and
one fill, and `--runs` searches and pages (their median), on each book (the order of the two
books alternating from round to round); the figures are the medians over the rounds, and the
spread of the rounds' own ratios is printed beside them.

    python bench/growth.py [--postings 10000000] [--items 10000] [--participants 100000]
                           [--cas 100000] [--runs 7] [--repeats 3]

It needs ALLOTMENT_BENCH_POSTGRES_URL (or ALLOTMENT_TEST_POSTGRES_URL): a server where it may
create and drop two databases of its own. The grown rows belong to the same company as the
probes, on 20,000 other accounts and 500 trade dates; one posting in a thousand is on the
account whose journal page is read, so its history grows with the book. Both books are
VACUUMed and ANALYZEd after they are set up and after the growth, as autovacuum would do.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
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
    with (
        postgres_database(admin_url) as empty_url,
        postgres_database(admin_url) as grown_url,
        tempfile.TemporaryDirectory() as folder,
    ):
        run([empty_url, grown_url], Path(folder), args)


def run(urls: list[str], folder: Path, args: argparse.Namespace) -> None:
    boxes = [_container(url, folder / f"book-{n}") for n, url in enumerate(urls)]
    try:
        books = []
        for box in boxes:
            migrate(box)
            books.append(Probes.set_up(box, args))
        print(f"grow: {grow(boxes[1], args.postings)}")
        report(*measure_in_turn(books, args.repeats), args.postings)
    finally:
        for box in boxes:
            box.engine.dispose()


def _container(url: str, folder: Path) -> Container:
    folder.mkdir()
    settings = Settings(
        database_url=url,
        secret_key=SECRET,
        var_dir=folder,
        fast_password_hashing=True,
        log_level="WARNING",
    )
    return build(settings)


OPERATIONS = ("ETNA batch", "Saxo fill", "CAS search", "journal page")
Samples = dict[str, list[float]]


def measure_in_turn(books: list[Probes], rounds: int) -> tuple[Samples, Samples]:
    """Each operation timed on the empty book and on the grown one in turn, `rounds` times,
    the first book of a pair alternating, after one warming read of each book."""
    samples: list[Samples] = [{name: [] for name in OPERATIONS} for _ in books]
    for book in books:
        book.cas_search()
        book.journal_page()
    for number in range(rounds):
        for name in OPERATIONS:
            for index in (0, 1) if number % 2 == 0 else (1, 0):
                samples[index][name].append(books[index].sample(name))
    return samples[0], samples[1]


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
        _vacuum(box)
        return probes

    def sample(self, name: str) -> float:
        """One batch or one fill; the median of `runs` searches or pages."""
        if name == "ETNA batch":
            return self.etna_batch()
        if name == "Saxo fill":
            return self.fill()
        probe = self.cas_search if name == "CAS search" else self.journal_page
        return _median(self.args.runs, probe)

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
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        probe()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def grow(box: Container, postings: int) -> str:
    """`postings` postings, two to a journal entry (a share moved between grown accounts), one
    allocation per entry, COPYed as text from generators in chunks, each chunk committed, with
    every index of the schema in place (as in service); then VACUUMed and ANALYZEd. Returns
    what was loaded and how fast."""
    with box.uow(write=False) as uow:
        company = uow.identity.company_by_name(demo.COMPANY)
        assert company is not None
        instrument = uow.instruments.by_symbol("AAPL")
        assert instrument is not None
    engine = box.engine
    with engine.connect() as connection:
        start, first_allocation = (
            int(connection.execute(text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar_one())
            for table in ("journal_entries", "allocations")
        )
    rows = Rows(company.id, instrument.id, start, first_allocation)
    entries = postings // 2
    started = time.perf_counter()
    raw = engine.raw_connection()
    try:
        for low in range(0, entries, CHUNK):
            high = min(entries, low + CHUNK)
            with raw.cursor() as cursor:  # type: ignore[attr-defined]
                for table, columns, lines in rows.tables(low, high):
                    with cursor.copy(f'COPY "{table}" ({columns}) FROM STDIN') as copy:
                        for block in _blocks(lines):
                            copy.write(block)
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
    _vacuum(box)
    return (
        f"{entries * 2:,} postings, {entries:,} journal entries and {entries:,} allocations "
        f"COPYed in {seconds:.1f} s ({entries * 4 / seconds:,.0f} rows/s, indexes included)"
    )


def _blocks(lines: Iterator[str], size: int = 10_000) -> Iterator[str]:
    """The lines joined `size` at a time: one COPY write per block."""
    while block := "".join(itertools.islice(lines, size)):
        yield block


class Rows:
    """The grown rows of entries `low` to `high`, as COPY text lines; the 500 trade dates and
    the accounts are formatted once."""

    def __init__(self, company_id: int, instrument_id: int, start: int, first: int) -> None:
        self.company, self.instrument = company_id, instrument_id
        self.start, self.first = start, first
        days = [date(2025, 1, 1) + timedelta(days=n) for n in range(500)]
        self.days = [(str(d), str(d + timedelta(days=1))) for d in days]
        self.accounts = [f"GROWN-{n:05d}" for n in range(GROWN_ACCOUNTS)]

    def tables(self, low: int, high: int) -> Iterator[tuple[str, str, Iterator[str]]]:
        yield "journal_entries", ENTRY_COLUMNS, self.entries(low, high)
        yield "postings", POSTING_COLUMNS, self.postings(low, high)
        yield "allocations", ALLOCATION_COLUMNS, self.allocations(low, high)

    def account(self, n: int) -> str:
        return JOURNAL_ACCOUNT if n % 1000 == 0 else self.accounts[n % GROWN_ACCOUNTS]

    def entries(self, low: int, high: int) -> Iterator[str]:
        for n in range(low, high):
            day = self.days[n % 500][0]
            yield (
                f"{self.start + 1 + n}\t{self.company}\tallocation\tgrown\t{day}\t"
                f"{day} 15:00:00+00\tbench\tetna\n"
            )

    def postings(self, low: int, high: int) -> Iterator[str]:
        """A balanced entry: one share from one grown account to another."""
        for n in range(low, high):
            entry, source = self.start + 1 + n, self.accounts[(n + 1) % GROWN_ACCOUNTS]
            yield f"{entry}\t0\t{self.account(n)}\tsecurity\t{self.instrument}\t1\t100.00\n"
            yield f"{entry}\t1\t{source}\tsecurity\t{self.instrument}\t-1\t100.00\n"

    def allocations(self, low: int, high: int) -> Iterator[str]:
        for n in range(low, high):
            day, settled = self.days[n % 500]
            yield (
                f"{self.first + 1 + n}\t{self.company}\t{self.start + 1 + n}\tetna\t{day}\t"
                f"{self.account(n)}\tBENCH-AVG\t{self.instrument}\tBuy\tBuy\t1\t100.00\t"
                f"100.00\t0\t0\t0\t100.00\tgrown\t{day} 15:00:00+00\tbench\tbooked\t"
                f"{settled}\tf\n"
            )


ENTRY_COLUMNS = (
    "id, company_id, entry_type, description, trade_date, created_at, created_by, dialect"
)
POSTING_COLUMNS = "entry_id, line, account_id, kind, asset, amount, price"
ALLOCATION_COLUMNS = (
    "id, company_id, entry_id, dialect, trade_date, account_id, source_account_id, "
    "instrument_id, side, action, quantity, price, trade_value, commission, tax, other_fees, "
    "net_amount, comment, created_at, created_by, status, settlement_date, late"
)


def _vacuum(box: Container) -> None:
    with box.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM (ANALYZE)"))


def report(empty: Samples, grown: Samples, postings: int) -> None:
    """Medians of each book, their ratio, and the lowest and highest ratio of one round."""
    print(
        f"{'operation':14} {'empty book':>12} {f'{postings:,} postings':>18} {'ratio':>7}"
        f"  {'rounds':>11}"
    )
    for name in OPERATIONS:
        before, after = statistics.median(empty[name]), statistics.median(grown[name])
        rounds = sorted(g / e for e, g in zip(empty[name], grown[name], strict=True))
        unit, scale = ("s", 1) if before >= 1 else ("ms", 1000)
        verdict = "within" if after <= TARGET * before else "OUTSIDE"
        print(
            f"{name:14} {before * scale:>10.1f} {unit} {after * scale:>16.1f} {unit} "
            f"{after / before:>6.2f}x  {rounds[0]:.2f}-{rounds[-1]:.2f}x  "
            f"{verdict} the {TARGET}x target"
        )


if __name__ == "__main__":
    main()
