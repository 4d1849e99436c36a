"""Clients, trading accounts and instruments."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from allotment.adapters.database import tables as t
from allotment.adapters.database.sequences import follow_chosen_id
from allotment.domain.accounts import (
    Account,
    AccountRole,
    AccountStatus,
    AccountType,
    Client,
)
from allotment.domain.errors import Conflict
from allotment.domain.instruments import Instrument


def _client(row: Row[tuple[object, ...]]) -> Client:
    return Client(id=row.id, company_id=row.company_id, name=row.name, client_key=row.client_key)


ACCOUNT_COLUMNS = (
    "a.id, a.company_id, a.client_id, a.account_key, a.type, a.role, a.status, a.currency, "
    "a.credit_limit"
)
"""An account's columns (table alias `a`) in the order `account_from_row` reads them."""
_TYPES = {kind.value: kind for kind in AccountType}
_ROLES = {role.value: role for role in AccountRole}
_STATUSES = {status.value: status for status in AccountStatus}


def account_from_row(row: Sequence[Any]) -> Account:
    """An account from a plain row of `ACCOUNT_COLUMNS`: for reads of 100,000 accounts (a
    fill's participants), where processing each row through the table's types costs more than
    the database."""
    account_id, company_id, client_id, key, kind, role, status, currency, credit = row
    return Account(
        id=account_id,
        company_id=company_id,
        client_id=client_id,
        account_key=key,
        type=_TYPES[kind],
        role=_ROLES[role],
        status=_STATUSES[status],
        currency=currency,
        credit_limit=Decimal(credit),
    )


def _account(row: Row[tuple[object, ...]]) -> Account:
    return Account(
        id=row.id,
        company_id=row.company_id,
        client_id=row.client_id,
        account_key=row.account_key,
        type=AccountType(row.type),
        role=AccountRole(row.role),
        status=AccountStatus(row.status),
        currency=row.currency,
        credit_limit=row.credit_limit,
    )


class SqlAccountRepository:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add_client(self, client: Client, now: datetime) -> Client:
        """Client ids are unique across companies: a taken one is refused without saying whose
        it is (and before the database would refuse it with its own words)."""
        if (
            client.id
            and self._db.execute(select(t.clients.c.id).where(t.clients.c.id == client.id)).first()
        ):
            raise Conflict(f"client id {client.id} is taken", client_id=client.id)
        values = {
            "company_id": client.company_id,
            "name": client.name,
            "client_key": client.client_key,
            "created_at": now,
        }
        if client.id:
            values["id"] = client.id
        result = self._db.execute(insert(t.clients).values(**values))
        assert result.inserted_primary_key is not None
        new_id = int(result.inserted_primary_key[0])
        if client.id:
            follow_chosen_id(self._db, t.clients)
        return Client(
            id=new_id, company_id=client.company_id, name=client.name, client_key=client.client_key
        )

    def client(self, company_id: int, client_id: int) -> Client | None:
        row = self._db.execute(
            select(t.clients).where(
                t.clients.c.id == client_id, t.clients.c.company_id == company_id
            )
        ).first()
        return _client(row) if row else None

    def client_by_key(self, company_id: int, client_key: str) -> Client | None:
        row = self._db.execute(
            select(t.clients).where(
                t.clients.c.client_key == client_key, t.clients.c.company_id == company_id
            )
        ).first()
        return _client(row) if row else None

    def clients(self, company_id: int, only: frozenset[int] | None) -> list[Client]:
        query = select(t.clients).where(t.clients.c.company_id == company_id)
        if only is not None:
            query = query.where(t.clients.c.id.in_(sorted(only)))
        return [_client(row) for row in self._db.execute(query.order_by(t.clients.c.id))]

    def add_account(self, account: Account, now: datetime) -> None:
        self._db.execute(
            insert(t.accounts).values(
                id=account.id,
                company_id=account.company_id,
                client_id=account.client_id,
                account_key=account.account_key,
                type=account.type.value,
                role=account.role.value,
                status=account.status.value,
                currency=account.currency,
                credit_limit=account.credit_limit,
                created_at=now,
            )
        )

    def account(self, account_id: str) -> Account | None:
        row = self._db.execute(select(t.accounts).where(t.accounts.c.id == account_id)).first()
        return _account(row) if row else None

    def account_by_key(self, account_key: str) -> Account | None:
        row = self._db.execute(
            select(t.accounts).where(t.accounts.c.account_key == account_key)
        ).first()
        return _account(row) if row else None

    def accounts_by_ids(self, account_ids: Sequence[str]) -> dict[str, Account]:
        wanted = sorted(set(account_ids))
        found: dict[str, Account] = {}
        for start in range(0, len(wanted), 5000):
            chunk = wanted[start : start + 5000]
            rows = self._db.execute(select(t.accounts).where(t.accounts.c.id.in_(chunk)))
            found.update((row.id, _account(row)) for row in rows)
        return found

    def accounts(
        self, company_id: int, only_clients: frozenset[int] | None, client_id: int | None = None
    ) -> list[Account]:
        query = select(t.accounts).where(t.accounts.c.company_id == company_id)
        if only_clients is not None:
            query = query.where(t.accounts.c.client_id.in_(sorted(only_clients)))
        if client_id is not None:
            query = query.where(t.accounts.c.client_id == client_id)
        return [_account(row) for row in self._db.execute(query.order_by(t.accounts.c.id))]

    def accounts_of_role(self, company_id: int, role: str) -> list[Account]:
        query = select(t.accounts).where(
            t.accounts.c.company_id == company_id, t.accounts.c.role == role
        )
        return [_account(row) for row in self._db.execute(query.order_by(t.accounts.c.id))]

    def set_status(self, account_id: str, status: AccountStatus, now: datetime) -> None:
        closed_at = now if status is AccountStatus.CLOSED else None
        self._db.execute(
            update(t.accounts)
            .where(t.accounts.c.id == account_id)
            .values(status=status.value, closed_at=closed_at)
        )


