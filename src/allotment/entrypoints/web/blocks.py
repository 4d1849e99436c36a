"""The blotter and a block's page: fills, booked allocations, a preview of a new allocation
(table and chart), booking it, and reversing one allocation. Every call goes to a service with
the session's `Context`."""

from __future__ import annotations

import secrets
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from allotment.domain.allocation.model import Method
from allotment.domain.errors import AllotmentError, InvalidInstruction, NotFound
from allotment.domain.identity import Scope
from allotment.entrypoints.http.errors import status_for
from allotment.entrypoints.web.charts import Bar, target_vs_given
from allotment.entrypoints.web.rendering import PREFIX, page
from allotment.entrypoints.web.session import Reader, Writer
from allotment.services import blocks
from allotment.services.context import visible_account_ids
from allotment.services.desk import blocks as desk_blocks
from allotment.services.desk import records as desk_records
from allotment.services.desk.blocks import DeskPreview, Participant
from allotment.services.journal import ledger

router = APIRouter(prefix=PREFIX, include_in_schema=False)
PAGE_SIZE = 50
METHODS = [m.value for m in Method]


@router.get("/")
def blotter(
    request: Request,
    found: Reader,
    day: date | None = None,
    symbol: str = "",
    account: str = "",
    status: str = "",
    before: int | None = None,
) -> Response:
    """Today's blocks across every dialect, newest first, filtered and paged on the server."""
    day = day or found.business_day()
    error = None
    rows: list[desk_blocks.BlotterRow] = []
    next_before = None
    with found.box.uow(write=False) as uow:
        try:
            result = desk_blocks.blotter(
                uow,
                found.ctx,
                day,
                symbol=symbol.strip() or None,
                account_id=account.strip() or None,
                status=status or None,
                before_id=before,
                limit=PAGE_SIZE,
            )
            rows, next_before = result.rows, result.next_before_id
        except InvalidInstruction as refused:
            error = str(refused)
    filters = {"day": day.isoformat(), "symbol": symbol, "account": account, "status": status}
    values = {
        "user": found,
        "rows": rows,
        "filters": filters,
        "statuses": desk_blocks.STATUSES,
        "next_before": next_before,
        "error": error,
    }
    return page(request, "blotter.html", values, 422 if error else 200)


def block_values(found: Reader, block_id: int) -> dict[str, Any]:
    with found.box.uow(write=False) as uow:
        block = blocks.get_block(uow, found.ctx, block_id)
        assert block.id is not None
        instrument = uow.instruments.get(block.instrument_id)
        return {
            "user": found,
            "block": block,
            "instrument": instrument,
            "average_price": blocks.average_price(block),
            "unallocated": blocks.unallocated(block),
            "fills": uow.blocks.fills(block.id),
            "allocations": desk_blocks.block_allocations(uow, found.ctx, block.id),
            "choices": desk_blocks.participant_choices(uow, found.ctx, block),
            "methods": METHODS,
            "form": {},
        }


@router.get("/blocks/{block_id}")
def block_page(request: Request, block_id: int, found: Reader) -> Response:
    values = block_values(found, block_id)
    values["booked"] = request.query_params.get("booked")
    values["reversed"] = request.query_params.get("reversed")
    values["filled"] = request.query_params.get("filled")
    return page(request, "block.html", values)


