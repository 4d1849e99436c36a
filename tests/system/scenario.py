"""What the system test sets up before its load, and what it reads from the database after.

The demo company ("Demo Broker") is loaded as `allotment demo` loads it. A second company has no
command or route of its own (companies are made by operators, not by callers): it is created
with the registry service, with one user and one ETNA application key; everything else of it
(a client, an average and a client account, cash, an opening position) goes through the
native API as that user. Saxo block orders are placed through the Saxo dialect on the demo's
allocation key 227, and block-trade masters through the native API."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import text

from allotment.adapters.database.engine import make_engine
from allotment.bootstrap import Container
from allotment.domain.identity import ALL_SCOPES
from allotment.services import registry
from allotment.services.bookbuilding.demo import DEAL_ID, TRANCHE_ID, demo_id
from allotment.services.ports import AppKeyRecord, UserRecord
from tests.system.load import MASTER_PRICE, Company, Plan

SECOND = "Second Broker"
SAXO_OWNER = "LZTc7DdejXODf-WSl2aCyQ=="
SAXO_ORDERS = 3
SAXO_AMOUNT = 300
MASTERS = 3
MASTER_QUANTITY = 300


def second_company(box: Container) -> None:
    """The second company, its user `second` and its ETNA application key."""
    now = box.clock.now()
    with box.uow() as uow:
        company = registry.create_company(uow, SECOND, Decimal("0.10"), "USD", now)
        everything = frozenset(scope.value for scope in ALL_SCOPES)
        uow.identity.add_user(
            UserRecord(company.id, "second", box.hasher.hash("second"), everything, None), now
        )
        uow.identity.add_app_key(AppKeyRecord(company.id, "second-app-key", "Second app"), now)
        uow.commit()


def _ok(response: httpx.Response, status: int = 201) -> Any:
    assert response.status_code == status, (response.request.url, response.text)
    return response.json()


def _native(base: str, username: str) -> dict[str, str]:
    answer = _ok(
        httpx.post(
            f"{base}/api/v1/auth/token",
            json={"username": username, "password": username},
            timeout=60,
        ),
        200,
    )
    return {"Authorization": f"Bearer {answer['access_token']}"}


def _etna(base: str, username: str, app_key: str) -> dict[str, str]:
    answer = _ok(
        httpx.post(
            f"{base}/token",
            headers={"Username": username, "Password": username, "Et-App-Key": app_key},
            timeout=60,
        ),
        200,
    )
    return {
        "Et-App-Key": app_key,
        "Authorization": f"Bearer {answer['Token']}",
        "Content-Type": "application/json",
    }


def _second_books(base: str, headers: dict[str, str]) -> None:
    """The second company's client and accounts, its client's cash and its average account's
    AAPL, through the native API."""

    def post(path: str, body: dict[str, Any]) -> None:
        _ok(httpx.post(f"{base}{path}", json=body, headers=headers, timeout=60))

    post("/api/v1/clients", {"name": "Second Broker client", "id": 5001})
    post(
        "/api/v1/accounts",
        {"id": "B-AVG", "type": "Margin", "role": "average", "credit_limit": "1000000"},
    )
    post("/api/v1/accounts", {"id": "B-C1", "client_id": 5001, "type": "Cash"})
    post("/api/v1/ledger/deposits", {"account_id": "B-C1", "amount": "8000.00"})
    post(
        "/api/v1/ledger/opening-positions",
        {"account_id": "B-AVG", "symbol": "AAPL", "quantity": "10000", "price": "135.89"},
    )


def _saxo_orders(base: str, headers: dict[str, str]) -> list[int]:
    orders = []
    for number in range(SAXO_ORDERS):
        body = {
            "AccountKey": SAXO_OWNER,
            "Uic": 4361,
            "AssetType": "CfdOnStock",
            "BuySell": "Buy",
            "Amount": SAXO_AMOUNT,
            "OrderType": "Market",
            "AllocationKeyId": "227",
            "ExternalReference": f"system-{number}",
            "ManualOrder": True,
            "OrderDuration": {"DurationType": "DayOrder"},
        }
        answer = _ok(
            httpx.post(f"{base}/trade/v2/orders", json=body, headers=headers, timeout=60), 200
        )
        orders.append(int(answer["OrderId"]))
    return orders


def _masters(base: str, headers: dict[str, str]) -> list[tuple[int, str]]:
    """Buy masters of BHP on the demo's AUD average account, all filled at one price."""
    masters = []
    for number in range(MASTERS):
        block_id, reference = 9001 + number, f"SYSM{number}"
        body = {
            "id": block_id,
            "account_id": "AU-AVG",
            "symbol": "BHP",
            "side": "Buy",
            "quantity": str(MASTER_QUANTITY),
            "fills": [{"quantity": str(MASTER_QUANTITY), "price": str(MASTER_PRICE)}],
            "master_reference": reference,
        }
        _ok(httpx.post(f"{base}/api/v1/blocks", json=body, headers=headers, timeout=60))
        masters.append((block_id, reference))
    return masters


