"""One booking path: a Saxo fill reported through `POST /api/v1/blocks/{id}/fills` locks its
accounts once and writes its balances once (both databases), and the fill is allocated by the
listeners the application is built with, whatever was imported before (decision 0035)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event

from allotment.bootstrap import Container
from allotment.services.journal import ledger
from tests.conftest import SECRET

OWNER = "LZTc7DdejXODf-WSl2aCyQ=="
BALANCE_LOCK = re.compile(r"\bFOR\s+(NO\s+KEY\s+)?UPDATE\b", re.IGNORECASE)
BALANCE_READ = re.compile(r"^\s*SELECT\b.*\bFROM\s+balances\b", re.IGNORECASE | re.DOTALL)
BALANCE_WRITE = re.compile(
    r"^\s*(INSERT\s+INTO\s+\"?balances\"?|UPDATE\s+balances\b|COPY\s+\"?balance_)",
    re.IGNORECASE,
)


@contextmanager
def statements_of(engine: Engine) -> Iterator[list[str]]:
    """Every SQL statement the database is sent while the block runs, however it is sent
    (through SQLAlchemy or the driver's own cursors, COPY included)."""
    seen: list[str] = []
    if engine.dialect.name == "sqlite":
        # A connection per unit of work (NullPool): each one traces what SQLite runs.
        def trace(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.set_trace_callback(seen.append)

        event.listen(engine, "connect", trace)
        try:
            yield seen
        finally:
            event.remove(engine, "connect", trace)
        return
    import psycopg

    patch = pytest.MonkeyPatch()
    for name in ("execute", "executemany", "copy"):
        original: Callable[..., Any] = getattr(psycopg.Cursor, name)

        def recording(
            cursor: Any, query: Any, *args: Any, _original: Callable[..., Any] = original, **kw: Any
        ) -> Any:
            seen.append(query if isinstance(query, str) else str(query))
            return _original(cursor, query, *args, **kw)

        patch.setattr(psycopg.Cursor, name, recording)
    try:
        yield seen
    finally:
        patch.undo()


def place_order(client: TestClient, headers: dict[str, str], amount: int) -> str:
    placed = client.post(
        "/trade/v2/orders",
        json={
            "AccountKey": OWNER,
            "Uic": 4361,
            "AssetType": "CfdOnStock",
            "BuySell": "Buy",
            "Amount": amount,
            "OrderType": "Market",
            "AllocationKeyId": "227",
            "ManualOrder": True,
            "OrderDuration": {"DurationType": "DayOrder"},
        },
        headers=headers,
    )
    assert placed.status_code == 200, placed.text
    return str(placed.json()["OrderId"])


@pytest.mark.parametrize("fills", [1, 2])
def test_a_saxo_fill_locks_its_balances_once_and_writes_them_once(
    client: TestClient, demo_headers: dict[str, str], demo_container: Container, fills: int
) -> None:
    """Each fill (the first one, which also attaches nothing new, and a later one that moves
    every holder to the new average price) is one lock of the accounts, one read of their
    balances and one write of the balances, from the request to the commit."""
    order_id = place_order(client, demo_headers, 1000)
    prices = ["10.00", "10.10"]
    for number in range(fills):
        with statements_of(demo_container.engine) as seen:
            response = client.post(
                f"/api/v1/blocks/{order_id}/fills",
                json={"quantity": "500", "price": prices[number]},
                headers=demo_headers,
            )
        assert response.status_code == 201, response.text
    locks = [s for s in seen if BALANCE_LOCK.search(s) and "accounts" in s]
    reads = [s for s in seen if BALANCE_READ.search(s)]
    writes = [s for s in seen if BALANCE_WRITE.search(s)]
    if demo_container.engine.dialect.name == "postgresql":
        assert len(locks) == 1, locks
    else:  # the write transaction holds the database: the lock is the one reading under it
        assert locks == []
    assert len(reads) == 1, reads
    assert len(writes) == 1, writes
    block = client.get(f"/api/v1/blocks/{order_id}", headers=demo_headers).json()
    rows = block["details"]["saxo"]["participants"]
    wanted = ["50", "450"] if fills == 1 else ["100", "900"]
    assert [r["allocated_quantity"] for r in rows] == wanted
    with demo_container.uow(write=False) as uow:
        assert ledger.check_ledger(uow) == []
        assert ledger.check_references(uow) == []


SCRIPT = """
import json, sys
from fastapi.testclient import TestClient
from allotment.entrypoints.http.app import create_app
from allotment.settings import Settings

settings = Settings(
    database_url=sys.argv[1], secret_key=sys.argv[2], var_dir=sys.argv[3],
    fast_password_hashing=True,
)
with TestClient(create_app(settings)) as client:
    token = client.post(
        "/api/v1/auth/token", json={"username": "demo", "password": "demo"}
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    created = client.post(
        "/api/v1/blocks",
        json={"account_id": "SX-AVG", "symbol": sys.argv[4], "side": "Buy",
              "quantity": "1000", "allocation_key_id": "227"},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    block_id = created.json()["id"]
    filled = client.post(
        f"/api/v1/blocks/{block_id}/fills", json={"quantity": "1000", "price": "10.00"},
        headers=headers,
    )
    assert filled.status_code == 201, filled.text
    block = client.get(f"/api/v1/blocks/{block_id}", headers=headers).json()
print(json.dumps(block))
"""


def test_a_fresh_process_allocates_a_fill_with_the_listeners_the_app_is_built_with(
    demo_container: Container, database_url: str, tmp_path: Path
) -> None:
    """The application factory, imported first in a new interpreter (no dialect module
    imported before it), allocates a native block's fill by its allocation key."""
    with demo_container.uow(write=False) as uow:
        key_owner = uow.accounts.account_by_key(OWNER)
        assert key_owner is not None
        instrument = next(i for i in uow.instruments.list() if i.uic == 4361)
    script = SCRIPT.replace("SX-AVG", key_owner.id)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent(script),
            database_url,
            SECRET,
            str(tmp_path / "var"),
            instrument.symbol,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    block = json.loads(done.stdout.strip().splitlines()[-1])
    assert block["unallocated_quantity"] == "0"
    rows = block["details"]["saxo"]["participants"]
    assert [(r["target_quantity"], r["allocated_quantity"]) for r in rows] == [
        ("100", "100"),
        ("900", "900"),
    ]
