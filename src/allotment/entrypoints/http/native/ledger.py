"""Native API: cash, opening positions, balances, the journal, reversals, allocations and the
audit trail."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Query, status
from starlette.concurrency import run_in_threadpool

from allotment.bootstrap import Container
from allotment.domain.errors import NotFound
from allotment.domain.identity import Scope
from allotment.domain.instruments import Instrument
from allotment.domain.ledger import AssetKind
from allotment.entrypoints.http.deps import ContainerDep, NativeContext
from allotment.entrypoints.http.native.schemas import (
    AfterId,
    AllocationOut,
    AuditOut,
    BalancesOut,
    CashIn,
    CashOut,
    EntryCreated,
    EntryOut,
    IdPath,
    Page,
    PositionIn,
    PositionOut,
    PostingOut,
    ReverseIn,
)
from allotment.services.clearing import on_trade_date
from allotment.services.context import Context, visible_account_ids
from allotment.services.journal import ledger
from allotment.services.ports import AllocationRow, EntryFilter, StoredEntry

router = APIRouter(prefix="/api/v1", tags=["Ledger"])
Limit = Query(default=100, ge=1, le=1000)


@router.post("/ledger/deposits", response_model=EntryCreated, status_code=status.HTTP_201_CREATED)
async def deposit(body: CashIn, ctx: NativeContext, box: ContainerDep) -> EntryCreated:
    """Cash into an account from the external account (one balanced journal entry)."""
    return await run_in_threadpool(_move_cash, box, ctx, body, True)


@router.post(
    "/ledger/withdrawals", response_model=EntryCreated, status_code=status.HTTP_201_CREATED
)
async def withdraw(body: CashIn, ctx: NativeContext, box: ContainerDep) -> EntryCreated:
    """Cash out of an account to the external account; never below the account's floor."""
    return await run_in_threadpool(_move_cash, box, ctx, body, False)


def _move_cash(box: Container, ctx: Context, body: CashIn, deposit: bool) -> EntryCreated:
    """A deposit or a withdrawal, booked on the thread pool: the endpoint itself is async so
    that its answer is not sent to the thread pool a second time to be checked (decision
    0052)."""
    with box.uow() as uow:
        entry_id = ledger.move_cash(
            uow,
            on_trade_date(ctx, body.trade_date),
            body.account_id,
            body.amount,
            deposit=deposit,
            currency=body.currency,
        )
        uow.commit()
    return EntryCreated(entry_id=entry_id)


@router.post(
    "/ledger/opening-positions", response_model=EntryCreated, status_code=status.HTTP_201_CREATED
)
def opening_position(body: PositionIn, ctx: NativeContext, box: ContainerDep) -> EntryCreated:
    """A position the account already holds, booked at its cost against the external account."""
    with box.uow() as uow:
        instrument = uow.instruments.by_symbol(body.symbol)
        if instrument is None:
            raise NotFound(f"instrument {body.symbol} does not exist", symbol=body.symbol)
        dated = on_trade_date(ctx, body.trade_date)
        entry_id = ledger.open_position(
            uow, dated, body.account_id, instrument, body.quantity, body.price
        )
        uow.commit()
    return EntryCreated(entry_id=entry_id)


@router.get("/accounts/{account_id}/balances", response_model=BalancesOut)
def balances(account_id: str, ctx: NativeContext, box: ContainerDep) -> BalancesOut:
    """The account's positions (with average cost) and cash balances."""
    with box.uow(write=False) as uow:
        found = ledger.account_balances(uow, ctx, account_id)
        instruments = {str(i.id): i for i in uow.instruments.list()}
    positions = [
        PositionOut(
            instrument_id=int(asset),
            symbol=instruments[asset].symbol,
            quantity=balance.quantity,
            average_cost=balance.average_cost(),
        )
        for asset, balance in sorted(found.positions.items())
    ]
    cash = [
        CashOut(currency=currency, amount=balance.quantity)
        for currency, balance in sorted(found.cash.items())
    ]
    return BalancesOut(account_id=account_id, positions=positions, cash=cash)


def entry_out(stored: StoredEntry) -> EntryOut:
    return EntryOut(
        id=stored.id,
        entry_type=stored.entry.entry_type,
        description=stored.entry.description,
        trade_date=stored.trade_date,
        created_at=stored.created_at,
        created_by=stored.created_by,
        dialect=stored.dialect,
        reverses_entry_id=stored.entry.reverses_entry_id,
        postings=[
            PostingOut(
                account_id=p.account_id,
                kind=p.kind.value,
                asset=p.asset,
                amount=p.amount,
                price=p.price if p.kind is AssetKind.SECURITY else None,
            )
            for p in stored.entry.postings
        ],
    )


