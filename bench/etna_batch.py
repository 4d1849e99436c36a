"""Benchmark: a 10,000-item ETNA batch (`POST /v1.0/allocations/simple`) through HTTP to a real
uvicorn process, against the same items booked one at a time through the SQLAlchemy ORM (one
transaction per item), on SQLite and on PostgreSQL. Prints items per second and the ratio.

    python bench/etna_batch.py [--items 10000]

PostgreSQL runs when ALLOTMENT_BENCH_POSTGRES_URL (or ALLOTMENT_TEST_POSTGRES_URL) names a
server where the bench may create and drop a database of its own.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, registry

from allotment.adapters.database import tables as t
from allotment.adapters.database.bulk import insert_rows
from allotment.adapters.database.migrate import upgrade
from allotment.bootstrap import Container, build
from allotment.domain.accounts import AccountRole
from allotment.domain.identity import ALL_SCOPES, Principal, PrincipalKind
from allotment.domain.ledger import AssetKind, JournalEntry, Posting
from allotment.services import demo
from allotment.services.context import Context
from allotment.services.journal import ledger
from allotment.services.registry import house_account_id
from allotment.settings import Settings

SECRET = "bench-secret-key-0123456789-abcdefghijklmnop"
SOURCE = "BENCH-AVG"
CASH_EACH = Decimal("1000000.00")
CENT = Decimal("0.01")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    args = parser.parse_args()
    figures = []
    with tempfile.TemporaryDirectory(prefix="etna-bench-") as folder:
        figures.append(run("sqlite", f"sqlite:///{Path(folder) / 'bench.db'}", args.items, folder))
        admin_url = os.environ.get("ALLOTMENT_BENCH_POSTGRES_URL") or os.environ.get(
            "ALLOTMENT_TEST_POSTGRES_URL"
        )
        if admin_url:
            with postgres_database(admin_url) as url:
                figures.append(run("postgresql", url, args.items, folder))
        else:
            print("postgresql: skipped (set ALLOTMENT_BENCH_POSTGRES_URL)")
    print()
    print(f"ETNA batch of {args.items} items, end to end through HTTP vs one at a time (ORM):")
    for figure in figures:
        print(figure.line())


@dataclass
class Figure:
    backend: str
    items: int
    http_seconds: float
    orm_seconds: float

    def line(self) -> str:
        http_rate, orm_rate = self.items / self.http_seconds, self.items / self.orm_seconds
        return (
            f"  {self.backend:<10} HTTP batch {http_rate:8,.0f} items/s ({self.http_seconds:.2f} s)"
            f" | ORM one at a time {orm_rate:6,.0f} items/s ({self.orm_seconds:.1f} s)"
            f" | ratio {http_rate / orm_rate:5.1f}x"
        )


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    admin = create_engine(
        make_url(admin_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    name = f"allotment_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run(backend: str, url: str, count: int, folder: str) -> Figure:
    settings = Settings(
        database_url=url, secret_key=SECRET, var_dir=Path(folder), fast_password_hashing=True
    )
    box = build(settings)
    upgrade(box.engine)
    items = prepare(box, count)
    http_seconds = post_through_http(settings, items)
    orm_seconds = book_one_at_a_time(_plain_engine(url), items)
    with box.uow(write=False) as uow:
        mismatches = ledger.check_ledger(uow)
    box.engine.dispose()
    if mismatches:
        raise SystemExit(f"{backend}: ledger check failed: {mismatches[:3]}")
    figure = Figure(backend, count, http_seconds, orm_seconds)
    print(figure.line(), "| ledger check passed")
    return figure


# Setting up: the demo company, one average account and `count` client cash accounts -----------
def prepare(box: Container, count: int) -> list[dict[str, Any]]:
    now = box.clock.now()
    with box.uow() as uow:
        demo.load(uow, box.hasher, now)
        company = uow.identity.company_by_name(demo.COMPANY)
        assert company is not None
        ctx = Context(
            Principal(company.id, "bench", PrincipalKind.USER, ALL_SCOPES, None), "bench", now
        )
        connection = uow.connection  # type: ignore[attr-defined]
        accounts = [_account(SOURCE, company.id, None, "Margin", "average", now)]
        clients = [
            {"id": 500_000 + i, "company_id": company.id, "name": f"bench {i}",
             "client_key": f"bench-{i}", "created_at": now}
            for i in range(count)
        ]  # fmt: skip
        insert_rows(connection, t.clients, clients)
        accounts += [
            _account(_client_account(i), company.id, 500_000 + i, "Cash", "client", now)
            for i in range(count)
        ]
        insert_rows(connection, t.accounts, accounts)
        instrument = uow.instruments.by_symbol("AAPL")
        assert instrument is not None
        ledger.open_position(uow, ctx, SOURCE, instrument, Decimal(100 * count), Decimal("100"))
        external = house_account_id(company.id, AccountRole.EXTERNAL)
        postings = [
            Posting(_client_account(i), AssetKind.CASH, "USD", CASH_EACH) for i in range(count)
        ]
        postings.append(Posting(external, AssetKind.CASH, "USD", -CASH_EACH * count))
        ids = sorted({p.account_id for p in postings})
        entry = JournalEntry("deposit", tuple(postings), "bench deposits")
        ledger.post_entry(uow, ctx, entry, uow.accounts.accounts_by_ids(ids), force=True)
        uow.commit()
    return [
        {
            "FromAccount": SOURCE,
            "ToAccount": _client_account(i),
            "Symbol": "AAPL",
            "Quantity": 10,
            "Price": Decimal("99.50"),
            "Commission": Decimal("1.25"),
            "Action": "Buy",
            "AccountType": "Cash",
            "Comment": f"bench allocation {i}",
            "Instructions": {},
        }
        for i in range(count)
    ]


def _client_account(index: int) -> str:
    return f"BENCH-{index:06d}"


def _account(
    account_id: str, company_id: int, client_id: int | None, kind: str, role: str, now: datetime
) -> dict[str, Any]:
    return {
        "id": account_id,
        "company_id": company_id,
        "client_id": client_id,
        "account_key": f"key-{account_id}",
        "type": kind,
        "role": role,
        "status": "active",
        "currency": "USD",
        "credit_limit": Decimal(0),
        "created_at": now,
    }


# The batch through HTTP --------------------------------------------------------------------------
def post_through_http(settings: Settings, items: list[dict[str, Any]]) -> float:
    port = _free_port()
    with _server(settings, port) as base, httpx.Client(base_url=base, timeout=600) as client:
        token = client.post(
            "/token",
            headers={"Username": "demo", "Password": "demo", "Et-App-Key": "demo-app-key"},
        ).json()["Token"]
        headers = {
            "Et-App-Key": "demo-app-key",
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
        }
        warm_up = [{**items[0], "ToAccount": "6688", "FromAccount": "6687", "Price": 135}]
        client.post("/v1.0/allocations/simple", content=_json(warm_up), headers=headers)
        body = _json(items)
        started = time.perf_counter()
        response = client.post("/v1.0/allocations/simple", content=body, headers=headers)
        answers = response.json()
        elapsed = time.perf_counter() - started
    booked = sum(1 for answer in answers if answer["IsSucceed"])
    if response.status_code != 200 or booked != len(items):
        raise SystemExit(f"the batch answered {response.status_code} with {booked} booked")
    return elapsed


def _json(value: Any) -> bytes:
    return json.dumps(value, default=lambda number: float(number)).encode()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _server(settings: Settings, port: int) -> Iterator[str]:
    env = {
        **os.environ,
        "ALLOTMENT_DATABASE_URL": settings.database_url,
        "ALLOTMENT_SECRET_KEY": SECRET,
        "ALLOTMENT_VAR_DIR": str(settings.var_dir),
        "ALLOTMENT_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "uvicorn", "allotment.entrypoints.http.asgi:app"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    process = subprocess.Popen(command, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, process)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_until_up(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("the server stopped while starting")
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("the server did not start within 60 s")


# The baseline: the same items, one at a time, through the ORM ------------------------------------
class Row:
    """A plain mapped class: the ORM sets and reads the table's columns as attributes."""

    def __init__(self, **values: Any) -> None:
        for name, value in values.items():
            setattr(self, name, value)


