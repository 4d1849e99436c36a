"""Reads over the big tables use their indexes (PostgreSQL only): with a book grown to
hundreds of thousands of journal entries, postings, allocations and CAS allocations, the SQL
that the served routes actually send for an account's journal page, the native allocation
filters and CAS searches is EXPLAINed, and no plan reads a big table from end to end. The
account read has a long history of its own; its journal page and its allocation list are
EXPLAIN ANALYZEd too, and read about a page's rows, not the whole history (decision 0049)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, text

from allotment.bootstrap import Container, build
from allotment.entrypoints.http.app import create_app
from allotment.services import demo
from allotment.services.bookbuilding.demo import DEAL_ID, demo_id
from allotment.settings import Settings
from tests.conftest import SECRET, _truncate_postgres, bearer
from tests.e2e.test_bookbuilding_allocations import V4, allocation, cas_token
from tests.e2e.test_etna_seed import PATH, SEED_REQUEST, etna_headers

BIG = ("journal_entries", "postings", "allocations", "bookbuilding_allocations")
ENTRIES = 100_000
ACCOUNTS = 2_000
DEALS = 500
ACCOUNT = "6688"  # the seed's account; every HISTORY-th grown posting and allocation is its
HISTORY = 50
PAGE = 50


@pytest.fixture
def grown(
    postgres_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TestClient, Container]]:
    """The demo with a few real bookings, then a book grown around them by SQL: balanced
    entries, postings and allocations of other accounts (and some of ACCOUNT's) on 400 trade
    dates, CAS allocations of other deals and investors."""
    _truncate_postgres(postgres_database)
    box = build(
        Settings(
            database_url=postgres_database,
            secret_key=SECRET,
            var_dir=tmp_path_factory.mktemp("plans"),
            fast_password_hashing=True,
        )
    )
    with box.uow() as uow:
        demo.load(uow, box.hasher, box.clock.now())
        uow.commit()
    with TestClient(create_app(container=box)) as client:
        assert client.post(PATH, content=SEED_REQUEST, headers=etna_headers(client)).is_success
        cas = cas_token(client)
        for number in range(3):
            made = client.post(V4, json=allocation(sourceId=f"plan-{number}"), headers=cas)
            assert made.status_code == 201, made.text
        _grow(box.engine)
        yield client, box
    box.engine.dispose()


def _multiply(connection: Any, table: str, count: int, overrides: dict[str, str]) -> None:
    """`count` copies of one row of `table` (`g` numbers them), some columns rewritten."""
    columns = [
        row[0]
        for row in connection.execute(
            text(
                "SELECT column_name FROM information_schema.columns WHERE table_name = :t "
                "ORDER BY ordinal_position"
            ),
            {"t": table},
        )
    ]
    chosen = ", ".join(overrides.get(name, f'src."{name}"') for name in columns)
    names = ", ".join(f'"{name}"' for name in columns)
    connection.execute(
        text(
            f'INSERT INTO "{table}" ({names}) SELECT {chosen} '
            f'FROM (SELECT * FROM "{table}" LIMIT 1) src, generate_series(1, {count}) g'
        )
    )


def _grow(engine: Engine) -> None:
    base = 10_000_000
    account = f"CASE WHEN g % {HISTORY} = 0 THEN '{ACCOUNT}' ELSE 'GROW-' || (g % {ACCOUNTS}) END"
    day = "DATE '2025-01-01' + (g % 400)"
    with engine.begin() as connection:
        _multiply(connection, "journal_entries", ENTRIES, {"id": f"{base} + g", "trade_date": day})
        _multiply(
            connection,
            "postings",
            ENTRIES * 2,
            {
                "entry_id": f"{base} + 1 + (g - 1) / 2",
                "line": "(g - 1) % 2",
                "account_id": account,
                "amount": "CASE WHEN g % 2 = 0 THEN -src.amount ELSE src.amount END",
            },
        )
        _multiply(
            connection,
            "allocations",
            ENTRIES,
            {
                "id": f"{base} + g",
                "entry_id": f"{base} + g",
                "account_id": account,
                "source_account_id": account,
                "trade_date": day,
                "comment": "'grown'",
                "block_id": "NULL",
            },
        )
        _multiply(
            connection,
            "bookbuilding_allocations",
            ENTRIES // 2,
            {
                "id": "md5(g::text)::uuid::text",
                "deal_id": f"'deal-' || (g % {DEALS})",
                "tranche_id": f"'tranche-' || (g % {DEALS})",
                "investor_account_id": "'investor-' || (g % 5000)",
                "indication_id": "NULL",
                "source_id": "'grown-' || g",
            },
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("ANALYZE"))


def _plans(
    box: Container, send: Any, analyze: bool = False
) -> list[tuple[str, list[tuple[str, str, int]]]]:
    """Every SELECT that `send()` made the app run, with the (node, relation, rows) of its
    plan: rows as estimated, or as read (over all loops) when `analyze` runs it."""
    seen: list[tuple[str, Any]] = []

    def keep(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and any(t in statement for t in BIG):
            seen.append((statement, parameters))

    event.listen(box.engine, "before_cursor_execute", keep)
    try:
        send()
    finally:
        event.remove(box.engine, "before_cursor_execute", keep)
    plans = []
    explain = "EXPLAIN (ANALYZE, FORMAT JSON)" if analyze else "EXPLAIN (FORMAT JSON)"
    raw = box.engine.raw_connection()
    try:
        with raw.cursor() as cursor:  # type: ignore[attr-defined]
            for statement, parameters in seen:
                cursor.execute(f"{explain} {statement}", parameters)
                plan = cursor.fetchone()[0]
                plans.append((statement, list(_nodes(plan[0]["Plan"]))))
    finally:
        raw.close()
    return plans


def _nodes(node: dict[str, Any]) -> Iterator[tuple[str, str, int]]:
    rows = node.get("Actual Rows", node["Plan Rows"]) * node.get("Actual Loops", 1)
    yield node["Node Type"], node.get("Relation Name", ""), rows
    for child in node.get("Plans", []):
        yield from _nodes(child)


def _assert_indexed(plans: list[tuple[str, list[tuple[str, str, int]]]]) -> None:
    assert plans, "no statement reached a big table"
    for statement, nodes in plans:
        scans = [(kind, table) for kind, table, _ in nodes if table in BIG]
        assert scans, (statement, nodes)
        for kind, table in scans:
            assert kind != "Seq Scan", f"{table} read end to end by:\n{statement}\n{nodes}"


JOURNAL_PAGE = f"/api/v1/ledger/journal?account_id={ACCOUNT}&limit={PAGE}"
NATIVE_FILTERS = [
    f"account_id={ACCOUNT}",
    "client_id=1001",
    "trade_date_from=2025-03-01&trade_date_to=2025-03-02",
    "block_id=195",
    f"account_id={ACCOUNT}&symbol=AAPL&side=Buy&status=booked&dialect=etna",
]
CAS_SEARCHES = [
    {"criteria": [{"field": "dealId", "operator": "=", "value": DEAL_ID}]},
    {
        "criteria": [
            {"field": "investorAccountId", "operator": "=", "value": demo_id("investor-alpha")}
        ]
    },
    {"criteria": [{"field": "sourceId", "operator": "=", "value": "plan-1"}]},
]


def _reads(client: TestClient) -> list[tuple[str, Any]]:
    """(name, a function sending the read): an account's journal page, each native allocation
    filter, each CAS search."""
    native, cas = bearer(client), cas_token(client)

    def get(path: str, headers: dict[str, str], full: bool = False) -> Any:
        def send() -> None:
            response = client.get(path, headers=headers)
            assert response.status_code == 200, response.text
            assert not full or response.json()["items"], "the seed's booking is on the page"

        return send

    def search(body: dict[str, Any]) -> Any:
        def send() -> None:
            response = client.post(f"{V4}/search", json=body, headers=cas)
            assert response.status_code == 200, response.text
            assert response.json()["totalCount"] >= 1, json.dumps(response.json())[:300]

        return send

    reads = [("journal page", get(JOURNAL_PAGE, native, True))]
    reads += [(q, get(f"/api/v1/allocations?{q}&limit=50", native)) for q in NATIVE_FILTERS]
    reads += [(json.dumps(body), search(body)) for body in CAS_SEARCHES]
    return reads


def test_reads_over_a_grown_book_use_indexes(grown: tuple[TestClient, Container]) -> None:
    """One test for every read, so that the grown book is built once."""
    client, box = grown
    for name, send in _reads(client):
        plans = _plans(box, send)
        try:
            _assert_indexed(plans)
        except AssertionError as failure:
            raise AssertionError(f"{name}: {failure}") from failure


def _assert_paged(plans: list[tuple[str, list[tuple[str, str, int]]]], history: int) -> None:
    """No big table gives up more than a few pages' rows to a read of one page of an account
    whose history is `history` rows long."""
    assert plans, "no statement reached a big table"
    for statement, nodes in plans:
        for kind, table, rows in nodes:
            if table in BIG:
                assert rows <= 4 * PAGE < history, (
                    f"{table}: {rows} rows read ({kind}) for a page of {PAGE}:\n{statement}\n"
                    f"{nodes}"
                )


def test_an_accounts_pages_stop_after_a_page_however_long_its_history(
    grown: tuple[TestClient, Container],
) -> None:
    """The account's journal page and allocation list are EXPLAIN ANALYZEd: each big table
    gives up about a page's rows, though the account has thousands of postings and
    allocations (an index on (account, id) read in order, not every row of the account
    fetched and sorted)."""
    client, box = grown
    with box.engine.connect() as connection:
        postings, allocations = (
            connection.execute(
                text(f"SELECT count(*) FROM {table} WHERE account_id = :a"), {"a": ACCOUNT}
            ).scalar_one()
            for table in ("postings", "allocations")
        )
    native = bearer(client)

    def page(path: str) -> Any:
        def send() -> None:
            response = client.get(path, headers=native)
            assert response.status_code == 200, response.text
            assert len(response.json()["items"]) == PAGE, response.text

        return send

    journal = _plans(box, page(JOURNAL_PAGE), analyze=True)
    _assert_paged(journal, postings)
    listed = _plans(box, page(f"/api/v1/allocations?account_id={ACCOUNT}&limit={PAGE}"), True)
    _assert_paged(listed, allocations)