@router.get("/ledger/journal", response_model=Page[EntryOut])
def journal(
    ctx: NativeContext,
    box: ContainerDep,
    account_id: str | None = None,
    trade_date_from: date | None = None,
    trade_date_to: date | None = None,
    entry_type: str | None = None,
    after_id: AfterId = 0,
    limit: int = Limit,
) -> Page[EntryOut]:
    """Journal entries, oldest first; page with `after_id` = the last id seen."""
    query = EntryFilter(
        company_id=ctx.company_id,
        account_id=account_id,
        trade_date_from=trade_date_from,
        trade_date_to=trade_date_to,
        entry_type=entry_type,
        after_id=after_id,
        limit=limit,
    )
    with box.uow(write=False) as uow:
        entries = ledger.journal(uow, ctx, query)
    items = [entry_out(stored) for stored in entries]
    return Page[EntryOut](items=items, next_after_id=items[-1].id if len(items) == limit else None)


@router.get("/ledger/entries/{entry_id}", response_model=EntryOut)
def get_entry(entry_id: IdPath, ctx: NativeContext, box: ContainerDep) -> EntryOut:
    """One journal entry with its postings."""
    with box.uow(write=False) as uow:
        return entry_out(ledger.get_entry(uow, ctx, entry_id))


@router.post(
    "/ledger/entries/{entry_id}/reverse",
    response_model=EntryCreated,
    status_code=status.HTTP_201_CREATED,
)
def reverse(
    entry_id: IdPath, body: ReverseIn, ctx: NativeContext, box: ContainerDep
) -> EntryCreated:
    """Reverse an entry: a new entry with every posting turned round, pointing to the original (once
    only)."""
    with box.uow() as uow:
        dated = on_trade_date(ctx, body.trade_date)
        reversal_id = ledger.reverse_entry(uow, dated, entry_id, body.reason)
        uow.commit()
    return EntryCreated(entry_id=reversal_id)


def allocation_out(row: AllocationRow, instrument: Instrument | None = None) -> AllocationOut:
    assert row.id is not None
    return AllocationOut(
        id=row.id,
        dialect=row.dialect,
        trade_date=row.trade_date,
        account_id=row.account_id,
        source_account_id=row.source_account_id,
        instrument_id=row.instrument_id,
        side=row.side,
        action=row.action,
        quantity=row.quantity,
        price=row.price,
        trade_value=row.trade_value,
        commission=row.commission,
        tax=row.tax,
        other_fees=row.other_fees,
        net_amount=row.net_amount,
        block_id=row.block_id,
        reference=row.reference,
        comment=row.comment,
        status=row.status,
        entry_id=row.entry_id,
        created_at=row.created_at,
        created_by=row.created_by,
        settlement_date=row.settlement_date,
        late=row.late,
        symbol=instrument.symbol if instrument else None,
        isin=instrument.isin if instrument else None,
    )


@router.get("/allocations/{allocation_id}", response_model=AllocationOut, tags=["Allocations"])
def get_allocation(allocation_id: IdPath, ctx: NativeContext, box: ContainerDep) -> AllocationOut:
    """One booked allocation."""
    ctx.require(Scope.READ)
    with box.uow(write=False) as uow:
        row = uow.allocations.get(ctx.company_id, allocation_id)
        visible = visible_account_ids(uow, ctx)
    if row is None or (visible is not None and row.account_id not in visible):
        raise NotFound(f"allocation {allocation_id} does not exist")
    return allocation_out(row)


@router.get("/audit-events", response_model=Page[AuditOut], tags=["Audit"])
def audit_events(
    ctx: NativeContext,
    box: ContainerDep,
    object_type: str | None = None,
    after_id: AfterId = 0,
    limit: int = Limit,
) -> Page[AuditOut]:
    """Who changed what, when, through which API (admin scope)."""
    ctx.require(Scope.ADMIN)
    with box.uow(write=False) as uow:
        events = uow.audit.list(ctx.company_id, object_type, after_id, limit)
    items = [
        AuditOut(
            id=e.id or 0,
            at=e.at,
            actor=e.actor,
            actor_kind=e.actor_kind,
            action=e.action,
            object_type=e.object_type,
            object_id=e.object_id,
            dialect=e.dialect,
            before=dict(e.before) if e.before else None,
            after=dict(e.after) if e.after else None,
        )
        for e in events
    ]
    return Page[AuditOut](items=items, next_after_id=items[-1].id if len(items) == limit else None)
