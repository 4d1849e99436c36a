"""Benchmark: allocation instructions (35=J) of 10 accounts each through one FIX session to a
real `allotment fix serve` process, answered 35=P and one 35=AS per account. Prints
instructions and allocations per second, and p50/p99 from a 35=J sent to its last 35=AS; then
checks the ledger (every balance recomputed from the journal) and that the block holds every
allocation once.

    python bench/fix_alloc.py [--instructions 2000] [--accounts 10] [--window 10]

At most `--window` instructions are outstanding at once (an OMS streaming a day's blocks).
On SQLite, and on PostgreSQL when ALLOTMENT_BENCH_POSTGRES_URL (or ALLOTMENT_TEST_POSTGRES_URL)
names a server where the bench may create and drop a database of its own.
"""

from __future__ import annotations

import argparse
import os
import queue
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import quickfix as fix
import quickfix44 as fix44
from copy_floor import postgres_database

from allotment.adapters.fix.engine import dictionary_path
from allotment.bootstrap import build, migrate
from allotment.domain.accounts import AccountRole, AccountType, Client
from allotment.domain.identity import ALL_SCOPES, Principal, PrincipalKind
from allotment.services import blocks, demo, registry
from allotment.services.context import Context
from allotment.services.journal import ledger
from allotment.settings import Settings

SECRET = "bench-secret-key-0123456789-abcdefghijklmnop"
SESSION = fix.SessionID("FIX.4.4", "DEMO-OMS", "ALLOTMENT")
BLOCK_REFERENCE = "BENCH-FIX"
PRICE = Decimal("10.00")


def prepare(settings: Settings, instructions: int, accounts: int) -> None:
    """The demo, `accounts` funded cash accounts and a filled AAPL buy block big enough."""
    box = build(settings)
    migrate(box)
    now = box.clock.now()
    with box.uow() as uow:
        demo.load(uow, box.hasher, now)
        company = uow.identity.company_by_name(demo.COMPANY)
        assert company is not None
        ctx = Context(Principal(company.id, "bench", PrincipalKind.USER, ALL_SCOPES, None), "", now)
        for number in range(accounts):
            client_id = 900_000 + number
            uow.accounts.add_client(
                Client(client_id, company.id, f"FIX {number}", f"fx{number}"), now
            )
            registry.open_account(
                uow, ctx, account_id=f"FX-{number}", client_id=client_id,
                account_type=AccountType.CASH, role=AccountRole.CLIENT, currency="USD",
            )  # fmt: skip
            ledger.move_cash(uow, ctx, f"FX-{number}", Decimal(10_000_000), deposit=True)
        instrument = uow.instruments.by_symbol("AAPL")
        assert instrument is not None
        total = Decimal(instructions * accounts)
        blocks.create_block(
            uow, ctx, account_id="6687", instrument=instrument, side="Buy", quantity=total,
            fills=[blocks.FillInput(total, PRICE)], master_reference=BLOCK_REFERENCE,
            listeners=box.fill_listeners,
        )  # fmt: skip
        uow.commit()
    box.engine.dispose()


class Oms(fix.Application):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.logged_on = False
        self.inbox: queue.Queue[tuple[float, str, str]] = queue.Queue()

    def onCreate(self, session_id: Any) -> None:
        return None

    def onLogon(self, session_id: Any) -> None:
        self.logged_on = True

    def onLogout(self, session_id: Any) -> None:
        self.logged_on = False

    def toAdmin(self, message: Any, session_id: Any) -> None:
        if message.getHeader().getField(35) == "A":
            message.setField(553, "demo")
            message.setField(554, "demo")

    def fromAdmin(self, message: Any, session_id: Any) -> None:
        return None

    def toApp(self, message: Any, session_id: Any) -> None:
        return None

    def fromApp(self, message: Any, session_id: Any) -> None:
        status = message.getField(87) if message.isSetField(87) else ""
        kind = message.getHeader().getField(35)
        self.inbox.put((time.perf_counter(), kind, f"{message.getField(70)}|{status}"))


def instruction(alloc_id: str, accounts: int) -> Any:
    message = fix44.AllocationInstruction()
    for tag, value in ((70, alloc_id), (71, "0"), (626, "1"), (857, "1")):
        message.setField(tag, value)
    order = fix44.AllocationInstruction.NoOrders()
    order.setField(11, BLOCK_REFERENCE)
    message.addGroup(order)
    for tag, value in ((54, "1"), (55, "AAPL"), (53, str(accounts)), (6, str(PRICE))):
        message.setField(tag, value)
    message.setField(75, time.strftime("%Y%m%d"))
    for number in range(accounts):
        line = fix44.AllocationInstruction.NoAllocs()
        line.setField(79, f"FX-{number}")
        line.setField(80, "1")
        message.addGroup(line)
    return message


def initiator(app: Oms, port: int, folder: Path) -> Any:
    settings = fix.SessionSettings()
    defaults = fix.Dictionary()
    for key, value in (
        ("ConnectionType", "initiator"), ("SocketConnectHost", "127.0.0.1"),
        ("FileStorePath", str(folder / "oms-store")), ("FileLogPath", str(folder / "oms-log")),
        ("StartTime", "00:00:00"), ("EndTime", "00:00:00"), ("UseDataDictionary", "Y"),
        ("DataDictionary", str(dictionary_path())),
    ):  # fmt: skip
        defaults.setString(key, value)
    defaults.setInt("SocketConnectPort", port)
    defaults.setInt("HeartBtInt", 30)
    settings.set(defaults)
    settings.set(SESSION, fix.Dictionary())
    store, log = fix.FileStoreFactory(settings), fix.FileLogFactory(settings)
    return fix.SocketInitiator(app, store, settings, log)


