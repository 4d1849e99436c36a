"""Companies and their users, API clients, app keys, clients, accounts and instruments."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from allotment.domain.accounts import (
    Account,
    AccountRole,
    AccountStatus,
    AccountType,
    Client,
)
from allotment.domain.errors import Conflict, Forbidden, InvalidInstruction, NotFound
from allotment.domain.identity import Company, Scope
from allotment.domain.instruments import Instrument
from allotment.domain.numbers import ZERO
from allotment.services.context import Context, record, visible_account
from allotment.services.ports import (
    ApiClientRecord,
    AppKeyRecord,
    PasswordHasher,
    UnitOfWork,
    UserRecord,
)

HOUSE_ROLES = (AccountRole.FEE, AccountRole.ERROR, AccountRole.EXTERNAL)


def house_account_id(company_id: int, role: AccountRole) -> str:
    return f"C{company_id}-{role.value.upper()}"


def create_company(
    uow: UnitOfWork, name: str, tax_rate: Decimal, currency: str, now: datetime
) -> Company:
    """A company with its house accounts: fee, error and the external contra account."""
    if uow.identity.company_by_name(name) is not None:
        raise Conflict(f"company {name!r} exists already", name=name)
    company = uow.identity.add_company(name, tax_rate, currency, now)
    for role in HOUSE_ROLES:
        account_id = house_account_id(company.id, role)
        uow.accounts.add_account(
            Account(
                id=account_id,
                company_id=company.id,
                client_id=None,
                account_key=f"{account_id}-{secrets.token_urlsafe(8)}",
                type=AccountType.MARGIN,
                role=role,
                status=AccountStatus.ACTIVE,
                currency=currency,
            ),
            now,
        )
    return company


def house_account(uow: UnitOfWork, company_id: int, role: AccountRole) -> Account:
    return check_house(uow.accounts.account(house_account_id(company_id, role)), role)


def check_house(account: Account | None, role: AccountRole) -> Account:
    """`house_account`'s check on an account read already (None: the company has none)."""
    if account is None:
        raise NotFound(f"the company has no {role.value} account", role=role.value)
    return account


def _scopes(scopes: list[str]) -> frozenset[str]:
    known = {scope.value for scope in Scope}
    unknown = [scope for scope in scopes if scope not in known]
    if unknown:
        raise InvalidInstruction(f"unknown scopes: {', '.join(unknown)}", scopes=unknown)
    return frozenset(scopes)


def create_user(
    uow: UnitOfWork,
    ctx: Context,
    hasher: PasswordHasher,
    username: str,
    password: str,
    scopes: list[str],
    client_ids: list[int] | None,
) -> UserRecord:
    ctx.require(Scope.ADMIN)
    if uow.identity.user_by_username(username) is not None:
        raise Conflict(f"username {username!r} is taken", username=username)
    if client_ids is not None:
        for client_id in client_ids:
            if uow.accounts.client(ctx.company_id, client_id) is None:
                raise NotFound(f"client {client_id} does not exist", client_id=client_id)
    user = UserRecord(
        company_id=ctx.company_id,
        username=username,
        password_hash=hasher.hash(password),
        scopes=_scopes(scopes),
        client_ids=frozenset(client_ids) if client_ids is not None else None,
    )
    user = replace(user, id=uow.identity.add_user(user, ctx.now))
    record(uow, ctx, "user.created", "user", user.id, after=_user_view(user))
    return user


def _user_view(user: UserRecord) -> dict[str, object]:
    return {"username": user.username, "scopes": sorted(user.scopes), "client_ids": user.client_ids}


def create_api_client(
    uow: UnitOfWork, ctx: Context, hasher: PasswordHasher, name: str, scopes: list[str]
) -> tuple[ApiClientRecord, str]:
    """A new API client; its secret is returned once, here, and stored only hashed."""
    ctx.require(Scope.ADMIN)
    secret = secrets.token_urlsafe(32)
    client = ApiClientRecord(
        company_id=ctx.company_id,
        client_id=f"client-{secrets.token_hex(8)}",
        secret_hash=hasher.hash(secret),
        scopes=_scopes(scopes),
        name=name,
    )
    client = replace(client, id=uow.identity.add_api_client(client, ctx.now))
    record(
        uow,
        ctx,
        "api_client.created",
        "api_client",
        client.client_id,
        after={"name": name, "scopes": sorted(client.scopes)},
    )
    return client, secret


