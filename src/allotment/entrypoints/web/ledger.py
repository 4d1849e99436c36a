"""Ledger and audit: an account's balances and journal, and the audit trail (admin), through
the same services and checks as /api/v1."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from allotment.domain.identity import Scope
from allotment.entrypoints.web.rendering import PREFIX, page
from allotment.entrypoints.web.session import Reader
from allotment.services.desk import records as desk_records
from allotment.services.journal import ledger
from allotment.services.ports import EntryFilter

router = APIRouter(prefix=PREFIX, include_in_schema=False)
PAGE_SIZE = 50


@router.get("/accounts")
def account_search(request: Request, found: Reader, account: str = "") -> Response:
    if account.strip():
        return account_page(request, account.strip(), found)
    return page(request, "account.html", {"user": found, "balances": None})


@router.get("/accounts/{account_id}")
def account_page(request: Request, account_id: str, found: Reader, after: int = 0) -> Response:
    with found.box.uow(write=False) as uow:
        balances = ledger.account_balances(uow, found.ctx, account_id)
        symbols = {str(i.id): i.symbol for i in uow.instruments.list()}
        entries = ledger.journal(
            uow,
            found.ctx,
            EntryFilter(
                company_id=found.ctx.company_id,
                account_id=account_id,
                after_id=after,
                limit=PAGE_SIZE,
            ),
        )
    values = {
        "user": found,
        "balances": balances,
        "positions": [
            (symbols.get(asset, asset), balance)
            for asset, balance in sorted(balances.positions.items())
        ],
        "cash": sorted(balances.cash.items()),
        "entries": entries,
        "next_after": entries[-1].id if len(entries) == PAGE_SIZE else None,
        "reversed": request.query_params.get("reversed"),
    }
    return page(request, "account.html", values)


@router.get("/audit")
def audit(
    request: Request, found: Reader, object_type: str = "", object_id: str = "", after: int = 0
) -> Response:
    """Who changed what, when and through which face (admin scope, as the API's); one object's
    trail when an object id is given."""
    found.ctx.require(Scope.ADMIN)
    kind, wanted = object_type.strip() or None, object_id.strip()
    with found.box.uow(write=False) as uow:
        if wanted:
            events = desk_records.audit_of(uow, found.ctx, kind, wanted, after, PAGE_SIZE)
        else:
            events = uow.audit.list(found.ctx.company_id, kind, after, PAGE_SIZE)
    values = {
        "user": found,
        "events": events,
        "object_type": object_type,
        "object_id": object_id,
        "next_after": events[-1].id if len(events) == PAGE_SIZE else None,
    }
    return page(request, "audit.html", values)
