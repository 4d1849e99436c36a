"""Who calls, as Saxo's portfolio service tells it (`/port/v1/users/...`, `/port/v1/clients/...`).

Saxo's clients read the caller's ClientKey from the token's `cid` claim and its UserKey from
`uid`, then ask for the user and the client (the DefaultAccountKey is the account they trade
on). Here the company is the master client (saxo/accounts): every user and API client of a
company carries the master client's key, and its default account is the company's first open
block trading (average) account, in the company's currency where there is one. A sub-client
(a client of the company) is shown with its own first open account.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from allotment.domain.accounts import Account, AccountRole, AccountType
from allotment.domain.errors import Forbidden, NotFound
from allotment.domain.identity import PrincipalKind, Scope
from allotment.services.context import Context
from allotment.services.ports import UnitOfWork
from allotment.services.saxo.accounts import master_client_key

ME = "me"


@dataclass(frozen=True, slots=True)
class UserDetails:
    user_key: str
    user_id: str
    name: str
    client_key: str
    legal_asset_types: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ClientDetails:
    client_id: str
    client_key: str
    name: str
    currency: str
    default_account: Account | None
    legal_asset_types: tuple[str, ...]

    @property
    def margin_trading_allowed(self) -> bool:
        account = self.default_account
        return account is not None and account.type is not AccountType.CASH


def user_key_of(ctx: Context) -> str:
    """The caller's UserKey: its username, or its API client id."""
    return ctx.principal.subject


def user_details(uow: UnitOfWork, ctx: Context, user_key: str) -> UserDetails:
    """The caller (`me`, or its own UserKey), or with the admin scope another user of the
    company; any other key names no user the caller may see."""
    ctx.require(Scope.READ)
    wanted = user_key_of(ctx) if user_key == ME else user_key
    if wanted != user_key_of(ctx) and not ctx.principal.has(Scope.ADMIN):
        raise NotFound(f"UserKey {user_key} is unknown", user_key=user_key)
    name, user_id = _named(uow, ctx, wanted)
    return UserDetails(wanted, user_id, name, master_client_key(ctx.company_id), _asset_types(uow))


def _named(uow: UnitOfWork, ctx: Context, key: str) -> tuple[str, str]:
    own_client = key == user_key_of(ctx) and ctx.principal.kind is PrincipalKind.API_CLIENT
    if own_client:
        client = uow.identity.api_client(key)
        if client is not None and client.company_id == ctx.company_id:
            return client.name, str(client.id)
    user = uow.identity.user_by_username(key)
    if user is None or user.company_id != ctx.company_id:
        raise NotFound(f"UserKey {key} is unknown", user_key=key)
    return user.username, str(user.id)


def client_details(uow: UnitOfWork, ctx: Context, client_key: str) -> ClientDetails:
    """The master client (`me`, or its ClientKey) or one of its sub-clients."""
    ctx.require(Scope.READ)
    company = uow.identity.company(ctx.company_id)
    assert company is not None
    master = master_client_key(ctx.company_id)
    if client_key in (ME, master):
        average = uow.accounts.accounts_of_role(ctx.company_id, AccountRole.AVERAGE.value)
        default = _first_open(average, company.currency)
        return ClientDetails(
            master, master, company.name, company.currency, default, _asset_types(uow)
        )
    client = uow.accounts.client_by_key(ctx.company_id, client_key)
    if client is None:
        raise NotFound(f"ClientKey {client_key} is unknown", client_key=client_key)
    if not ctx.principal.may_act_for_client(client.id):
        raise Forbidden(f"not authorised for client {client.id}", client_id=client.id)
    own = uow.accounts.accounts(ctx.company_id, None, client_id=client.id)
    default = _first_open(own, None)
    currency = default.currency if default is not None else company.currency
    return ClientDetails(
        str(client.id), client.client_key, client.name, currency, default, _asset_types(uow)
    )


def _first_open(accounts: Sequence[Account], currency: str | None) -> Account | None:
    """The first open account by id, one in `currency` if there is one."""
    open_ones = sorted((a for a in accounts if a.is_open), key=lambda a: a.id)
    preferred = [a for a in open_ones if a.currency == currency]
    chosen = preferred or open_ones
    return chosen[0] if chosen else None


def _asset_types(uow: UnitOfWork) -> tuple[str, ...]:
    return tuple(sorted({instrument.asset_type for instrument in uow.instruments.list()}))
