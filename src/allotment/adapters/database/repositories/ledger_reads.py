"""The ledger repository's reads: balances by account, the journal, and the checks that
recompute every balance and look for references to rows that do not exist."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from decimal import Decimal

from sqlalchemy import Connection, func, or_, select

from allotment.adapters.database import tables as t
from allotment.domain.ledger import AssetKind, Balance, BalanceKey, JournalEntry, Posting
from allotment.services.ports import DanglingReference, EntryFilter, Mismatch, StoredEntry

CHUNK = 5000
ZERO = Decimal(0)


class LedgerReads:
    """What `SqlLedgerRepository` reads without locking or caching anything."""

    _db: Connection
    _postgres: bool

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
        unfiltered = (query.trade_date_from, query.trade_date_to, query.entry_type)
        only_accounts = unfiltered == (None, None, None)
        if account_filter is not None and only_accounts:
            # The page's entry ids first, from ix_postings_account_entry in entry order,
            # stopping after a page; then at most a page of entries by key. Whatever the
            # planner estimates, it cannot walk the journal to find them (0049).
            page = (
                select(p.c.entry_id)
                .where(p.c.account_id.in_(account_filter), p.c.entry_id > query.after_id)
                .group_by(p.c.entry_id)
                .order_by(p.c.entry_id)
                .limit(query.limit)
                .subquery()
            )
            statement = statement.join(page, page.c.entry_id == j.c.id)
        elif account_filter is not None:
            # Joined to the account's postings and grouped by entry, not a semi-join
            # (`id IN (...)`): the planner can walk ix_postings_account_entry in entry order.
            statement = (
                statement.join(p, p.c.entry_id == j.c.id)
                .where(p.c.account_id.in_(account_filter), p.c.entry_id > query.after_id)
                .group_by(j.c.id)
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
                select(t.postings)
                .where(t.postings.c.entry_id.in_(ids))
                .order_by(t.postings.c.entry_id, t.postings.c.line)
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

    # References -------------------------------------------------------------------------------
    def dangling_references(self) -> list[DanglingReference]:
        """Rows of the ledger tables whose reference names no row, found set-based: one scan per
        table, outer-joined to each referred table, keeping the rows where a referred row is
        missing. These tables carry no per-row foreign keys (bulk booking; decision 0009)."""
        checked = (
            (t.journal_entries, (("company_id", t.companies),)),
            (t.postings, (("entry_id", t.journal_entries), ("account_id", t.accounts))),
            (
                t.allocations,
                (
                    ("company_id", t.companies),
                    ("entry_id", t.journal_entries),
                    ("account_id", t.accounts),
                    ("source_account_id", t.accounts),
                    ("instrument_id", t.instruments),
                    ("block_id", t.blocks),
                ),
            ),
            (t.balances, (("account_id", t.accounts),)),
        )
        found: list[DanglingReference] = []
        for table, references in checked:
            # A row is named by its id; a balance, which has none, by its key.
            named_by = list(table.primary_key.columns)
            width = len(named_by)
            referred = [(name, parent.alias(f"referred_{name}")) for name, parent in references]
            pairs = [c for name, r in referred for c in (table.c[name], r.c.id)]
            query = select(*named_by, *pairs).select_from(table)
            for name, r in referred:
                query = query.outerjoin(r, r.c.id == table.c[name])
            missing = or_(*(table.c[name].is_not(None) & r.c.id.is_(None) for name, r in referred))
            for row in self._db.execute(query.where(missing).order_by(*named_by)):
                row_id = row[0] if width == 1 else " ".join(str(v) for v in row[:width])
                for index, (name, _) in enumerate(referred):
                    value, referred_id = row[width + 2 * index], row[width + 1 + 2 * index]
                    if value is not None and referred_id is None:
                        found.append(DanglingReference(table.name, name, row_id, str(value)))
        return found
