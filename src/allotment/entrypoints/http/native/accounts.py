"""Native API: clients, trading accounts and instruments."""

from __future__ import annotations

from fastapi import APIRouter, status

from allotment.domain.accounts import Account, AccountRole, AccountType, Client
from allotment.domain.errors import NotFound
from allotment.domain.identity import Scope
from allotment.domain.instruments import Instrument, settlement_cycle
from allotment.entrypoints.http.deps import ContainerDep, NativeContext
from allotment.entrypoints.http.native.schemas import (
    AccountIn,
    AccountOut,
    ClientIn,
    ClientOut,
    IdPath,
    IdQuery,
    InstrumentIn,
    InstrumentOut,
)
from allotment.services import registry
from allotment.services.context import visible_account

router = APIRouter(prefix="/api/v1", tags=["Clients and accounts"])


def _client(client: Client) -> ClientOut:
    return ClientOut(id=client.id, name=client.name, client_key=client.client_key)


def account_out(account: Account) -> AccountOut:
    return AccountOut(
        id=account.id,
        account_key=account.account_key,
        client_id=account.client_id,
        type=account.type.value,
        role=account.role.value,
        status=account.status.value,
        currency=account.currency,
        credit_limit=account.credit_limit,
    )


@router.post("/clients", response_model=ClientOut, status_code=status.HTTP_201_CREATED)
def create_client(body: ClientIn, ctx: NativeContext, box: ContainerDep) -> ClientOut:
    """A new client of the company."""
    with box.uow() as uow:
        client = registry.create_client(uow, ctx, body.name, body.id)
        uow.commit()
    return _client(client)


@router.get("/clients", response_model=list[ClientOut])
def list_clients(ctx: NativeContext, box: ContainerDep) -> list[ClientOut]:
    """The clients the caller may see."""
    ctx.require(Scope.READ)
    with box.uow(write=False) as uow:
        clients = uow.accounts.clients(ctx.company_id, ctx.principal.client_ids)
    return [_client(client) for client in clients]


@router.get("/clients/{client_id}", response_model=ClientOut)
def get_client(client_id: IdPath, ctx: NativeContext, box: ContainerDep) -> ClientOut:
    """One client (404 for another company's, 403 for a client the caller may not see)."""
    ctx.require(Scope.READ)
    with box.uow(write=False) as uow:
        return _client(registry.visible_client(uow, ctx, client_id))


@router.post("/accounts", response_model=AccountOut, status_code=status.HTTP_201_CREATED)
def open_account(body: AccountIn, ctx: NativeContext, box: ContainerDep) -> AccountOut:
    """Open a trading account for a client, or a house account (fee, error, average)."""
    with box.uow() as uow:
        account = registry.open_account(
            uow,
            ctx,
            account_id=body.id,
            client_id=body.client_id,
            account_type=AccountType(body.type),
            role=AccountRole(body.role),
            currency=body.currency,
            credit_limit=body.credit_limit,
            account_key=body.account_key,
        )
        uow.commit()
    return account_out(account)


@router.get("/accounts", response_model=list[AccountOut])
def list_accounts(
    ctx: NativeContext, box: ContainerDep, client_id: IdQuery = None
) -> list[AccountOut]:
    """The accounts the caller may see, of one client with `client_id`."""
    ctx.require(Scope.READ)
    with box.uow(write=False) as uow:
        accounts = uow.accounts.accounts(ctx.company_id, ctx.principal.client_ids, client_id)
    return [account_out(account) for account in accounts]


@router.get("/accounts/{account_id}", response_model=AccountOut)
def get_account(account_id: str, ctx: NativeContext, box: ContainerDep) -> AccountOut:
    """One account by its id."""
    ctx.require(Scope.READ)
    with box.uow(write=False) as uow:
        return account_out(visible_account(uow, ctx, account_id))


@router.post("/accounts/{account_id}/close", response_model=AccountOut)
def close_account(account_id: str, ctx: NativeContext, box: ContainerDep) -> AccountOut:
    """Close a client account (admin): nothing more is booked on it; house accounts stay open."""
    with box.uow() as uow:
        account = registry.close_account(uow, ctx, account_id)
        uow.commit()
    return account_out(account)


def _instrument(instrument: Instrument) -> InstrumentOut:
    return InstrumentOut(
        id=instrument.id,
        symbol=instrument.symbol,
        uic=instrument.uic,
        asset_type=instrument.asset_type,
        currency=instrument.currency,
        quantity_increment=instrument.quantity_increment,
        price_increment=instrument.price_increment,
        isin=instrument.isin,
        cusip=instrument.cusip,
        market=instrument.market,
        settlement_days=settlement_cycle(instrument),
    )


@router.post("/instruments", response_model=InstrumentOut, status_code=status.HTTP_201_CREATED)
def create_instrument(body: InstrumentIn, ctx: NativeContext, box: ContainerDep) -> InstrumentOut:
    """A new instrument: symbol, Saxo Uic, asset type, currency and increments."""
    with box.uow() as uow:
        created = registry.create_instrument(
            uow,
            ctx,
            Instrument(
                id=0,
                symbol=body.symbol,
                uic=body.uic,
                asset_type=body.asset_type,
                currency=body.currency,
                quantity_increment=body.quantity_increment,
                price_increment=body.price_increment,
                isin=body.isin,
                cusip=body.cusip,
                market=body.market,
                settlement_days=body.settlement_days,
            ),
        )
        uow.commit()
    return _instrument(created)


@router.get("/instruments", response_model=list[InstrumentOut])
def list_instruments(ctx: NativeContext, box: ContainerDep) -> list[InstrumentOut]:
    """Every instrument."""
    ctx.require(Scope.READ)
    with box.uow(write=False) as uow:
        return [_instrument(instrument) for instrument in uow.instruments.list()]


@router.get("/instruments/{symbol}", response_model=InstrumentOut)
def get_instrument(symbol: str, ctx: NativeContext, box: ContainerDep) -> InstrumentOut:
    """One instrument by its symbol."""
    ctx.require(Scope.READ)
    with box.uow(write=False) as uow:
        instrument = uow.instruments.by_symbol(symbol)
    if instrument is None:
        raise NotFound(f"instrument {symbol} does not exist", symbol=symbol)
    return _instrument(instrument)