def run(app: Oms, engine: Any, instructions: int, accounts: int, window: int) -> list[float]:
    """Each instruction's seconds from 35=J sent to its last 35=AS received."""
    session = engine.getSession(SESSION)
    sent: dict[str, float] = {}
    reports: dict[str, int] = {}
    latencies: list[float] = []
    next_id = 0
    while len(latencies) < instructions:
        while next_id < instructions and len(sent) - len(latencies) < window:
            alloc_id = f"B-{next_id}"
            sent[alloc_id] = time.perf_counter()
            session.send(instruction(alloc_id, accounts))
            next_id += 1
        at, kind, text = app.inbox.get(timeout=60)
        alloc_id, status = text.split("|")
        if kind == "P" and status not in ("0", "3"):
            raise SystemExit(f"{alloc_id} was refused: 87={status}")
        if kind == "AS":
            reports[alloc_id] = reports.get(alloc_id, 0) + 1
            if reports[alloc_id] == accounts:
                latencies.append(at - sent[alloc_id])
    return latencies


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instructions", type=int, default=2000)
    parser.add_argument("--accounts", type=int, default=10)
    parser.add_argument("--window", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fix-bench-") as name:
        folder = Path(name)
        report(args, "sqlite", *measure(args, f"sqlite:///{folder / 'bench.db'}", folder / "lite"))
        admin_url = os.environ.get("ALLOTMENT_BENCH_POSTGRES_URL") or os.environ.get(
            "ALLOTMENT_TEST_POSTGRES_URL"
        )
        if admin_url:
            with postgres_database(admin_url) as url:
                report(args, "postgresql", *measure(args, url, folder / "pg"))
        else:
            print("postgresql: skipped (set ALLOTMENT_BENCH_POSTGRES_URL)")


def measure(args: argparse.Namespace, url: str, folder: Path) -> tuple[float, list[float]]:
    """The seconds of the whole run and each instruction's latency, on the database `url`."""
    folder.mkdir(parents=True)
    env = {
        "ALLOTMENT_DATABASE_URL": url,
        "ALLOTMENT_SECRET_KEY": SECRET,
        "ALLOTMENT_VAR_DIR": str(folder / "var"),
        "ALLOTMENT_LOG_LEVEL": "WARNING",
        "ALLOTMENT_FAST_PASSWORD_HASHING": "true",
    }
    settings = Settings(
        database_url=url,
        secret_key=SECRET,
        var_dir=folder / "var",
        fast_password_hashing=True,
        log_level="WARNING",
    )
    prepare(settings, args.instructions, args.accounts)
    port = free_port()
    command = [str(Path(sys.executable).parent / "allotment"), "fix", "serve", "--port", str(port)]
    server = subprocess.Popen(command, env={**os.environ, **env})
    try:
        app = Oms()
        engine = initiator(app, port, folder)
        engine.start()
        deadline = time.monotonic() + 60
        while not app.logged_on and time.monotonic() < deadline:
            time.sleep(0.05)
        started = time.perf_counter()
        latencies = run(app, engine, args.instructions, args.accounts, args.window)
        seconds = time.perf_counter() - started
        engine.stop()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    conserved(settings, args.instructions * args.accounts)
    return seconds, latencies


def conserved(settings: Settings, allocations: int) -> None:
    """The ledger check passes (every balance recomputed from the journal) and the block holds
    exactly what the instructions allocated."""
    box = build(settings)
    with box.uow(write=False) as uow:
        mismatches = ledger.check_ledger(uow)
        company = uow.identity.company_by_name(demo.COMPANY)
        assert company is not None
        block = uow.blocks.by_master_reference(company.id, BLOCK_REFERENCE)
        assert block is not None
        booked = len(
            uow.allocations.list(company.id, None, block_id=block.id, limit=allocations + 1)
        )
    box.engine.dispose()
    if mismatches:
        raise SystemExit(f"ledger check failed: {mismatches[:3]}")
    if block.allocated_quantity != allocations or booked != allocations:
        raise SystemExit(
            f"{booked} allocations of {block.allocated_quantity} booked, not {allocations}"
        )


def report(args: argparse.Namespace, backend: str, seconds: float, latencies: list[float]) -> None:
    cuts = statistics.quantiles(latencies, n=100)
    print(
        f"FIX on {backend}: {args.instructions} instructions of {args.accounts} accounts through "
        f"one session (window {args.window}) in {seconds:.2f} s"
    )
    print(f"  {args.instructions / seconds:,.0f} instructions/s")
    print(f"  {args.instructions * args.accounts / seconds:,.0f} allocations/s")
    print(f"  35=J sent to last 35=AS: p50 {cuts[49] * 1000:.1f} ms, p99 {cuts[98] * 1000:.1f} ms")
    print("  ledger check passed; the block holds every allocation once")


if __name__ == "__main__":
    main()
