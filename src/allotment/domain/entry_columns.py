"""Journal entries of one shape held by columns: what a uniform batch books.

A block's allocation books one entry per participant, every entry with the same lines: line 0
on the seller's position, line 1 on the buyer's, lines 2 and 3 on their cash, line 4 (when a fee
is charged) on the fee account's cash. Held as one column of amounts per line (and one of
accounts where the line's account varies), such a batch is written without building a posting
or an entry object per item; `entries` gives the same entries as `JournalEntry` values, line for
line, for whoever needs them one by one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from operator import add

from allotment.domain.ledger import AssetKind, JournalEntry, Posting, UnbalancedEntry
from allotment.domain.numbers import ZERO


@dataclass(slots=True)
class PostingLine:
    """Line `number` of the entries that carry it."""

    number: int
    account: str | list[str]
    """One account for every entry, or one per entry carrying the line."""
    kind: AssetKind
    asset: str
    amounts: list[Decimal]
    """One per entry carrying the line, in the entries' order."""
    price: Decimal | None = None
    rows: list[int] | None = None
    """The positions of the entries that carry the line, ascending; None for every entry."""

    def accounts(self) -> Sequence[str]:
        if isinstance(self.account, str):
            return [self.account] * len(self.amounts)
        return self.account


@dataclass(slots=True)
class EntryColumns:
    """`count` entries of one type and description, line by line (see the module docstring)."""

    entry_type: str
    count: int
    lines: list[PostingLine] = field(default_factory=list)
    description: str = ""

    def check(self) -> None:
        """Every entry balances per asset (as `JournalEntry` checks each one), column by column:
        an `UnbalancedEntry` otherwise."""
        totals: dict[tuple[AssetKind, str], list[Decimal]] = {}
        for line in self.lines:
            amounts = line.amounts
            if line.rows is not None:
                amounts = [ZERO] * self.count
                for row, amount in zip(line.rows, line.amounts, strict=True):
                    amounts[row] = amount
            elif len(amounts) != self.count:
                raise ValueError(
                    f"line {line.number}: {len(amounts)} amounts, {self.count} entries"
                )
            key = (line.kind, line.asset)
            total = totals.get(key)
            totals[key] = amounts if total is None else list(map(add, total, amounts))
        for (kind, asset), total in totals.items():
            if any(total):
                row = next(row for row, amount in enumerate(total) if amount)
                raise UnbalancedEntry(f"entry {row} does not balance in {kind} {asset}")

    def entries(self) -> list[JournalEntry]:
        """The same entries one by one (checked as every entry is)."""
        postings: list[list[Posting]] = [[] for _ in range(self.count)]
        for line in sorted(self.lines, key=lambda one: one.number):
            rows = range(self.count) if line.rows is None else line.rows
            for row, account, amount in zip(rows, line.accounts(), line.amounts, strict=True):
                if len(postings[row]) != line.number:
                    raise ValueError(f"entry {row} has no line {len(postings[row])}")
                postings[row].append(Posting(account, line.kind, line.asset, amount, line.price))
        return [JournalEntry(self.entry_type, tuple(p), self.description) for p in postings]