def _instrument(row: Row[tuple[object, ...]]) -> Instrument:
    return Instrument(
        id=row.id,
        symbol=row.symbol,
        uic=row.uic,
        asset_type=row.asset_type,
        currency=row.currency,
        quantity_increment=row.quantity_increment,
        price_increment=row.price_increment,
        isin=row.isin,
        cusip=row.cusip,
        market=row.market,
        settlement_days=row.settlement_days,
    )


class SqlInstrumentRepository:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add(self, instrument: Instrument) -> Instrument:
        values = {
            "symbol": instrument.symbol,
            "uic": instrument.uic,
            "asset_type": instrument.asset_type,
            "currency": instrument.currency,
            "quantity_increment": instrument.quantity_increment,
            "price_increment": instrument.price_increment,
            "isin": instrument.isin,
            "cusip": instrument.cusip,
            "market": instrument.market,
            "settlement_days": instrument.settlement_days,
        }
        if instrument.id:
            values["id"] = instrument.id
        result = self._db.execute(insert(t.instruments).values(**values))
        assert result.inserted_primary_key is not None
        if instrument.id:
            follow_chosen_id(self._db, t.instruments)
        found = self.get(int(result.inserted_primary_key[0]))
        assert found is not None
        return found

    def get(self, instrument_id: int) -> Instrument | None:
        row = self._db.execute(
            select(t.instruments).where(t.instruments.c.id == instrument_id)
        ).first()
        return _instrument(row) if row else None

    def by_symbol(self, symbol: str) -> Instrument | None:
        row = self._db.execute(
            select(t.instruments).where(t.instruments.c.symbol == symbol)
        ).first()
        return _instrument(row) if row else None

    def by_uic(self, uic: int, asset_type: str | None = None) -> Instrument | None:
        query = select(t.instruments).where(t.instruments.c.uic == uic)
        if asset_type is not None:
            query = query.where(t.instruments.c.asset_type == asset_type)
        row = self._db.execute(query.order_by(t.instruments.c.id)).first()
        return _instrument(row) if row else None

    def by_symbols(self, symbols: Sequence[str]) -> dict[str, Instrument]:
        rows = self._db.execute(
            select(t.instruments).where(t.instruments.c.symbol.in_(sorted(set(symbols))))
        )
        return {row.symbol: _instrument(row) for row in rows}

    def list(self) -> list[Instrument]:
        rows = self._db.execute(select(t.instruments).order_by(t.instruments.c.id))
        return [_instrument(row) for row in rows]
