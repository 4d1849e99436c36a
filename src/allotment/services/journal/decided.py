"""What deciding a uniform batch by columns gives (journal/columnar): a code per item, and the
accepted items' entries by columns, ready for `EntryColumns`."""

from __future__ import annotations

from decimal import Decimal
from operator import neg

from allotment.domain.entry_columns import EntryColumns, PostingLine
from allotment.domain.ledger import AssetKind, BookingCode, JournalEntry
from allotment.services.journal.uniform import UniformTerms


class Decided:
    """What deciding a uniform batch gives: a code per item, and the accepted items (their
    indexes, in order) with their entries by columns."""

    def __init__(self, terms: UniformTerms) -> None:
        self.buying = terms.side == "Buy"
        self.terms = terms
        self.codes: list[BookingCode] = []
        self.indexes: list[int] = []
        self.clients: list[str] = []
        self.quantities: list[Decimal] = []
        self.client_cash: list[Decimal] = []
        self.their_cash: list[Decimal] = []
        self.fees: list[Decimal] = []
        self.fee_rows: list[int] = []

    def add_entry(self, index: int, client_id: str, entry: JournalEntry) -> None:
        """An entry decided item by item (`Trade.entry`'s lines)."""
        amounts = [posting.amount for posting in entry.postings]
        self.indexes.append(index)
        self.clients.append(client_id)
        self.quantities.append(amounts[1])
        buyer, seller = amounts[2], amounts[3]
        self.client_cash.append(buyer if self.buying else seller)
        self.their_cash.append(seller if self.buying else buyer)
        if len(amounts) > 4:
            self.fee_rows.append(len(self.indexes) - 1)
            self.fees.append(amounts[4])

    def columns(self) -> EntryColumns:
        """The accepted items' entries, line for line as `Trade.entry` makes them."""
        terms = self.terms
        security, currency = str(terms.instrument.id), terms.instrument.currency
        counterparty, clients, price = terms.counterparty.id, self.clients, terms.price
        seller, buyer = (counterparty, clients) if self.buying else (clients, counterparty)
        buyer_cash, seller_cash = (
            (self.client_cash, self.their_cash)
            if self.buying
            else (self.their_cash, self.client_cash)
        )
        sec, cash = AssetKind.SECURITY, AssetKind.CASH
        lines = [
            PostingLine(0, seller, sec, security, list(map(neg, self.quantities)), price),
            PostingLine(1, buyer, sec, security, self.quantities, price),
            PostingLine(2, buyer, cash, currency, buyer_cash),
            PostingLine(3, seller, cash, currency, seller_cash),
        ]
        if self.fee_rows:
            assert terms.fee_account is not None
            lines.append(
                PostingLine(4, terms.fee_account.id, cash, currency, self.fees, rows=self.fee_rows)
            )
        entries = EntryColumns("trade", len(self.indexes), lines)
        entries.check()
        return entries
