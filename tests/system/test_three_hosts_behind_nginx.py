"""In production, in miniature: three `allotment serve` processes on different ports behind
nginx, on one private PostgreSQL. A bounded load of ETNA batches and single items racing for the
same shares and cash, and native reads, runs while one app process is killed (SIGKILL) and
restarted and PostgreSQL is restarted once. Afterwards: no 5xx but a 503 while the database was
away (or a 502 for a request in flight in the killed process), every retried write booked once,
no refused item partly booked, securities and cash conserved, and `allotment ledger check`
passes."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from allotment.adapters.database.engine import make_engine
from allotment.bootstrap import build, migrate
from allotment.services import demo
from allotment.settings import Settings
from tests.conftest import SECRET
from tests.system import cluster, load

LOAD_SECONDS = 45
WORKERS = 8
DATABASE_RESTART_AT = 8.0
KILL_AT = 20.0
GRACE_SECONDS = 30


@pytest.fixture
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    reason = cluster.missing()
    if reason:
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("production")
    # Its own directory under the system's temporary one: the postgres user cannot enter the
    # test runner's (private) temporary directories.
    database = cluster.PrivatePostgres(Path(tempfile.mkdtemp(prefix="allotment-system-pg-")))
    database.init()
    apps: list[cluster.App] = []
    proxy = None
    try:
        box = build(
            Settings(
                database_url=database.url,
                secret_key=SECRET,
                var_dir=root / "var",
                fast_password_hashing=True,
            )
        )
        migrate(box)
        with box.uow() as uow:
            demo.load(uow, box.hasher, box.clock.now())
            uow.commit()
        box.engine.dispose()
        env = {
            **os.environ,
            "ALLOTMENT_DATABASE_URL": database.url,
            "ALLOTMENT_SECRET_KEY": SECRET,
            "ALLOTMENT_FAST_PASSWORD_HASHING": "true",
            "ALLOTMENT_LOG_LEVEL": "WARNING",
            "ALLOTMENT_IDEMPOTENCY_LEASE_SECONDS": "5",
        }
        for number in range(3):
            app = cluster.App(
                cluster.free_port(),
                {**env, "ALLOTMENT_VAR_DIR": str(root / f"v{number}")},
                root / f"app-{number}.log",
            )
            app.start()
            apps.append(app)
        for app in apps:
            app.wait_healthy()
        proxy = cluster.Nginx(root / "nginx", [app.port for app in apps])
        proxy.start()
        yield {"database": database, "apps": apps, "proxy": proxy, "env": env}
    finally:
        if proxy is not None:
            proxy.stop()
        for app in apps:
            app.stop()
        database.stop()
        shutil.rmtree(database.root, ignore_errors=True)


def _totals(url: str) -> dict[tuple[str, str], Decimal]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT kind, asset, quantity FROM balances")).all()
    finally:
        engine.dispose()
    totals: dict[tuple[str, str], Decimal] = {}
    for kind, asset, quantity in rows:
        totals[(kind, asset)] = totals.get((kind, asset), Decimal(0)) + Decimal(quantity)
    return totals


def _demo_accounts(url: str) -> dict[str, Decimal]:
    """The two demo accounts' AAPL and USD balances: what the load moves between them."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT b.account_id, b.kind, i.symbol, b.asset, b.quantity FROM balances b "
                    "LEFT JOIN instruments i ON b.kind = 'security' "
                    "AND CAST(i.id AS TEXT) = b.asset "
                    "WHERE b.account_id IN ('6687', '6688')"
                )
            ).all()
    finally:
        engine.dispose()
    return {
        f"{account} {symbol or asset}": Decimal(quantity)
        for account, _kind, symbol, asset, quantity in rows
    }


def _bookings_by_comment(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT comment, count(*) FROM allocations WHERE comment LIKE 'sys-%' "
                    "GROUP BY comment"
                )
            ).all()
    finally:
        engine.dispose()
    return {str(comment): int(count) for comment, count in rows}


def _chaos(production: dict[str, object], started: float, events: dict[str, float]) -> None:
    """Restart PostgreSQL once; later kill one app process with SIGKILL and start it again."""
    apps: list[cluster.App] = production["apps"]  # type: ignore[assignment]
    database: cluster.PrivatePostgres = production["database"]  # type: ignore[assignment]
    time.sleep(max(0.0, started + DATABASE_RESTART_AT - time.monotonic()))
    events["database_stopped"] = time.monotonic() - started
    database.stop()
    time.sleep(1.0)
    database.start()
    events["database_started"] = time.monotonic() - started
    time.sleep(max(0.0, started + KILL_AT - time.monotonic()))
    events["killed"] = time.monotonic() - started
    apps[1].kill()
    apps[1].start()
    events["app_recovered_after"] = apps[1].wait_healthy(seconds=90)


