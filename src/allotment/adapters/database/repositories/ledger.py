"""The journal and the running balances, written in bulk.

Locking: on PostgreSQL a batch locks the accounts whose balances it touches (FOR NO KEY UPDATE,
one statement, account id order), so concurrent batches queue instead of deadlocking and a
balance row, new or not, is written only by the holder of its account's lock. On SQLite the
write transaction already holds the database's write lock. A transaction reads each account's
balances once: what it read and what it wrote since answer its later reads (decision 0012).
Entries, postings and allocations go in with COPY (PostgreSQL) or one executemany (SQLite);
balances with one upsert, or on PostgreSQL a copy of the new ones and an update of the others.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from operator import attrgetter, itemgetter
from typing import Any, cast

from sqlalchemy import Connection, text

from allotment.adapters import metrics
from allotment.adapters.database import tables as t
from allotment.adapters.database.behind import later
from allotment.adapters.database.bulk import (
    FOLD_THRESHOLD,
    STAGE_THRESHOLD,
    DecimalCache,
    driver_rows,
    holds_one_value,
    insert_values,
    reserve_ids,
    sqlite_decimal_texts,
    sqlite_literal,
    sqlite_many,
    stage,
)
from allotment.adapters.database.repositories.accounts import ACCOUNT_COLUMNS, account_from_row
from allotment.adapters.database.repositories.ledger_columns import (
    ENTRY_COLUMNS,
    POSTING_COLUMNS,
    LedgerColumnWrites,
)
from allotment.adapters.database.repositories.ledger_locks import few_unread, lock_reading, remember
from allotment.adapters.database.repositories.ledger_reads import LedgerReads
from allotment.adapters.database.repositories.ledger_sql import (
    BALANCE_STAGE,
    ON_CONFLICT,
    UNNEST_VALUES,
    UPSERT,
    key_arrays,
    unnest_ids,
)
from allotment.domain.accounts import Account
from allotment.domain.entry_columns import EntryColumns
from allotment.domain.ledger import AssetKind, Balance, BalanceKey, JournalEntry

CHUNK = 5000
ZERO = Decimal(0)
_ACCOUNT, _QUANTITY, _COST = itemgetter(0), attrgetter("quantity"), attrgetter("cost_amount")
_KIND_TEXT = {kind: kind.value for kind in AssetKind}
_FIGURE_TYPES = {Decimal, type(None)}
"""Enum `.value` is a descriptor call; a dict lookup is several times cheaper per row."""


class SqlLedgerRepository(LedgerReads, LedgerColumnWrites):
    def __init__(self, connection: Connection) -> None:
        self._db = connection
        self._postgres = connection.dialect.name == "postgresql"
        self._locked: set[str] = set()
        """Accounts this transaction has locked already (a lock lasts until it ends)."""
        self._read_accounts: set[str] = set()
        """Accounts whose balances this transaction has read, all of them, after taking the
        account's lock on PostgreSQL (on SQLite the transaction holds the database)."""
        self._known: dict[BalanceKey, Balance] = {}
        """Those balances as read, and every balance written since: a balance of a read account
        that is not here has no row. They stay true until the transaction ends, since only the
        holder of an account's lock writes its balances, so a later read of them (a fill reads
        its participants' cash to plan, then books) does not ask the database again."""

    # Locks and balances -----------------------------------------------------------------------
    def lock_accounts(
        self, company_id: int, ids: Sequence[str], *, with_balances: bool = False
    ) -> dict[str, Account]:
        """The company's accounts among `ids`, locked for booking until the transaction ends:
        the lock `lock_balances` takes, taken up front by a batch that reads its accounts
        anyway (one statement, account id order; others' accounts are neither read nor locked).
        `with_balances`: every balance of those accounts read at once as well, so that later
        `lock_balances` calls for them answer from memory.
        """
        wanted = sorted(set(ids))
        if with_balances and self._postgres and few_unread(wanted, self._read_accounts):
            return self._lock_reading(wanted, company_id)
        if self._postgres:
            source, ids = unnest_ids(wanted, "%(ids)s")
            rows: Iterable[Sequence[Any]] = driver_rows(
                self._db,
                f"SELECT {ACCOUNT_COLUMNS} FROM accounts AS a JOIN {source} "
                "ON a.id = v.id WHERE a.company_id = %(company_id)s "
                "ORDER BY a.id FOR NO KEY UPDATE OF a",
                {"ids": ids, "company_id": company_id},
            )
        else:
            rows = self._sqlite_accounts(company_id, wanted)
        found = {row[0]: account_from_row(row) for row in rows}
        self._locked.update(found)
        if with_balances:
            unread = [
                account_id for account_id in sorted(found) if account_id not in self._read_accounts
            ]
            if unread:
                self._read(unread)
        return found

    def _sqlite_accounts(self, company_id: int, wanted: Sequence[str]) -> list[Sequence[Any]]:
        rows: list[Sequence[Any]] = []
        for start in range(0, len(wanted), CHUNK):
            chunk = wanted[start : start + CHUNK]
            marks = ", ".join("?" for _ in chunk)
            # `+a.company_id`: looked up by id, the company checked on the rows found. Without
            # statistics SQLite preferred the company's index, scanning every account of the
            # company once per chunk (decision 0028).
            rows += driver_rows(
                self._db,
                f"SELECT {ACCOUNT_COLUMNS} FROM accounts AS a "
                f"WHERE +a.company_id = ? AND a.id IN ({marks})",
                (company_id, *chunk),
            )
        return rows

    def lock_balances(self, keys: Iterable[BalanceKey]) -> dict[BalanceKey, Balance]:
        """The balances of `keys` (missing ones are absent), locked until the transaction ends.

        PostgreSQL: the accounts the keys belong to are locked (FOR NO KEY UPDATE, which leaves
        foreign-key checks of other transactions free) in one statement, in account id order,
        so concurrent batches queue instead of deadlocking; a balance, new or not, is only ever
        written by the holder of its account's lock. SQLite: the write transaction holds the
        database's write lock already. An account's balances are read from the database once
        per transaction (all of them); later calls answer from what was read and written.
        """
        # In the callers' order throughout (a dict is an ordered set): walking 100,000 keys
        # in hash order, as a set gives them, took three times as long, each key and its
        # balance read from memory out of the order in which they were made.
        wanted = dict.fromkeys(keys)
        if not wanted:
            return {}
        accounts = set(map(_ACCOUNT, wanted))
        unlocked = accounts - self._locked if self._postgres else ()
        if unlocked and self._postgres and few_unread(accounts, self._read_accounts):
            self._lock_reading(sorted(accounts), None)  # the accounts need not exist
        elif unlocked:
            self._locked.update(unlocked)
            source, ids = unnest_ids(sorted(unlocked), ":ids")
            self._db.execute(
                text(
                    f"SELECT a.id FROM accounts AS a JOIN {source} ON a.id = v.id "
                    "ORDER BY a.id FOR NO KEY UPDATE OF a"
                ),
                {"ids": ids},
            )
        unread = accounts - self._read_accounts
        if unread:
            self._read(sorted(unread))
        # Those that have a row, looked up in C (a fill asks for 200,000): immutable, shared.
        found = dict(zip(wanted, map(self._known.get, wanted), strict=True))
        if None in found.values():
            return {key: balance for key, balance in found.items() if balance is not None}
        return cast("dict[BalanceKey, Balance]", found)

    def _read(self, accounts: Sequence[str]) -> None:
        """Every balance of `accounts` into `_known`."""
        number = DecimalCache()
        for start in range(0, len(accounts), CHUNK):
            chunk = accounts[start : start + CHUNK]
            if self._postgres:
                source, ids = unnest_ids(chunk, "%(ids)s")
                rows = driver_rows(
                    self._db,
                    "SELECT b.account_id, b.kind, b.asset, b.quantity, b.cost_amount "
                    f"FROM balances AS b JOIN {source} ON b.account_id = v.id",
                    {"ids": ids},
                )
            else:
                marks = ", ".join("?" for _ in chunk)
                rows = driver_rows(
                    self._db,
                    "SELECT account_id, kind, asset, quantity, cost_amount FROM balances "
                    f"WHERE account_id IN ({marks})",
                    tuple(chunk),
                )
            remember(self._known, rows, number)
        self._read_accounts.update(accounts)

    def _lock_reading(self, wanted: Sequence[str], company_id: int | None) -> dict[str, Account]:
        """`lock_reading`: locked (of `company_id` when given) and read in one statement."""
        found, balances = lock_reading(self._db, wanted, company_id)
        remember(self._known, balances, DecimalCache())
        self._locked.update(wanted if company_id is None else found)
        self._read_accounts.update(wanted if company_id is None else found)
        return found

    def write_balances(self, changed: Mapping[BalanceKey, Balance]) -> None:
        """Write the final balances of a batch in one statement, whatever the number of rows."""
        if not changed:
            return
        keys = sorted(changed, key=_ACCOUNT)  # the locking order (and the table's)
        balances = list(map(changed.__getitem__, keys))
        quantities, costs = list(map(_QUANTITY, balances)), list(map(_COST, balances))
        if self._postgres:
            self._write_postgres(keys, quantities, costs)
        else:
            self._write_sqlite(keys, quantities, costs)
        self._known.update(zip(keys, balances, strict=True))

    def _write_sqlite(
        self, keys: Sequence[BalanceKey], quantities: list[Decimal], costs: list[Decimal]
    ) -> None:
        account_ids, kinds, assets = zip(*keys, strict=True)
        sqlite_many(
            self._db,
            "INSERT INTO balances (account_id, kind, asset, quantity, cost_amount)",
            "(?, ?, ?, ?, ?)",
            list(
                zip(
                    account_ids,
                    map(_KIND_TEXT.__getitem__, kinds),
                    assets,
                    sqlite_decimal_texts(quantities),
                    sqlite_decimal_texts(costs),
                    strict=True,
                )
            ),
            "ON CONFLICT (account_id, kind, asset) DO UPDATE SET "
            "quantity = excluded.quantity, cost_amount = excluded.cost_amount",
        )

    def _write_postgres(
        self, keys: Sequence[BalanceKey], quantities: list[Decimal], costs: list[Decimal]
    ) -> None:
        """One upsert reading the rows from array parameters; for large batches, the rows
        split by what the lock's reading found: new balances copied in, existing ones updated
        from a staging table, any other upserted from one."""
        if len(keys) < STAGE_THRESHOLD:
            self._db.execute(
                text(f"{UPSERT} FROM {UNNEST_VALUES} {ON_CONFLICT}"),
                {**key_arrays(keys), "quantities": quantities, "costs": costs},
            )
        else:
            groups: dict[bool | None, list[tuple[str, str, str, Decimal, Decimal]]] = {
                False: [],
                True: [],
                None: [],
            }
            known, read = self._known, self._read_accounts
            for key, quantity, cost in zip(keys, quantities, costs, strict=True):
                has_row = True if key in known else (False if key[0] in read else None)
                groups[has_row].append((key[0], _KIND_TEXT[key[1]], key[2], quantity, cost))
            # Written behind (`behind`): the caller goes on while the server takes them.
            self._insert_new(groups[False])
            later(self._db, partial(self._update_existing, groups[True]))
            if groups[None]:
                later(self._db, partial(self._upsert_staged, groups[None]))

    def _upsert_staged(self, rows: Sequence[Sequence[Any]]) -> None:
        """Balances whose account's reading is not known: inserted or updated."""
        staged = stage(self._db, "balance_changes", BALANCE_STAGE, rows)
        self._db.execute(text(f"{UPSERT} FROM {staged} AS v {ON_CONFLICT}"))

    def _insert_new(self, rows: Sequence[Sequence[Any]]) -> None:
        """Balances the lock's reading found absent: no row can have appeared since."""
        insert_values(self._db, t.balances, [name for name, _ in BALANCE_STAGE], rows)

    def _update_existing(self, rows: Sequence[Sequence[Any]]) -> None:
        """Balances the lock's reading found: every one of them is updated, or the batch fails
        (a row gone meanwhile would mean a broken lock, never a silently lost balance)."""
        if not rows:
            return
        staged = stage(self._db, "balance_updates", BALANCE_STAGE, rows)
        updated = self._db.execute(
            text(
                f"UPDATE balances AS b SET quantity = v.quantity, cost_amount = v.cost_amount "
                f"FROM {staged} AS v WHERE b.account_id = v.account_id AND b.kind = v.kind "
                "AND b.asset = v.asset"
            )
        ).rowcount
        if updated != len(rows):
            raise RuntimeError(f"{len(rows)} balances to update, {updated} found")

    # Journal ----------------------------------------------------------------------------------
    def add_entries(
        self,
        company_id: int,
        entries: Sequence[JournalEntry] | EntryColumns,
        trade_date: date,
        created_at: datetime,
        created_by: str,
        dialect: str,
        ids: Sequence[int] | None = None,
    ) -> list[int]:
        """Write entries and their postings in bulk; the entries' ids, in order: `ids` when
        given (from `reserve_entry_ids`, one per entry), else drawn now. Entries given by
        columns are written from their columns."""
        if isinstance(entries, EntryColumns):
            ids = self.reserve_entry_ids(entries.count) if ids is None else ids
            self.add_entry_columns(
                company_id, entries, trade_date, created_at, created_by, dialect, ids
            )
            return list(ids)
        if ids is None:
            ids = self.reserve_entry_ids(len(entries))
        elif len(ids) != len(entries):
            raise ValueError(f"{len(entries)} entries, {len(ids)} ids")
        metrics.entries_written(self._db, len(entries), dialect)
        insert_values(
            self._db,
            t.journal_entries,
            ENTRY_COLUMNS,
            [
                (
                    entry_id,
                    company_id,
                    entry.entry_type,
                    entry.description,
                    trade_date,
                    created_at,
                    created_by,
                    dialect,
                    entry.reverses_entry_id,
                )
                for entry_id, entry in zip(ids, entries, strict=True)
            ],
        )
        # A posting is keyed by its entry and its line in it.
        if self._postgres or not self._sqlite_postings(ids, entries):
            insert_values(
                self._db,
                t.postings,
                POSTING_COLUMNS,
                [
                    (entry_id, line, account_id, _KIND_TEXT[kind], asset, amount, price)
                    for entry_id, entry in zip(ids, entries, strict=True)
                    for line, (account_id, kind, asset, amount, price) in enumerate(entry.postings)
                ],
            )
        return list(ids)

    def _sqlite_postings(self, ids: Sequence[int], entries: Sequence[JournalEntry]) -> bool:
        """SQLite, a large batch of entries with as many lines each (a block's allocations):
        the postings written entry by entry, what a line holds in every entry (the average
        account, the kind, the asset, the price) written once into the statement, and only
        what varies (the entry, the client, the amounts) bound for each entry: a fifth of the
        values to bind and to convert. False (nothing written) for any other batch, or when
        a figure is not a Decimal (the general path refuses it)."""
        postings = [entry.postings for entry in entries]
        sizes = set(map(len, postings))
        if len(postings) < FOLD_THRESHOLD or len(sizes) != 1:
            return False
        lines: list[list[list[Any]]] = []
        for line in range(sizes.pop()):
            account, kind, asset, amount, price = map(
                list, zip(*map(itemgetter(line), postings), strict=True)
            )
            if not set(map(type, amount)) | set(map(type, price)) <= _FIGURE_TYPES:
                return False
            lines.append([account, list(map(_KIND_TEXT.__getitem__, kind)), asset, amount, price])
        rows: list[str] = []
        varying: list[Sequence[Any]] = []
        for line, columns in enumerate(lines):
            fields = ["?", str(line)]
            varying.append(ids)
            for position, column in enumerate(columns):
                if holds_one_value(column):
                    fields.append(sqlite_literal(self._db, column[0]))
                    continue
                fields.append("?")
                varying.append(sqlite_decimal_texts(column) if position >= 3 else column)
            rows.append(f"({', '.join(fields)})")
        sqlite_many(
            self._db,
            f"INSERT INTO postings ({', '.join(POSTING_COLUMNS)})",
            ", ".join(rows),
            list(zip(*varying, strict=True)),
        )
        return True

    def reserve_entry_ids(self, count: int) -> list[int]:
        """Ids for entries to add later in this transaction, drawn at once."""
        return reserve_ids(self._db, t.journal_entries, count)
