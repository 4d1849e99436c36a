"""Saxo's account list (`GET /port/v1/accounts`), so that a Saxo client finds the account keys
of the block trading account and of the client accounts it allocates to.

Saxo models a money manager as a master client with sub-clients. Here the company is the master
client: its block trading (average) accounts belong to no client of ours, so they carry the
company's master client key; each client of the company is a sub-client.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from allotment.domain.accounts import Account, AccountRole, Client
from allotment.domain.errors import Forbidden, NotFound
from allotment.domain.identity import Scope
from allotment.services.context import Context
from allotment.services.ports import UnitOfWork

LISTED_ROLES = (AccountRole.AVERAGE, AccountRole.CLIENT)
CHUNK = 5000


def master_client_key(company_id: int) -> str:
    """The ClientKey (and ClientId) standing for the company itself, the master client."""
    return f"C{company_id}"


@dataclass(frozen=True, slots=True)
class AccountRow:
    account: Account
    client_id: str
    client_key: str


@dataclass(frozen=True, slots=True)
class AccountPage:
    rows: list[AccountRow]
    count: int
    legal_asset_types: tuple[str, ...]


def clients_by_id(uow: UnitOfWork, company_id: int, client_ids: Iterable[int]) -> dict[int, Client]:
    """The clients, read in chunks (an IN list per chunk)."""
    wanted = sorted(set(client_ids))
    found: dict[int, Client] = {}
    for start in range(0, len(wanted), CHUNK):
        chunk = frozenset(wanted[start : start + CHUNK])
        found.update((client.id, client) for client in uow.accounts.clients(company_id, chunk))
    return found


def client_fields(
    account: Account, clients: Mapping[int, Client], company_id: int
) -> tuple[str, str]:
    """(ClientId, ClientKey) of an account: its client's, or the master client's."""
    if account.client_id is None:
        master = master_client_key(company_id)
        return master, master
    client = clients.get(account.client_id)
    return str(account.client_id), client.client_key if client is not None else ""


def list_accounts(
    uow: UnitOfWork,
    ctx: Context,
    *,
    client_key: str | None,
    include_sub_accounts: bool,
    skip: int = 0,
    top: int = 1000,
) -> AccountPage:
    """The master client's accounts (and with `include_sub_accounts` its clients' accounts),
    or one client's accounts; only what the caller may see."""
    ctx.require(Scope.READ)
    visible = [
        account
        for account in uow.accounts.accounts(ctx.company_id, ctx.principal.client_ids)
        if account.role in LISTED_ROLES
    ]
    chosen = _chosen(uow, ctx, visible, client_key, include_sub_accounts)
    chosen.sort(key=lambda account: (account.client_id is not None, account.id))
    page = chosen[skip : skip + top]
    clients = clients_by_id(uow, ctx.company_id, (a.client_id for a in page if a.client_id))
    rows = [AccountRow(a, *client_fields(a, clients, ctx.company_id)) for a in page]
    asset_types = tuple(sorted({i.asset_type for i in uow.instruments.list()}))
    return AccountPage(rows, len(chosen), asset_types)


def _chosen(
    uow: UnitOfWork,
    ctx: Context,
    visible: Sequence[Account],
    client_key: str | None,
    include_sub_accounts: bool,
) -> list[Account]:
    if client_key is None or client_key == master_client_key(ctx.company_id):
        return [a for a in visible if a.client_id is None or include_sub_accounts]
    client = uow.accounts.client_by_key(ctx.company_id, client_key)
    if client is None:
        raise NotFound(f"ClientKey {client_key} is unknown", client_key=client_key)
    if not ctx.principal.may_act_for_client(client.id):
        raise Forbidden(f"not authorised for client {client.id}", client_id=client.id)
    return [a for a in visible if a.client_id == client.id]