def create_app_key(uow: UnitOfWork, ctx: Context, name: str) -> AppKeyRecord:
    ctx.require(Scope.ADMIN)
    key = AppKeyRecord(company_id=ctx.company_id, key=secrets.token_urlsafe(24), name=name)
    key = replace(key, id=uow.identity.add_app_key(key, ctx.now))
    record(uow, ctx, "app_key.created", "app_key", key.id, after={"name": name})
    return key


def create_client(uow: UnitOfWork, ctx: Context, name: str, client_id: int | None) -> Client:
    ctx.require(Scope.ADMIN)
    if client_id is not None and uow.accounts.client(ctx.company_id, client_id) is not None:
        raise Conflict(f"client {client_id} exists already", client_id=client_id)
    client = Client(
        id=client_id or 0,
        company_id=ctx.company_id,
        name=name,
        client_key=secrets.token_urlsafe(16),
    )
    client = uow.accounts.add_client(client, ctx.now)
    record(uow, ctx, "client.created", "client", client.id, after={"name": name})
    return client


def visible_client(uow: UnitOfWork, ctx: Context, client_id: int) -> Client:
    client = uow.accounts.client(ctx.company_id, client_id)
    if client is None:
        raise NotFound(f"client {client_id} does not exist", client_id=client_id)
    if not ctx.principal.may_act_for_client(client.id):
        raise Forbidden(f"not authorised for client {client_id}", client_id=client_id)
    return client


def open_account(
    uow: UnitOfWork,
    ctx: Context,
    *,
    account_id: str,
    client_id: int | None,
    account_type: AccountType,
    role: AccountRole,
    currency: str,
    credit_limit: Decimal = ZERO,
    account_key: str | None = None,
) -> Account:
    ctx.require(Scope.ADMIN)
    if role in HOUSE_ROLES:
        raise InvalidInstruction(
            f"{role.value} accounts are created with the company", role=role.value
        )
    if role is AccountRole.CLIENT and client_id is None:
        raise InvalidInstruction("a client account needs a client_id")
    if client_id is not None:
        visible_client(uow, ctx, client_id)
    if account_type is AccountType.CASH and credit_limit != 0:
        raise InvalidInstruction("a cash account has no credit limit")
    if uow.accounts.account(account_id) is not None:
        raise Conflict(f"account {account_id} exists already", account_id=account_id)
    key = account_key or secrets.token_urlsafe(16)
    if uow.accounts.account_by_key(key) is not None:
        raise Conflict("that account key is taken")
    account = Account(
        id=account_id,
        company_id=ctx.company_id,
        client_id=client_id,
        account_key=key,
        type=account_type,
        role=role,
        status=AccountStatus.ACTIVE,
        currency=currency,
        credit_limit=credit_limit,
    )
    uow.accounts.add_account(account, ctx.now)
    record(uow, ctx, "account.opened", "account", account.id, after=_account_view(account))
    return account


def close_account(uow: UnitOfWork, ctx: Context, account_id: str) -> Account:
    ctx.require(Scope.ADMIN)
    account = visible_account(uow, ctx, account_id)
    if account.role in HOUSE_ROLES:
        raise InvalidInstruction("house accounts cannot be closed")
    if account.status is AccountStatus.CLOSED:
        return account
    uow.accounts.set_status(account.id, AccountStatus.CLOSED, ctx.now)
    closed = replace(account, status=AccountStatus.CLOSED)
    record(
        uow,
        ctx,
        "account.closed",
        "account",
        account.id,
        before=_account_view(account),
        after=_account_view(closed),
    )
    return closed


def _account_view(account: Account) -> dict[str, object]:
    return {
        "client_id": account.client_id,
        "type": account.type.value,
        "role": account.role.value,
        "status": account.status.value,
        "currency": account.currency,
        "credit_limit": account.credit_limit,
    }


def create_instrument(uow: UnitOfWork, ctx: Context, instrument: Instrument) -> Instrument:
    ctx.require(Scope.ADMIN)
    if uow.instruments.by_symbol(instrument.symbol) is not None:
        raise Conflict(f"instrument {instrument.symbol} exists already", symbol=instrument.symbol)
    if uow.instruments.by_uic(instrument.uic, instrument.asset_type) is not None:
        raise Conflict(f"Uic {instrument.uic} ({instrument.asset_type}) exists already")
    if instrument.quantity_increment <= 0 or instrument.price_increment <= 0:
        raise InvalidInstruction("increments must be positive")
    created = uow.instruments.add(instrument)
    record(
        uow,
        ctx,
        "instrument.created",
        "instrument",
        created.id,
        after={"symbol": created.symbol, "uic": created.uic},
    )
    return created
