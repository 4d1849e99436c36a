"""The checks of one allocation file row that need the database: its accounts, its instrument,
the increments, its trade date. Accounts, instruments and trade dates are looked up once each
and kept (a bounded number of accounts), so that a million rows cost a few queries."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from allotment.domain.accounts import Account, AccountRole
from allotment.domain.errors import AllotmentError
from allotment.domain.instruments import Instrument
from allotment.domain.numbers import is_multiple_of
from allotment.services.allocation_files.columns import FileRow, RowReader, RowRefused
from allotment.services.allocation_files.kept import Kept
from allotment.services.clearing import on_trade_date, open_session
from allotment.services.context import Context, visible_account
from allotment.services.ports import UnitOfWork

ACCOUNTS_KEPT = 100_000
MULTIPLES_KEPT = 10_000


class Checked(NamedTuple):
    """A row that passed its checks, with what they found (a named tuple: one per row)."""

    row: FileRow
    average: Account
    client: Account
    instrument: Instrument
    block_key: tuple[str, int, str, date | None, str]
    """average account, instrument id, side, trade date, executing broker."""


class RowChecker:
    def __init__(self, uow: UnitOfWork, ctx: Context) -> None:
        self._uow = uow
        self._ctx = ctx
        self._instruments: dict[tuple[str, str], Instrument] = {}
        self._by_id: dict[int, Instrument] = {}
        for instrument in uow.instruments.list():
            self._by_id[instrument.id] = instrument
            self._instruments[("symbol", instrument.symbol.upper())] = instrument
            if instrument.isin:
                self._instruments[("isin", instrument.isin.upper())] = instrument
            if instrument.cusip:
                self._instruments[("cusip", instrument.cusip.upper())] = instrument
        self._accounts: Kept[str, Account | str] = Kept(ACCOUNTS_KEPT)
        self._dates: dict[date, str | None] = {}
        self._multiples: Kept[tuple[Decimal, Decimal], bool] = Kept(MULTIPLES_KEPT)
        self._named: Kept[tuple[str, str, str | None], Instrument | RowRefused] = Kept(
            MULTIPLES_KEPT
        )
        self._pairs: Kept[tuple[str, str], tuple[Account, Account]] = Kept(ACCOUNTS_KEPT)
        self._traded: Kept[tuple[str, str, str | None, Decimal, Decimal], Instrument] = Kept(
            MULTIPLES_KEPT
        )
        self._reader: RowReader | None = None

    def instrument_by_id(self, instrument_id: int) -> Instrument:
        return self._by_id[instrument_id]

    @staticmethod
    def column(reader: RowReader, field: str) -> str:
        return reader.layout.column_names.get(field, field)

    def check(self, reader: RowReader, row: FileRow) -> Checked:
        name = reader.layout.column_names
        # The instrument named with this quantity and price, found and judged once (rows repeat
        # them); the accounts and the date are judged on their own, from caches too.
        traded = (row.identifier_type, row.identifier, row.currency, row.quantity, row.price)
        instrument = self._traded.get(traded)
        if instrument is None:
            instrument = self._instrument(name, row.identifier_type, row.identifier, row.currency)
            self._increments(name, instrument, row.quantity, row.price)
            self._traded.keep(traded, instrument)
        pair = (row.average_account_id, row.account_id)
        accounts = self._pairs.get(pair)
        if accounts is None:
            accounts = self._pairs.keep(pair, self._accounts_of(name, *pair))
        average, client = accounts
        trade_date = row.trade_date
        if trade_date is not None:
            refused = self._date(trade_date)
            if refused is not None:
                raise RowRefused(name["trade_date"], refused)
        key = (average.id, instrument.id, row.side, trade_date, row.broker)
        return Checked(row, average, client, instrument, key)

    def _accounts_of(
        self, name: Mapping[str, str], average_id: str, client_id: str
    ) -> tuple[Account, Account]:
        """A row's average and client accounts, judged (a pair that passed is kept)."""
        average = self._account(average_id, name["average_account_id"], True)
        client = self._account(client_id, name["account_id"], False)
        if client.id == average.id:
            raise RowRefused(name["account_id"], "is the average account itself")
        return average, client

    def _instrument(
        self, name: Mapping[str, str], kind: str, identifier: str, currency: str | None
    ) -> Instrument:
        """The instrument a row names, found and judged once per distinct naming."""
        known = self._named.get((kind, identifier, currency))
        if known is None:
            instrument = self._instruments.get((kind, identifier.upper()))
            if instrument is None:
                column = name.get("identifier", kind)
                known = RowRefused(column, f"no instrument has the {kind} {identifier}")
            elif currency is not None and currency != instrument.currency:
                reason = f"{identifier} trades in {instrument.currency}"
                known = RowRefused(name["currency"], reason)
            else:
                known = instrument
            self._named.keep((kind, identifier, currency), known)
        if isinstance(known, RowRefused):
            raise RowRefused(known.column, known.reason)
        return known

    def _increments(
        self, name: Mapping[str, str], instrument: Instrument, quantity: Decimal, price: Decimal
    ) -> None:
        if not self._multiple(quantity, instrument.quantity_increment):
            raise RowRefused(
                name["quantity"], f"must be a multiple of {instrument.quantity_increment}"
            )
        if not self._multiple(price, instrument.price_increment):
            raise RowRefused(name["price"], f"must be a multiple of {instrument.price_increment}")

    def _multiple(self, value: Decimal, increment: Decimal) -> bool:
        """`is_multiple_of`, answered once per value and increment (values repeat)."""
        known = self._multiples.get((value, increment))
        if known is None:
            known = self._multiples.keep((value, increment), is_multiple_of(value, increment))
        return known

    def prefetch(self, account_ids: set[str]) -> None:
        """Look the accounts of a chunk up in one query."""
        wanted = [account_id for account_id in account_ids if account_id not in self._accounts]
        if not wanted:
            return
        if len(self._accounts) + len(wanted) > ACCOUNTS_KEPT:
            self._accounts.clear()
        found = self._uow.accounts.accounts_by_ids(sorted(wanted))
        principal = self._ctx.principal
        for account_id in wanted:
            account = found.get(account_id)
            if account is None or account.company_id != self._ctx.company_id:
                self._accounts[account_id] = f"account {account_id} does not exist"
            elif not principal.may_act_for_client(account.client_id):
                self._accounts[account_id] = f"not authorised for account {account_id}"
            elif not account.is_open:
                self._accounts[account_id] = f"account {account_id} is closed"
            else:
                self._accounts[account_id] = account

    def accounts(self, account_ids: set[str]) -> dict[str, Account]:
        """Accounts checked before (the second pass), looked up once per batch."""
        self.prefetch(account_ids)
        found: dict[str, Account] = {}
        for account_id in account_ids:
            account = self._accounts[account_id]
            assert not isinstance(account, str), account_id
            found[account_id] = account
        return found

    def _account(self, account_id: str, column: str, average: bool) -> Account:
        found = self._accounts.get(account_id)
        if found is None:
            found = self._accounts.keep(account_id, self._lookup(account_id, average))
        if isinstance(found, str):
            raise RowRefused(column, found)
        if average and found.role is not AccountRole.AVERAGE:
            raise RowRefused(column, f"account {account_id} is not an average account")
        if not average and found.role is not AccountRole.CLIENT:
            raise RowRefused(column, f"account {account_id} is not a client account")
        return found

    def _lookup(self, account_id: str, average: bool) -> Account | str:
        try:
            account = visible_account(self._uow, self._ctx, account_id)
        except AllotmentError as error:
            return error.message
        if not account.is_open:
            return f"account {account_id} is closed"
        return account

    def _date(self, trade_date: date) -> str | None:
        if trade_date not in self._dates:
            try:
                open_session(self._uow, on_trade_date(self._ctx, trade_date))
                self._dates[trade_date] = None
            except AllotmentError as error:
                self._dates[trade_date] = error.message
        return self._dates[trade_date]