def _cas_token(base: str) -> dict[str, str]:
    answer = _ok(
        httpx.post(
            f"{base}/connect/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "demo-client",
                "client_secret": "demo-secret",
                "scope": "allocations-read allocations-write",
            },
            timeout=60,
        ),
        200,
    )
    return {"Authorization": f"Bearer {answer['access_token']}"}


def plan(base: str) -> Plan:
    """Everything the load needs, made through the served application."""
    demo_native = _native(base, "demo")
    second_native = _native(base, "second")
    _second_books(base, second_native)
    companies = [
        Company("A", _etna(base, "demo", "demo-app-key"), demo_native, "6687", "6688"),
        Company("B", _etna(base, "second", "second-app-key"), second_native, "B-AVG", "B-C1"),
    ]
    cas_body = {
        "dealId": DEAL_ID,
        "trancheId": TRANCHE_ID,
        "investorAccountId": demo_id("investor-alpha"),
        "indicationId": demo_id("indication-alpha"),
        "sourceRowVersion": "1",
        "allocationValue": {"type": "quantity", "data": {"amount": 1000}},
        "distributionType": "manual",
    }
    return Plan(
        companies=companies,
        saxo_orders=_saxo_orders(base, demo_native),
        masters=_masters(base, demo_native),
        basic={"Authorization": "Basic " + base64.b64encode(b"demo:demo").decode()},
        cas=_cas_token(base),
        cas_body={**cas_body, "sourceId": f"unused-{uuid.uuid4()}"},
    )


def _rows(url: str, sql: str) -> list[Any]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(text(sql)).all())
    finally:
        engine.dispose()


def totals_by_company(url: str) -> dict[str, dict[tuple[str, str], Decimal]]:
    """What each company's accounts hold, summed by kind and asset, its external account (the
    contra side of deposits and market fills) left out: bookings between the company's accounts
    move securities and cash, never make them."""
    rows = _rows(
        url,
        "SELECT c.name, b.kind, i.symbol, b.asset, sum(b.quantity) FROM balances b "
        "JOIN accounts a ON a.id = b.account_id JOIN companies c ON c.id = a.company_id "
        "LEFT JOIN instruments i ON b.kind = 'security' AND CAST(i.id AS TEXT) = b.asset "
        "WHERE a.role <> 'external' GROUP BY c.name, b.kind, i.symbol, b.asset",
    )
    totals: dict[str, dict[tuple[str, str], Decimal]] = {}
    for company, kind, symbol, asset, quantity in rows:
        totals.setdefault(str(company), {})[(str(kind), str(symbol or asset))] = Decimal(quantity)
    return totals


def holdings(url: str, accounts: list[str]) -> dict[str, Decimal]:
    """`account SYMBOL` (or `account CURRENCY`) → quantity, for these accounts."""
    names = ", ".join(f"'{account}'" for account in accounts)
    rows = _rows(
        url,
        "SELECT b.account_id, i.symbol, b.asset, b.quantity FROM balances b "
        "LEFT JOIN instruments i ON b.kind = 'security' AND CAST(i.id AS TEXT) = b.asset "
        f"WHERE b.account_id IN ({names})",
    )
    return {f"{a} {symbol or asset}": Decimal(quantity) for a, symbol, asset, quantity in rows}


def count_by(url: str, table: str, column: str, prefix: str) -> dict[str, int]:
    """How many rows of `table` carry each value of `column` starting with `prefix`."""
    rows = _rows(
        url,
        f"SELECT {column}, count(*) FROM {table} WHERE {column} LIKE '{prefix}%' GROUP BY {column}",
    )
    return {str(value): int(count) for value, count in rows}


def fills_by_reference(url: str, orders: list[int]) -> dict[str, int]:
    """`order@executed_at` → how many fills of the Saxo orders carry it."""
    ids = ", ".join(str(order) for order in orders)
    rows = _rows(url, f"SELECT block_id, executed_at FROM fills WHERE block_id IN ({ids})")
    counted: dict[str, int] = {}
    for block_id, executed_at in rows:
        ref = f"{block_id}@{_aware(executed_at).isoformat()}"
        counted[ref] = counted.get(ref, 0) + 1
    return counted


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def blocks(url: str, ids: list[int]) -> dict[int, tuple[Decimal, Decimal, Decimal]]:
    """Block id → (ordered, filled, allocated) quantities."""
    listed = ", ".join(str(block_id) for block_id in ids)
    rows = _rows(
        url,
        "SELECT id, ordered_quantity, filled_quantity, allocated_quantity FROM blocks "
        f"WHERE id IN ({listed})",
    )
    return {int(i): (Decimal(o), Decimal(f), Decimal(a)) for i, o, f, a in rows}
