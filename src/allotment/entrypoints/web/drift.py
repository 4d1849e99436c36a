"""The desk's drift page: the cumulative deviation of each account over time (a chart), intent
against outcome per account over a period, and one block's drift with every reason, through the
same services and checks as /api/v1/drift."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import Response

from allotment.domain.errors import InvalidInstruction
from allotment.entrypoints.web.deviation_chart import cumulative_deviation
from allotment.entrypoints.web.rendering import PREFIX, page
from allotment.entrypoints.web.session import Reader
from allotment.services.fairness import drift, series

router = APIRouter(prefix=PREFIX, include_in_schema=False)


def _day(text: str, name: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError as error:
        raise InvalidInstruction(f"{name} must be a date (YYYY-MM-DD)", field=name) from error


@router.get("/drift")
def drift_page(
    request: Request,
    found: Reader,
    account: str = "",
    start: str = "",
    end: str = "",
    block: str = "",
) -> Response:
    """Without an account, every account (the desk user must see every client)."""
    account_id = account.strip() or None
    period = (_day(start, "start"), _day(end, "end"))
    block_id = int(block) if block.strip().isdigit() else None
    with found.box.uow(write=False) as uow:
        lines = series.deviation_series(uow, found.ctx, account_id, period)
        totals = drift.period_drift(uow, found.ctx, account_id, period)
        one_block = drift.block_drift(uow, found.ctx, block_id) if block_id else None
    title = "Cumulative deviation from the exact targets, in increments, per account"
    values = {
        "user": found,
        "account": account_id or "",
        "start": start,
        "end": end,
        "block": block_id or "",
        "chart": cumulative_deviation(lines, title),
        "series": lines,
        "totals": [line.as_dict() for line in totals],
        "block_drift": one_block,
        "block_lines": [line.as_dict() for line in one_block.lines] if one_block else [],
        "block_events": [event.as_dict() for event in one_block.events] if one_block else [],
    }
    return page(request, "drift.html", values)
