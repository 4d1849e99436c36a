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
from pathlib import Path

import pytest

from allotment.bootstrap import build, migrate
from allotment.services import demo
from allotment.settings import Settings
from tests.conftest import SECRET
from tests.system import cluster, load, scenario
from tests.system.report import Checks

LOAD_SECONDS = 60
WORKERS = 10
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
        scenario.second_company(box)
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
            app.wait_healthy(seconds=180)
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
    events["app_recovered_after"] = apps[1].wait_healthy(seconds=180)


def _server_errors(outcome: load.Outcome, events: dict[str, float]) -> dict[int, int]:
    """5xx answers other than a 503 while the database was away, or a 502 while the killed
    process was down (a request in flight in it: nginx does not resend a POST)."""
    back = events["killed"] + events.get("app_recovered_after", 0.0) + 5
    for at, status in outcome.timeline:
        if status == 503:
            assert events["database_stopped"] - 1 <= at <= events["database_started"] + 15, at
        if status == 502:
            assert events["killed"] - 1 <= at <= back, (at, events)
    errors: dict[int, int] = {}
    for (_, status), count in outcome.statuses.items():
        if status >= 500 and status not in (502, 503):
            errors[status] = errors.get(status, 0) + count
    return errors


def _proxy_errors(proxy: cluster.Nginx, last: int = 5) -> list[str]:
    """nginx's own account of its failed upstream requests (why a 502 was a 502)."""
    log = proxy.root / "error.log"
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    return [line for line in lines if "upstream" in line][-last:]


def _report(
    outcome: load.Outcome,
    events: dict[str, float],
    checks: Checks,
    check: str,
    proxy_errors: list[str],
) -> None:
    by_dialect: dict[str, dict[int, int]] = {}
    for (dialect, status), count in sorted(outcome.statuses.items()):
        by_dialect.setdefault(dialect, {})[status] = count
    restarted = events.get("database_started", float("inf"))
    first_booking = next(
        (at for at, status in outcome.timeline if status in (200, 201) and at > restarted), None
    )
    recovered = "never" if first_booking is None else f"{first_booking - restarted:.1f} s"
    print(
        "\nsystem test report:"
        f"\n  requests by dialect and status: {by_dialect}"
        f"\n  retries: {outcome.retries}; reads answered: {outcome.reads}"
        + "".join(f"\n  {line}" for line in checks.lines)
        + f"\n  killed an app at {events.get('killed', 0):.1f} s; healthy again after "
        f"{events.get('app_recovered_after', 0):.1f} s"
        f"\n  database stopped at {events.get('database_stopped', 0):.1f} s, started at "
        f"{events.get('database_started', 0):.1f} s; first write answered after it: {recovered}"
        f"\n  ledger check: {check}" + "".join(f"\n  nginx: {line}" for line in proxy_errors)
    )


@pytest.mark.slow
def test_three_hosts_behind_nginx_survive_a_killed_process_and_a_database_restart(
    production: dict[str, object],
) -> None:
    database: cluster.PrivatePostgres = production["database"]  # type: ignore[assignment]
    proxy: cluster.Nginx = production["proxy"]  # type: ignore[assignment]
    base = f"http://127.0.0.1:{proxy.port}"
    plan = scenario.plan(base)
    before = scenario.totals_by_company(database.url)
    holdings = scenario.holdings(database.url, list(Checks.ACCOUNTS))
    events: dict[str, float] = {}
    started = time.monotonic()
    chaos = threading.Thread(target=_chaos, args=(production, started, events), daemon=True)
    chaos.start()

    outcome = asyncio.run(load.run(base, plan, LOAD_SECONDS, WORKERS, GRACE_SECONDS))
    chaos.join(timeout=200)

    check = subprocess.run(
        [str(cluster.ALLOTMENT), "ledger", "check"],
        env=production["env"],  # type: ignore[arg-type]
        capture_output=True,
        text=True,
        timeout=300,
    )
    checks = Checks(database.url, plan, outcome, before, holdings)
    try:
        assert "killed" in events and "database_started" in events, events
        assert not outcome.unfinished(), f"{outcome.unfinished()} writes never got an answer"
        assert not _server_errors(outcome, events)
        checks.etna()
        checks.saxo_fills()
        checks.blocktrade()
        checks.cas()
        checks.conservation()
    finally:
        last = (check.stdout.strip() or check.stderr.strip()).splitlines()[-1:]
        _report(outcome, events, checks, " ".join(last), _proxy_errors(proxy))
    kinds = (outcome.etna, outcome.fills, outcome.blocktrade, outcome.cas)
    assert all(kind.booked for kind in kinds), "a kind of write never booked"
    assert any(kind.refused for kind in kinds), "no request raced past the shares or cash"
    assert check.returncode == 0, check.stdout + check.stderr