class AccountRow(Row):
    id: str
    company_id: int
    type: str


class InstrumentRow(Row):
    id: int
    currency: str


class BalanceRow(Row):
    quantity: Decimal
    cost_amount: Decimal


class EntryRow(Row):
    id: int


class PostingRow(Row):
    pass


class AllocationRecord(Row):
    pass


_mapper = registry()
for _class, _table in (
    (AccountRow, t.accounts),
    (InstrumentRow, t.instruments),
    (BalanceRow, t.balances),
    (EntryRow, t.journal_entries),
    (PostingRow, t.postings),
    (AllocationRecord, t.allocations),
):
    _mapper.map_imperatively(_class, _table)


def _plain_engine(url: str) -> Engine:
    """SQLAlchemy's defaults (a pooled connection reused across items), so that the baseline
    pays for its statements and commits, not for opening connections."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed)


def book_one_at_a_time(engine: Engine, items: list[dict[str, Any]]) -> float:
    """A straightforward implementation: per item, read the accounts, the instrument and the
    balances (locked), check the rules, add the entry, its postings and the allocation, commit."""
    started = time.perf_counter()
    for item in items:
        with Session(engine) as session, session.begin():
            if not _book_one(session, item, datetime.now(UTC)):
                raise SystemExit(f"the ORM baseline refused {item}")
    elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed


def _book_one(session: Session, item: dict[str, Any], now: datetime) -> bool:
    source = session.get(AccountRow, item["FromAccount"])
    target = session.get(AccountRow, item["ToAccount"])
    if source is None or target is None or target.type != item["AccountType"]:
        return False
    fee_id = house_account_id(source.company_id, AccountRole.FEE)
    symbol = t.instruments.c.symbol == item["Symbol"]
    instrument = session.scalars(select(InstrumentRow).where(symbol)).one()
    quantity, price = Decimal(item["Quantity"]), Decimal(item["Price"])
    commission = Decimal(item["Commission"])
    value = (quantity * price).quantize(CENT, rounding=ROUND_HALF_EVEN)
    asset, currency = str(instrument.id), instrument.currency
    held = _balance(session, source.id, "security", asset)
    received = _balance(session, target.id, "security", asset)
    paying = _balance(session, target.id, "cash", currency)
    paid = _balance(session, source.id, "cash", currency)
    fees = _balance(session, fee_id, "cash", currency)
    if held.quantity < quantity or price * held.quantity > held.cost_amount:
        return False  # not enough shares, or a premium over the average cost
    if paying.quantity - value - commission < 0:
        return False  # a cash account may not go below zero
    remaining = held.quantity - quantity
    held.cost_amount = (held.cost_amount * remaining / held.quantity).quantize(
        Decimal("1e-9"), rounding=ROUND_HALF_EVEN
    )
    held.quantity = remaining
    received.quantity += quantity
    received.cost_amount += quantity * price
    paying.quantity -= value + commission
    paid.quantity += value
    fees.quantity += commission
    entry = EntryRow(
        company_id=source.company_id, entry_type="trade", description="",
        trade_date=now.date(), created_at=now, created_by="bench", dialect="orm",
    )  # fmt: skip
    session.add(entry)
    session.flush()
    for line, (account_id, kind, key, amount, at) in enumerate(
        (
            (source.id, "security", asset, -quantity, price),
            (target.id, "security", asset, quantity, price),
            (target.id, "cash", currency, -value, None),
            (source.id, "cash", currency, value, None),
            (target.id, "cash", currency, -commission, None),
            (fee_id, "cash", currency, commission, None),
        )
    ):
        session.add(
            PostingRow(entry_id=entry.id, line=line, account_id=account_id, kind=kind,
                       asset=key, amount=amount, price=at)
        )  # fmt: skip
    session.add(
        AllocationRecord(
            company_id=source.company_id, entry_id=entry.id, dialect="orm",
            trade_date=now.date(), account_id=target.id, source_account_id=source.id,
            instrument_id=instrument.id, side="Buy", action=item["Action"], quantity=quantity,
            price=price, trade_value=value, commission=commission, tax=Decimal(0),
            other_fees=Decimal(0), net_amount=value + commission, comment=item["Comment"],
            status="booked", created_at=now, created_by="bench",
        )
    )  # fmt: skip
    return True


def _balance(session: Session, account_id: str, kind: str, asset: str) -> BalanceRow:
    found = session.get(BalanceRow, (account_id, kind, asset), with_for_update=True)
    if found is None:
        found = BalanceRow(
            account_id=account_id, kind=kind, asset=asset, quantity=Decimal(0),
            cost_amount=Decimal(0),
        )  # fmt: skip
        session.add(found)
    return found


if __name__ == "__main__":
    main()
