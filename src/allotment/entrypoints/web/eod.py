"""End of day: a trade date's clearing session, closing it (after a confirmation step) and its
report as CSV or JSON: the same services as /api/v1/clearing."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from allotment.domain.errors import InvalidInstruction
from allotment.entrypoints.web.rendering import PREFIX, SECURITY_HEADERS, page
from allotment.entrypoints.web.session import Reader, Writer
from allotment.services import clearing

router = APIRouter(prefix=f"{PREFIX}/eod", include_in_schema=False)


@router.get("")
def end_of_day(request: Request, found: Reader, day: date | None = None) -> Response:
    day = day or found.business_day()
    with found.box.uow(write=False) as uow:
        report = clearing.get_report(uow, found.ctx, day)
    values = {
        "user": found,
        "day": day,
        "report": report,
        "closed": request.query_params.get("closed"),
    }
    return page(request, "eod.html", values)


@router.get("/{day}/close")
def confirm_close(request: Request, day: date, found: Reader) -> Response:
    """The confirmation step: what closing will make final."""
    with found.box.uow(write=False) as uow:
        report = clearing.get_report(uow, found.ctx, day)
    return page(request, "eod_close.html", {"user": found, "day": day, "report": report})


@router.post("/{day}/close")
async def close(request: Request, day: date, found: Writer) -> Response:
    form = await request.form()
    if form.get("confirm") != "yes":
        raise InvalidInstruction("tick the confirmation to close the trade date")
    with found.box.uow() as uow:
        clearing.close_session(uow, found.ctx, day)
        uow.commit()
    return RedirectResponse(f"{PREFIX}/eod?day={day.isoformat()}&closed=1", status_code=303)


@router.get("/{day}/report.csv")
def report_csv(day: date, found: Reader) -> Response:
    with found.box.uow(write=False) as uow:
        report = clearing.get_report(uow, found.ctx, day)
    headers = {
        **SECURITY_HEADERS,
        "Content-Disposition": f'attachment; filename="clearing-{day.isoformat()}.csv"',
    }
    return Response(report.csv_text, media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/{day}/report.json")
def report_json(day: date, found: Reader) -> Response:
    with found.box.uow(write=False) as uow:
        report = clearing.get_report(uow, found.ctx, day)
    headers = {
        **SECURITY_HEADERS,
        "Content-Disposition": f'attachment; filename="clearing-{day.isoformat()}.json"',
    }
    return Response(report.json_text, media_type="application/json", headers=headers)
