"""Native API: a client allocation file uploaded, checked, grouped into average-priced blocks
and booked through the same services as the rest of the API (SPEC §11, decision 0033)."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from datetime import date
from decimal import Decimal
from typing import BinaryIO

from fastapi import APIRouter, File, Query, Response, UploadFile, status
from pydantic import BaseModel

from allotment.entrypoints.http.deps import ContainerDep, NativeContext
from allotment.services.allocation_files.importer import ImportOptions, ImportSummary, import_file

router = APIRouter(prefix="/api/v1", tags=["Allocation files"])


class RejectOut(BaseModel):
    line: int
    column: str
    reason: str
    reference: str | None


class FileBlockOut(BaseModel):
    block_id: int | None
    average_account_id: str
    symbol: str
    side: str
    trade_date: date | None
    broker: str
    rows: int
    quantity: Decimal
    average_price: Decimal | None
    booked_rows: int
    booked_quantity: Decimal


class AllocationFileOut(BaseModel):
    layout: str
    digest: str
    dry_run: bool
    atomic: bool
    committed: bool
    rows: int
    booked: int
    already_imported: int
    rejected: int
    rejects_truncated: bool
    blocks: list[FileBlockOut]
    rejects: list[RejectOut]


def _out(summary: ImportSummary) -> AllocationFileOut:
    return AllocationFileOut(
        layout=summary.layout,
        digest=summary.digest,
        dry_run=summary.dry_run,
        atomic=summary.atomic,
        committed=summary.committed,
        rows=summary.rows,
        booked=summary.booked,
        already_imported=summary.already_imported,
        rejected=summary.rejected,
        rejects_truncated=summary.rejected > len(summary.rejects),
        blocks=[
            FileBlockOut(
                block_id=None if summary.dry_run else block.block_id,
                average_account_id=block.average_account_id,
                symbol=block.symbol,
                side=block.side,
                trade_date=block.trade_date,
                broker=block.broker,
                rows=block.rows,
                quantity=block.quantity,
                average_price=block.average_price,
                booked_rows=block.booked_rows,
                booked_quantity=block.booked_quantity,
            )
            for block in summary.blocks
        ],
        rejects=[
            RejectOut(line=r.line, column=r.column, reason=r.reason, reference=r.reference)
            for r in summary.rejects
        ],
    )


@router.post("/allocation-files", response_model=AllocationFileOut, status_code=status.HTTP_200_OK)
def import_allocation_file(
    ctx: NativeContext,
    box: ContainerDep,
    response: Response,
    file: UploadFile = File(description="The CSV file (multipart/form-data, field `file`)."),
    dry_run: bool = Query(
        default=False,
        description="Check and price the file and book nothing, without running the booking "
        "(`?dryRun=true`, as on every write, runs the whole import and rolls it back).",
    ),
    atomic: bool = Query(default=False, description="One refused row books nothing."),
) -> AllocationFileOut:
    """Import a client allocation file: Clear Street's client allocation columns, Interactive
    Brokers' allocation import columns or the native columns, told apart by the header. Rows
    are grouped into average-priced blocks (average account, instrument, side, trade date,
    executing broker) and booked; each refused row is listed with its line, column and
    reason. The same file again books nothing (each row's reference is kept for ever)."""
    upload = file.file

    def source() -> AbstractContextManager[BinaryIO]:
        upload.seek(0)
        return nullcontext(upload)

    summary = import_file(box.uow, ctx, source, ImportOptions(dry_run=dry_run, atomic=atomic))
    if dry_run:
        response.headers["Dry-Run"] = "true"
    return _out(summary)
