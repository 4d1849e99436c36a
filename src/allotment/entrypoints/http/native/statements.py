"""Native API: an account's daily statement as CSV or PDF (SPEC §11)."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Query
from fastapi.responses import Response

from allotment.adapters.statement_pdf import statement_pdf
from allotment.entrypoints.http.deps import ContainerDep, NativeContext
from allotment.services import statements

router = APIRouter(prefix="/api/v1", tags=["Statements"])
DAY = Query(alias="date", description="The trade date (YYYY-MM-DD).")


def _statement(
    box: ContainerDep, ctx: NativeContext, account_id: str, day: date
) -> statements.Statement:
    with box.uow(write=False) as uow:
        return statements.daily_statement(uow, ctx, account_id, day)


def _attachment(account_id: str, day: date, suffix: str) -> dict[str, str]:
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in account_id)
    name = f"statement-{safe}-{day.isoformat()}.{suffix}"
    return {"Content-Disposition": f'attachment; filename="{name}"'}


@router.get(
    "/accounts/{account_id}/statement.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "The statement as CSV."}},
)
def statement_csv(
    account_id: str, ctx: NativeContext, box: ContainerDep, day: date = DAY
) -> Response:
    """The account's daily statement as CSV: its positions and cash at the end of the trade
    date (from the journal), and the day's allocations with their fees."""
    found = _statement(box, ctx, account_id, day)
    return Response(
        statements.statement_csv(found),
        media_type="text/csv; charset=utf-8",
        headers=_attachment(account_id, day, "csv"),
    )


@router.get(
    "/accounts/{account_id}/statement.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The statement as PDF."}},
)
def statement_pdf_route(
    account_id: str, ctx: NativeContext, box: ContainerDep, day: date = DAY
) -> Response:
    """The account's daily statement as a PDF document (the same content as the CSV)."""
    found = _statement(box, ctx, account_id, day)
    return Response(
        statement_pdf(found),
        media_type="application/pdf",
        headers=_attachment(account_id, day, "pdf"),
    )
