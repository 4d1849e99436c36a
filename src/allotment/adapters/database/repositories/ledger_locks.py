"""PostgreSQL: a few accounts locked and their balances read in one round trip (decision 0048).

A small booking (one ETNA item, a deposit) locks its accounts, then reads their balances: two
round trips while the accounts are held, every other booking of those accounts queued behind.
Here the two statements go together in one pipeline, and the booking waits once. They stay two
statements: under READ COMMITTED each statement sees what was committed when it started, and
a statement that waited for a lock would still read the balances as they were before the
holder it waited for committed. The read starts only once the lock is held, so it sees them.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Connection

from allotment.adapters.database import behind
from allotment.adapters.database.bulk import DecimalCache
from allotment.adapters.database.repositories.accounts import ACCOUNT_COLUMNS, account_from_row
from allotment.adapters.database.repositories.ledger_sql import unnest_ids
from allotment.domain.accounts import Account
from allotment.domain.ledger import AssetKind, Balance, BalanceKey

LOCK_READING_LIMIT = 100
"""Up to this many accounts; a large batch's balances are read in chunks, column by column."""
_KINDS = {kind.value: kind for kind in AssetKind}


def few_unread(accounts: Collection[str], read: Collection[str]) -> bool:
    """Few accounts, none of whose balances were read yet."""
    return len(accounts) <= LOCK_READING_LIMIT and not any(a in read for a in accounts)


def lock_reading(
    db: Connection, wanted: Sequence[str], company_id: int | None
) -> tuple[dict[str, Account], list[Sequence[Any]]]:
    """The accounts among `wanted` (of `company_id` only, when given), locked FOR NO KEY
    UPDATE in account id order as `lock_accounts` locks them, and their balances as rows
    (account, kind, asset, quantity, cost)."""
    behind.settle(db)
    raw = db.connection.driver_connection
    assert raw is not None
    source, ids = unnest_ids(wanted, "%(ids)s")
    mine = "WHERE a.company_id = %(company_id)s " if company_id is not None else ""
    parameters = {"ids": ids, "company_id": company_id}
    with raw.cursor() as locking, raw.cursor() as reading:
        with raw.pipeline():
            locking.execute(
                f"SELECT {ACCOUNT_COLUMNS} FROM accounts AS a JOIN {source} ON a.id = v.id "
                f"{mine}ORDER BY a.id FOR NO KEY UPDATE OF a",
                parameters,
            )
            reading.execute(
                "SELECT b.account_id, b.kind, b.asset, b.quantity, b.cost_amount "
                f"FROM balances AS b JOIN {source} ON b.account_id = v.id",
                parameters,
            )
        found = {row[0]: account_from_row(row) for row in locking.fetchall()}
        balances = reading.fetchall()
    if company_id is not None:  # another company's accounts are neither locked nor read
        balances = [row for row in balances if row[0] in found]
    return found, balances


def remember(
    known: dict[BalanceKey, Balance], rows: Sequence[Sequence[Any]], number: DecimalCache
) -> None:
    """Balance rows (account, kind, asset, quantity, cost) into `known`."""
    if not rows:
        return
    # Column by column, each figure converted once (a fill reads 100,000 rows).
    account_ids, kinds, assets, quantities, costs = zip(*rows, strict=True)
    keys = zip(account_ids, map(_KINDS.__getitem__, kinds), assets, strict=True)
    figures = zip(map(number.__getitem__, quantities), map(number.__getitem__, costs), strict=True)
    known.update(zip(map(BalanceKey._make, keys), map(Balance._make, figures), strict=True))
