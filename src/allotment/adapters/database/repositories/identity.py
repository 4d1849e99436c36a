"""Companies, users, API clients and app keys."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from sqlalchemy import Connection, Row, bindparam, delete, insert, or_, select, update

from allotment.adapters.database import tables as t
from allotment.domain.identity import Company
from allotment.services.ports import ApiClientRecord, AppKeyRecord, UserRecord

# Built once: the look-ups every request makes (who calls, its app key, its company's time
# zone) skip building the statement and its cache key each time (decision 0052).
_COMPANY = select(t.companies).where(t.companies.c.id == bindparam("company_id"))
_USER = select(t.users).where(t.users.c.username == bindparam("username"))
_USER_CLIENTS = select(t.user_clients.c.client_id).where(
    t.user_clients.c.user_id == bindparam("user_id")
)
_API_CLIENT = select(t.api_clients).where(t.api_clients.c.client_id == bindparam("client_id"))
_APP_KEY = select(t.app_keys).where(t.app_keys.c.key == bindparam("key"))


def _company(row: Row[tuple[object, ...]]) -> Company:
    return Company(
        id=row.id,
        name=row.name,
        tax_rate=row.tax_rate,
        currency=row.currency,
        time_zone=row.time_zone,
    )


class SqlIdentityRepository:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add_company(self, name: str, tax_rate: Decimal, currency: str, now: object) -> Company:
        company_id = self._db.execute(
            insert(t.companies).values(
                name=name, tax_rate=tax_rate, currency=currency, created_at=now
            )
        ).inserted_primary_key
        assert company_id is not None
        return Company(id=company_id[0], name=name, tax_rate=tax_rate, currency=currency)

    def company(self, company_id: int) -> Company | None:
        row = self._db.execute(_COMPANY, {"company_id": company_id}).first()
        return _company(row) if row else None

    def company_by_name(self, name: str) -> Company | None:
        row = self._db.execute(select(t.companies).where(t.companies.c.name == name)).first()
        return _company(row) if row else None

    # Users -----------------------------------------------------------------------------------
    def add_user(self, user: UserRecord, now: object) -> int:
        result = self._db.execute(
            insert(t.users).values(
                company_id=user.company_id,
                username=user.username,
                password_hash=user.password_hash,
                scopes=" ".join(sorted(user.scopes)),
                all_clients=user.client_ids is None,
                active=user.active,
                created_at=now,
            )
        )
        user_id = result.inserted_primary_key
        assert user_id is not None
        self._set_user_clients(user_id[0], user.client_ids or ())
        return int(user_id[0])

    def _set_user_clients(self, user_id: int, client_ids: Iterable[int]) -> None:
        self._db.execute(delete(t.user_clients).where(t.user_clients.c.user_id == user_id))
        rows = [{"user_id": user_id, "client_id": client_id} for client_id in client_ids]
        if rows:
            self._db.execute(insert(t.user_clients), rows)

    def user_by_username(self, username: str) -> UserRecord | None:
        row = self._db.execute(_USER, {"username": username}).first()
        return self._user(row) if row else None

    def user(self, company_id: int, user_id: int) -> UserRecord | None:
        row = self._db.execute(
            select(t.users).where(t.users.c.id == user_id, t.users.c.company_id == company_id)
        ).first()
        return self._user(row) if row else None

    def users(self, company_id: int) -> list[UserRecord]:
        rows = self._db.execute(
            select(t.users).where(t.users.c.company_id == company_id).order_by(t.users.c.id)
        ).all()
        return [self._user(row) for row in rows]

    def update_user(self, user: UserRecord) -> None:
        assert user.id is not None
        self._db.execute(
            update(t.users)
            .where(t.users.c.id == user.id)
            .values(
                password_hash=user.password_hash,
                scopes=" ".join(sorted(user.scopes)),
                all_clients=user.client_ids is None,
                active=user.active,
            )
        )
        self._set_user_clients(user.id, user.client_ids or ())

    def set_two_factor(self, user_id: int, secret: str | None) -> None:
        self._db.execute(
            update(t.users)
            .where(t.users.c.id == user_id)
            .values(two_factor_secret=secret, two_factor_step=None)
        )

    def use_two_factor_step(self, user_id: int, step: int) -> bool:
        """One conditional update: of two requests with the same code, one changes the row."""
        used = t.users.c.two_factor_step
        result = self._db.execute(
            update(t.users)
            .where(t.users.c.id == user_id, or_(used.is_(None), used < step))
            .values(two_factor_step=step)
        )
        return result.rowcount == 1

    def _user(self, row: Row[tuple[object, ...]]) -> UserRecord:
        client_ids: frozenset[int] | None = None
        if not row.all_clients:
            listed = self._db.execute(_USER_CLIENTS, {"user_id": row.id}).scalars()
            client_ids = frozenset(int(client_id) for client_id in listed)
        return UserRecord(
            id=row.id,
            company_id=row.company_id,
            username=row.username,
            password_hash=row.password_hash,
            scopes=frozenset(row.scopes.split()),
            client_ids=client_ids,
            active=row.active,
            two_factor_secret=row.two_factor_secret,
        )

    # API clients -----------------------------------------------------------------------------
    def add_api_client(self, record: ApiClientRecord, now: object) -> int:
        result = self._db.execute(
            insert(t.api_clients).values(
                company_id=record.company_id,
                client_id=record.client_id,
                secret_hash=record.secret_hash,
                scopes=" ".join(sorted(record.scopes)),
                name=record.name,
                active=record.active,
                created_at=now,
            )
        )
        assert result.inserted_primary_key is not None
        return int(result.inserted_primary_key[0])

    def api_client(self, client_id: str) -> ApiClientRecord | None:
        row = self._db.execute(_API_CLIENT, {"client_id": client_id}).first()
        return self._api_client(row) if row else None

    def api_clients(self, company_id: int) -> list[ApiClientRecord]:
        rows = self._db.execute(
            select(t.api_clients)
            .where(t.api_clients.c.company_id == company_id)
            .order_by(t.api_clients.c.id)
        ).all()
        return [self._api_client(row) for row in rows]

    @staticmethod
    def _api_client(row: Row[tuple[object, ...]]) -> ApiClientRecord:
        return ApiClientRecord(
            id=row.id,
            company_id=row.company_id,
            client_id=row.client_id,
            secret_hash=row.secret_hash,
            scopes=frozenset(row.scopes.split()),
            name=row.name,
            active=row.active,
        )

    # App keys --------------------------------------------------------------------------------
    def add_app_key(self, record: AppKeyRecord, now: object) -> int:
        result = self._db.execute(
            insert(t.app_keys).values(
                company_id=record.company_id,
                key=record.key,
                name=record.name,
                active=record.active,
                created_at=now,
            )
        )
        assert result.inserted_primary_key is not None
        return int(result.inserted_primary_key[0])

    def app_key(self, key: str) -> AppKeyRecord | None:
        row = self._db.execute(_APP_KEY, {"key": key}).first()
        return self._app_key(row) if row else None

    def app_keys(self, company_id: int) -> list[AppKeyRecord]:
        rows = self._db.execute(
            select(t.app_keys)
            .where(t.app_keys.c.company_id == company_id)
            .order_by(t.app_keys.c.id)
        ).all()
        return [self._app_key(row) for row in rows]

    @staticmethod
    def _app_key(row: Row[tuple[object, ...]]) -> AppKeyRecord:
        return AppKeyRecord(
            id=row.id, company_id=row.company_id, key=row.key, name=row.name, active=row.active
        )