def decimal_field(text: str, what: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation as error:
        raise InvalidInstruction(f"{what} must be a number, not {text!r}") from error
    if not value.is_finite():
        raise InvalidInstruction(f"{what} must be a number, not {text!r}")
    return value


def _preview_inputs(form: FormData) -> dict[str, Any]:
    """The preview's inputs as the form sent them: a weight per chosen account."""
    participants = []
    for name, raw in form.multi_items():
        if name.startswith("weight:") and isinstance(raw, str) and raw.strip():
            account_id = name.removeprefix("weight:")
            participants.append(
                Participant(account_id, decimal_field(raw, f"the weight of {account_id}"))
            )
    method_text = str(form.get("method", "") or "")
    key = str(form.get("allocation_key_id", "") or "").strip()
    if not key and method_text not in METHODS:
        raise InvalidInstruction("choose a method (or give an allocation key)")
    if not key and not participants:
        raise InvalidInstruction("give at least one participant a weight")
    rate = str(form.get("commission_percent", "") or "0")
    return {
        "method": Method(method_text) if method_text in METHODS else None,
        "participants": participants,
        "allocation_key_id": key or None,
        "commission_rate": decimal_field(rate, "the commission") / 100,
    }


def echo(form: FormData) -> dict[str, str]:
    return {k: v for k, v in form.multi_items() if isinstance(v, str) and k != "csrf_token"}


def preview_values(previewed: DeskPreview) -> dict[str, Any]:
    found = previewed.found
    rows = found.explanation.participants
    bars = [Bar(row.key, row.target_decimal(6), row.quantity) for row in rows]
    title = f"Target and given quantity per participant of block {previewed.block.id}"
    return {
        "preview": found,
        "price": previewed.price,
        "explanation": [
            {
                "key": row.key,
                "target": row.target_decimal(6),
                "target_exact": row.target_text(),
                "given": row.quantity,
                "deviation": row.deviation_increments,
                "reason": row.reason.value,
            }
            for row in rows
        ],
        "chart": target_vs_given(bars, title),
    }


@router.post("/blocks/{block_id}/preview")
async def preview(request: Request, block_id: int, found: Writer) -> Response:
    """The engine's split of the block's unallocated quantity, priced, with fees; nothing is
    stored."""
    form = await request.form()
    values = block_values(found, block_id)
    values["form"] = echo(form)
    try:
        inputs = _preview_inputs(form)
        with found.box.uow(write=False) as uow:
            previewed = desk_blocks.preview_block(uow, found.ctx, block_id, **inputs)
    except AllotmentError as refused:
        values["error"] = str(refused)
        return page(request, "block.html", values, status_for(refused))
    values.update(preview_values(previewed))
    return page(request, "block.html", values)


@router.post("/blocks/{block_id}/book")
async def book(request: Request, block_id: int, found: Writer) -> Response:
    """Book the previewed split (computed again from the same inputs) through the block-trade
    service: every line, or none and each refusal shown."""
    form = await request.form()
    values = block_values(found, block_id)
    values["form"] = echo(form)
    reference = "D" + secrets.token_hex(3)  # unique per booking; "-n" numbers its lines
    try:
        inputs = _preview_inputs(form)
        with found.box.uow() as uow:
            previewed = desk_blocks.preview_block(uow, found.ctx, block_id, **inputs)
            outcome = desk_blocks.book_preview(uow, found.ctx, previewed, reference)
            if outcome.accepted:
                uow.commit()
    except AllotmentError as refused:
        values["error"] = str(refused)
        return page(request, "block.html", values, status_for(refused))
    if not outcome.accepted:
        items = desk_records.block_trade_items(outcome.errors, block_id)
        desk_records.record_apart(found.box.uow, found.ctx, f"block {block_id}", items)
        values.update(preview_values(previewed))
        values["refusals"] = outcome.errors
        return page(request, "block.html", values, 409)
    return RedirectResponse(
        f"{PREFIX}/blocks/{block_id}?booked={len(outcome.results)}", status_code=303
    )


@router.post("/allocations/{allocation_id}/reverse")
async def reverse(request: Request, allocation_id: int, found: Writer) -> Response:
    """Reverse one allocation's journal entry with a reason (the ledger's reversal)."""
    form = await request.form()
    reason = str(form.get("reason", "") or "").strip()
    found.ctx.require(Scope.WRITE)
    with found.box.uow() as uow:
        row = uow.allocations.get(found.ctx.company_id, allocation_id)
        visible = visible_account_ids(uow, found.ctx)
        if row is None or (visible is not None and row.account_id not in visible):
            raise NotFound(f"allocation {allocation_id} does not exist")
        if not reason:
            raise InvalidInstruction("give a reason for the reversal")
        ledger.reverse_entry(uow, found.ctx, row.entry_id, reason)
        uow.commit()
    target = (
        f"{PREFIX}/blocks/{row.block_id}" if row.block_id else f"{PREFIX}/accounts/{row.account_id}"
    )
    return RedirectResponse(f"{target}?reversed={allocation_id}", status_code=303)
