"""Native API: clearing sessions (SPEC §5). Close a trade date, read its session and its
report as JSON or CSV."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel
from starlette.responses import Response

from allotment.entrypoints.http.deps import ContainerDep, NativeContext
from allotment.entrypoints.http.native.schemas import DatePath
from allotment.services import clearing
from allotment.services.clearing_report import ClearingReport

router = APIRouter(prefix="/api/v1/clearing", tags=["Clearing"])

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
    },
}
PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {
        "description": description,
        "content": {"application/problem+json": {"schema": PROBLEM_SCHEMA}},
    }
    for status, description in (
        (401, "No valid token"),
        (403, "Closing needs the admin scope; reading needs access to every client"),
        (409, "A concurrent change refused by the database (retry)"),
        (422, "Not a date (YYYY-MM-DD), or a trade date in the future"),
    )
}


class SessionOut(BaseModel):
    trade_date: date
    status: str
    """open or closed."""
    closed_at: datetime | None
    closed_by: str | None
    allocation_count: int
    totals: dict[str, Any]
    """Per currency (counts, trade values by side, fees, net amounts paid and received) and
    per instrument (quantities bought and sold); amounts as decimal strings."""


def _session(report: ClearingReport) -> SessionOut:
    return SessionOut(
        trade_date=report.trade_date,
        status=report.status,
        closed_at=report.closed_at,
        closed_by=report.closed_by,
        allocation_count=report.allocation_count,
        totals=report.totals,
    )


@router.post("/sessions/{trade_date}/close", response_model=SessionOut, responses=PROBLEMS)
def close_session(trade_date: DatePath, ctx: NativeContext, box: ContainerDep) -> SessionOut:
    """Register every booking of the trade date in the clearing report and make them final
    (admin). Closing a closed session changes nothing and answers the same."""
    with box.uow() as uow:
        report = clearing.close_session(uow, ctx, trade_date)
        uow.commit()
    return _session(report)


@router.get("/sessions/{trade_date}", response_model=SessionOut, responses=PROBLEMS)
def get_session(trade_date: DatePath, ctx: NativeContext, box: ContainerDep) -> SessionOut:
    """The session of a trade date; an open session shows its bookings so far."""
    with box.uow(write=False) as uow:
        report = clearing.get_report(uow, ctx, trade_date)
    return _session(report)


@router.get(
    "/sessions/{trade_date}/report",
    responses={200: {"content": {"application/json": {}}}, **PROBLEMS},
    response_class=Response,
)
def get_report(trade_date: DatePath, ctx: NativeContext, box: ContainerDep) -> Response:
    """The clearing report as stored at the close (provisional while the session is open):
    one row per allocation, reversals of the day, and totals."""
    with box.uow(write=False) as uow:
        report = clearing.get_report(uow, ctx, trade_date)
    return Response(report.json_text, media_type="application/json")


@router.get(
    "/sessions/{trade_date}/report.csv",
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}, **PROBLEMS},
    response_class=Response,
)
def get_report_csv(trade_date: DatePath, ctx: NativeContext, box: ContainerDep) -> Response:
    """The clearing report as CSV: an `allocation` record per allocation, then a `total`
    record per currency."""
    with box.uow(write=False) as uow:
        report = clearing.get_report(uow, ctx, trade_date)
    filename = f"clearing-{trade_date.isoformat()}.csv"
    return Response(
        report.csv_text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
