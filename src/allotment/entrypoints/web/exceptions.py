"""The exceptions queue: what the desk must still act on, each with what to do next: blocks
whose fills are not all allocated, what the error account holds and received, the allocation
items the dialects refused, and (admin) the idempotency keys still in flight."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import Response

from allotment.domain.accounts import AccountRole
from allotment.domain.identity import Scope
from allotment.entrypoints.web.rendering import PREFIX, page
from allotment.entrypoints.web.session import Reader
from allotment.services import calendar
from allotment.services.desk import blocks as desk_blocks
from allotment.services.desk import records as desk_records
from allotment.services.journal import ledger
from allotment.services.ports import EntryFilter
from allotment.services.registry import house_account_id

router = APIRouter(prefix=PREFIX, include_in_schema=False)
SHOWN = 50


@router.get("/exceptions")
def exceptions(request: Request, found: Reader, day: date | None = None) -> Response:
    day = day or found.business_day()
    error_account = house_account_id(found.ctx.company_id, AccountRole.ERROR)
    with found.box.uow(write=False) as uow:
        remainders = desk_blocks.blotter(uow, found.ctx, day, limit=SHOWN, unallocated_only=True)
        balances = ledger.account_balances(uow, found.ctx, error_account)
        entries = ledger.journal(
            uow,
            found.ctx,
            EntryFilter(
                company_id=found.ctx.company_id,
                account_id=error_account,
                trade_date_from=day,
                trade_date_to=day,
                limit=SHOWN,
            ),
        )
        symbols = {str(i.id): i.symbol for i in uow.instruments.list()}
        zone = calendar.company_time_zone(uow, found.ctx.company_id)
        refused = desk_records.refusals(uow, found.ctx, *desk_blocks.day_bounds(day, zone), SHOWN)
        admin = found.ctx.principal.has(Scope.ADMIN)
        keys = desk_records.keys_in_flight(uow, found.ctx, SHOWN) if admin else None
    values = {
        "user": found,
        "day": day,
        "remainders": remainders.rows,
        "error_account": error_account,
        "error_positions": [
            (symbols.get(asset, asset), balance)
            for asset, balance in sorted(balances.positions.items())
            if balance.quantity
        ],
        "error_cash": [(c, b) for c, b in sorted(balances.cash.items()) if b.quantity],
        "entries": entries,
        "refusals": [(r, desk_records.next_step(r)) for r in refused],
        "keys": keys,
    }
    return page(request, "exceptions.html", values)
