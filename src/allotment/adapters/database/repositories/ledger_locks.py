"""PostgreSQL: a few accounts locked and their balances read in one statement (decision 0048).

A small booking (one ETNA item, a deposit) locks its accounts, then reads their balances: two
round trips while the accounts are held, every other booking of those accounts queued behind.
Here it is one. The lock is taken in full before any balance is joined: the locking query is
materialized, and the outer join keeps each of its rows (an account without balances too).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Connection

from allotment.adapters.database.bulk import DecimalCache, driver_rows
from allotment.adapters.database.repositories.accounts import ACCOUNT_COLUMNS, account_from_row
from allotment.adapters.database.repositories.ledger_sql import unnest_ids
from allotment.domain.accounts import Account
from allotment.domain.ledger import AssetKind, Balance, BalanceKey

LOCK_READING_LIMIT = 100
"""Up to this many accounts; a large batch's balances are read in chunks, column by column."""
_WIDTH = ACCOUNT_COLUMNS.count(",") + 1
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
    source, ids = unnest_ids(wanted, "%(ids)s")
    mine = "WHERE a.company_id = %(company_id)s " if company_id is not None else ""
    rows = driver_rows(
        db,
        f"WITH locked AS MATERIALIZED (SELECT {ACCOUNT_COLUMNS} FROM accounts AS a "
        f"JOIN {source} ON a.id = v.id {mine}ORDER BY a.id FOR NO KEY UPDATE OF a) "
        "SELECT locked.*, b.account_id, b.kind, b.asset, b.quantity, b.cost_amount "
        "FROM locked LEFT JOIN balances AS b ON b.account_id = locked.id",
        {"ids": ids, "company_id": company_id},
    )
    found: dict[str, Account] = {}
    for row in rows:
        if row[0] not in found:
            found[row[0]] = account_from_row(row[:_WIDTH])
    return found, [row[_WIDTH:] for row in rows if row[_WIDTH] is not None]


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
