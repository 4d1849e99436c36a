"""The journal and the running balances, written in bulk.

Locking: on PostgreSQL the touched balance rows are created if missing and then locked with
SELECT ... FOR UPDATE in one stable order (account, kind, asset), so concurrent batches queue
instead of deadlocking. On SQLite the write transaction already holds the database's write lock.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Connection, bindparam, func, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from allotment.adapters.database import tables as t
from allotment.adapters.database.bulk import insert_rows, reserve_ids
from allotment.domain.ledger import AssetKind, Balance, BalanceKey, JournalEntry, Posting
from allotment.services.ports import EntryFilter, Mismatch, StoredEntry

CHUNK = 5000
ZERO = Decimal(0)


class SqlLedgerRepository:
    def __init__(self, connection: Connection) -> None:
        self._db = connection
        self._postgres = connection.dialect.name == "postgresql"

    # Balances ---------------------------------------------------------------------------------
    def lock_balances(self, keys: Sequence[BalanceKey]) -> dict[BalanceKey, Balance]:
        ordered = sorted(set(keys))
        if self._postgres and ordered:
            self._db.execute(
                pg_insert(t.balances).on_conflict_do_nothing(),
                [
                    {
                        "account_id": k.account_id,
                        "kind": k.kind.value,
                        "asset": k.asset,
                        "quantity": ZERO,
                        "cost_amount": ZERO,
                    }
                    for k in ordered
                ],
            )
        return self._read(ordered, lock=self._postgres)

    def _read(self, ordered: Sequence[BalanceKey], lock: bool) -> dict[BalanceKey, Balance]:
        found: dict[BalanceKey, Balance] = {}
        columns = tuple_(t.balances.c.account_id, t.balances.c.kind, t.balances.c.asset)
        for start in range(0, len(ordered), CHUNK):
            chunk = ordered[start : start + CHUNK]
            query = (
                select(t.balances)
                .where(columns.in_([(k.account_id, k.kind.value, k.asset) for k in chunk]))
                .order_by(t.balances.c.account_id, t.balances.c.kind, t.balances.c.asset)
            )
            if lock:
                query = query.with_for_update()
            for row in self._db.execute(query):
                key = BalanceKey(row.account_id, AssetKind(row.kind), row.asset)
                found[key] = Balance(row.quantity, row.cost_amount)
        return found

    def write_balances(self, changed: Mapping[BalanceKey, Balance]) -> None:
        if not changed:
            return
        keys = sorted(changed)
        existing = set(self._read(keys, lock=False)) if not self._postgres else set(keys)
        new_rows = [self._row(k, changed[k]) for k in keys if k not in existing]
        insert_rows(self._db, t.balances, new_rows)
        updates = [self._row(k, changed[k]) for k in keys if k in existing]
        if not updates:
            return
        if self._postgres:
            self._update_postgres(updates)
            return
        statement = (
            update(t.balances)
            .where(
                t.balances.c.account_id == bindparam("b_account_id"),
                t.balances.c.kind == bindparam("b_kind"),
                t.balances.c.asset == bindparam("b_asset"),
            )
            .values(quantity=bindparam("b_quantity"), cost_amount=bindparam("b_cost_amount"))
        )
        self._db.execute(
            statement, [{f"b_{name}": value for name, value in row.items()} for row in updates]
        )

    def _update_postgres(self, rows: Sequence[dict[str, object]]) -> None:
        # One set-based statement: UPDATE ... FROM unnest(arrays), whatever the number of rows.
        self._db.execute(
            text(
                "UPDATE balances AS b SET quantity = v.quantity, cost_amount = v.cost_amount "
                "FROM unnest(CAST(:account_ids AS text[]), CAST(:kinds AS text[]), "
                "CAST(:assets AS text[]), CAST(:quantities AS numeric[]), "
                "CAST(:costs AS numeric[])) AS v(account_id, kind, asset, quantity, cost_amount) "
                "WHERE b.account_id = v.account_id AND b.kind = v.kind AND b.asset = v.asset"
            ),
            {
                "account_ids": [row["account_id"] for row in rows],
                "kinds": [row["kind"] for row in rows],
                "assets": [row["asset"] for row in rows],
                "quantities": [row["quantity"] for row in rows],
                "costs": [row["cost_amount"] for row in rows],
            },
        )

    @staticmethod
    def _row(key: BalanceKey, balance: Balance) -> dict[str, object]:
        return {
            "account_id": key.account_id,
            "kind": key.kind.value,
            "asset": key.asset,
            "quantity": balance.quantity,
            "cost_amount": balance.cost_amount,
        }

    def balances(
        self, account_ids: Sequence[str], kind: str | None = None
    ) -> dict[BalanceKey, Balance]:
        found: dict[BalanceKey, Balance] = {}
        wanted = sorted(set(account_ids))
        for start in range(0, len(wanted), CHUNK):
            query = select(t.balances).where(
                t.balances.c.account_id.in_(wanted[start : start + CHUNK])
            )
            if kind is not None:
                query = query.where(t.balances.c.kind == kind)
            for row in self._db.execute(query):
                found[BalanceKey(row.account_id, AssetKind(row.kind), row.asset)] = Balance(
                    row.quantity, row.cost_amount
                )
        return found

    def iter_balances(self) -> Iterator[tuple[BalanceKey, Balance]]:
        query = select(t.balances).order_by(
            t.balances.c.account_id, t.balances.c.kind, t.balances.c.asset
        )
        for row in self._db.execute(query):
            yield (
                BalanceKey(row.account_id, AssetKind(row.kind), row.asset),
                Balance(row.quantity, row.cost_amount),
            )

    # Journal ----------------------------------------------------------------------------------
    def add_entries(
        self,
        company_id: int,
        entries: Sequence[JournalEntry],
        trade_date: date,
        created_at: datetime,
        created_by: str,
        dialect: str,
    ) -> list[int]:
        ids = reserve_ids(self._db, t.journal_entries, len(entries))
        entry_rows = [
            {
                "id": entry_id,
                "company_id": company_id,
                "entry_type": entry.entry_type,
                "description": entry.description,
                "trade_date": trade_date,
                "created_at": created_at,
                "created_by": created_by,
                "dialect": dialect,
                "reverses_entry_id": entry.reverses_entry_id,
            }
            for entry_id, entry in zip(ids, entries, strict=True)
        ]
        insert_rows(self._db, t.journal_entries, entry_rows)
        posting_count = sum(len(entry.postings) for entry in entries)
        posting_ids = iter(reserve_ids(self._db, t.postings, posting_count))
        posting_rows = [
            {
                "id": next(posting_ids),
                "entry_id": entry_id,
                "account_id": posting.account_id,
                "kind": posting.kind.value,
                "asset": posting.asset,
                "amount": posting.amount,
                "price": posting.price,
            }
            for entry_id, entry in zip(ids, entries, strict=True)
            for posting in entry.postings
        ]
        insert_rows(self._db, t.postings, posting_rows)
        return ids

    def entry(self, company_id: int, entry_id: int) -> StoredEntry | None:
        row = self._db.execute(
            select(t.journal_entries).where(
                t.journal_entries.c.id == entry_id, t.journal_entries.c.company_id == company_id
            )
        ).first()
        if row is None:
            return None
        return self._stored([row])[0]

    def entries(self, query: EntryFilter) -> list[StoredEntry]:
        j, p = t.journal_entries, t.postings
        statement = select(j).where(j.c.company_id == query.company_id, j.c.id > query.after_id)
        account_filter = None
        if query.account_id is not None:
            account_filter = [query.account_id]
        if query.account_ids is not None:
            allowed = sorted(query.account_ids)
            account_filter = [a for a in (account_filter or allowed) if a in query.account_ids]
        if account_filter is not None:
            statement = statement.where(
                j.c.id.in_(select(p.c.entry_id).where(p.c.account_id.in_(account_filter)))
            )
        if query.trade_date_from is not None:
            statement = statement.where(j.c.trade_date >= query.trade_date_from)
        if query.trade_date_to is not None:
            statement = statement.where(j.c.trade_date <= query.trade_date_to)
        if query.entry_type is not None:
            statement = statement.where(j.c.entry_type == query.entry_type)
        rows = self._db.execute(statement.order_by(j.c.id).limit(query.limit)).all()
        return self._stored(rows)

    def _stored(self, rows: Sequence[object]) -> list[StoredEntry]:
        ids = [row.id for row in rows]  # type: ignore[attr-defined]
        by_entry: dict[int, list[Posting]] = defaultdict(list)
        if ids:
            query = (
                select(t.postings).where(t.postings.c.entry_id.in_(ids)).order_by(t.postings.c.id)
            )
            for p in self._db.execute(query):
                by_entry[p.entry_id].append(
                    Posting(p.account_id, AssetKind(p.kind), p.asset, p.amount, p.price)
                )
        return [
            StoredEntry(
                id=row.id,  # type: ignore[attr-defined]
                company_id=row.company_id,  # type: ignore[attr-defined]
                entry=JournalEntry(
                    row.entry_type,  # type: ignore[attr-defined]
                    tuple(by_entry[row.id]),  # type: ignore[attr-defined]
                    row.description,  # type: ignore[attr-defined]
                    row.reverses_entry_id,  # type: ignore[attr-defined]
                ),
                trade_date=row.trade_date,  # type: ignore[attr-defined]
                created_at=row.created_at,  # type: ignore[attr-defined]
                created_by=row.created_by,  # type: ignore[attr-defined]
                dialect=row.dialect,  # type: ignore[attr-defined]
            )
            for row in rows
        ]

    def is_reversed(self, entry_id: int) -> bool:
        found = self._db.execute(
            select(t.journal_entries.c.id).where(t.journal_entries.c.reverses_entry_id == entry_id)
        ).first()
        return found is not None

    def recompute(self) -> list[Mismatch]:
        """Every balance recomputed from the postings, compared with the stored running total."""
        sums: dict[BalanceKey, Decimal] = defaultdict(Decimal)
        query = select(
            t.postings.c.account_id, t.postings.c.kind, t.postings.c.asset, t.postings.c.amount
        )
        if self._postgres:
            query = select(
                t.postings.c.account_id,
                t.postings.c.kind,
                t.postings.c.asset,
                func.sum(t.postings.c.amount),
            ).group_by(t.postings.c.account_id, t.postings.c.kind, t.postings.c.asset)
        for account_id, kind, asset, amount in self._db.execute(query):
            sums[BalanceKey(account_id, AssetKind(kind), asset)] += Decimal(amount)
        mismatches = []
        stored = dict(self.iter_balances())
        for key in sorted(set(sums) | set(stored)):
            recomputed = sums.get(key, ZERO)
            held = stored[key].quantity if key in stored else ZERO
            if recomputed != held:
                mismatches.append(Mismatch(key, held, recomputed))
        return mismatches