def _tokens(base: str) -> tuple[dict[str, str], dict[str, str]]:
    etna = httpx.post(
        f"{base}/token",
        headers={"Username": "demo", "Password": "demo", "Et-App-Key": "demo-app-key"},
        timeout=30,
    )
    native = httpx.post(
        f"{base}/api/v1/auth/token", json={"username": "demo", "password": "demo"}, timeout=30
    )
    assert etna.status_code == 200 and native.status_code == 200, (etna.text, native.text)
    return (
        {
            "Et-App-Key": "demo-app-key",
            "Authorization": f"Bearer {etna.json()['Token']}",
            "Content-Type": "application/json",
        },
        {"Authorization": f"Bearer {native.json()['access_token']}"},
    )


@pytest.mark.slow
def test_three_hosts_behind_nginx_survive_a_killed_process_and_a_database_restart(
    production: dict[str, object],
) -> None:
    database: cluster.PrivatePostgres = production["database"]  # type: ignore[assignment]
    proxy: cluster.Nginx = production["proxy"]  # type: ignore[assignment]
    base = f"http://127.0.0.1:{proxy.port}"
    etna, native = _tokens(base)
    before = _totals(database.url)
    accounts_before = _demo_accounts(database.url)
    events: dict[str, float] = {}
    started = time.monotonic()
    chaos = threading.Thread(target=_chaos, args=(production, started, events), daemon=True)
    chaos.start()

    outcome = asyncio.run(load.run(base, etna, native, LOAD_SECONDS, WORKERS, GRACE_SECONDS))
    chaos.join(timeout=60)

    booked = _bookings_by_comment(database.url)
    after = _totals(database.url)
    accounts_after = _demo_accounts(database.url)
    check = subprocess.run(
        [str(cluster.ALLOTMENT), "ledger", "check"],
        env=production["env"],  # type: ignore[arg-type]
        capture_output=True,
        text=True,
        timeout=120,
    )
    first_write_after_restart = next(
        (
            at
            for at, status in outcome.timeline
            if status == 200 and at > events.get("database_started", float("inf"))
        ),
        None,
    )
    recovered = None if first_write_after_restart is None else round(first_write_after_restart, 1)
    print(
        "\nsystem test report:"
        f"\n  requests by status: {dict(sorted(outcome.statuses.items()))}"
        f"\n  retries: {outcome.retries}; native reads: {outcome.reads}"
        f"\n  items booked: {len(outcome.booked)}, refused: {len(outcome.refused)}, "
        f"answer lost after booking: {len(outcome.answer_lost)}"
        f"\n  conservation: company totals before {before}, after {after}; "
        f"moved between the demo accounts {accounts_before} -> {accounts_after}"
        f"\n  killed app at {events.get('killed', 0):.1f} s, healthy again after "
        f"{events.get('app_recovered_after', 0):.1f} s"
        f"\n  database stopped at {events.get('database_stopped', 0):.1f} s, started at "
        f"{events.get('database_started', 0):.1f} s, first booking after it at "
        f"{recovered} s"
        f"\n  ledger check: {(check.stdout.strip() or check.stderr.strip()).splitlines()[-1:]}"
    )

    assert "killed" in events and "database_started" in events, events
    assert not outcome.unfinished, f"{len(outcome.unfinished)} writes never got an answer"
    server_errors = {s: n for s, n in outcome.statuses.items() if s >= 500 and s not in (502, 503)}
    assert not server_errors, server_errors
    for at, status in outcome.timeline:
        if status == 503:
            assert events["database_stopped"] - 1 <= at <= events["database_started"] + 15, at
        if status == 502:
            assert events["killed"] - 1 <= at <= events["killed"] + 15, at
    assert outcome.booked, "nothing was booked"
    assert outcome.refused, "no request raced past the cash or shares"
    for comment in outcome.booked:
        assert booked.get(comment) == 1, (comment, booked.get(comment))
    for comment in outcome.refused:
        assert comment not in booked, comment
    for comment in outcome.answer_lost:
        assert booked.get(comment, 0) <= 1, comment
    assert set(booked) <= outcome.booked | outcome.answer_lost
    assert after == before  # every entry balanced: the company's totals are unchanged
    moved = sum(outcome.quantities[comment] for comment in booked)
    cost = Decimal("135.89") * moved + Decimal("1.36") * len(booked)
    delta = {
        key: accounts_after[key] - accounts_before.get(key, Decimal(0)) for key in accounts_after
    }
    assert delta["6687 AAPL"] == -moved and delta["6688 AAPL"] == moved, delta
    assert delta["6688 USD"] == -cost, (delta, cost)
    assert delta["6687 USD"] == Decimal("135.89") * moved, delta
    assert check.returncode == 0, check.stdout + check.stderr
