"""`allotment import FILE`: a client allocation file booked through the same services as the
API, with a progress bar (rows per second) and the refused rows in `FILE.rejects.csv`."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import BinaryIO, TextIO

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from allotment.bootstrap import build
from allotment.domain.errors import AllotmentError
from allotment.domain.identity import ALL_SCOPES, Principal, PrincipalKind
from allotment.entrypoints.cli.export import company_id
from allotment.services.allocation_files.importer import (
    ImportOptions,
    ImportSummary,
    Listener,
    Reject,
    import_file,
)
from allotment.services.context import Context

errors = Console(stderr=True)
REJECT_COLUMNS = ("line", "column", "reason", "reference")


class RowsPerSecond(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} rows/s" if speed else "- rows/s")


class _Shown(Listener):
    """Moves the progress bar and writes each refused row to the rejects file."""

    def __init__(self, progress: Progress, rejects_path: Path) -> None:
        self._progress = progress
        self._tasks: dict[str, TaskID] = {}
        self._path = rejects_path
        self._file: TextIO | None = None
        self._writer: csv.DictWriter[str] | None = None
        self.total = 0

    def progress(self, phase: str, rows: int) -> None:
        if phase not in self._tasks:
            total = self.total if phase == "booking" else None
            self._tasks[phase] = self._progress.add_task(phase, total=total)
        if phase == "checking":
            self.total += rows
        self._progress.advance(self._tasks[phase], rows)

    def rejected(self, reject: Reject) -> None:
        if self._writer is None:
            self._file = self._path.open("w", encoding="utf-8", newline="")
            self._writer = csv.DictWriter(self._file, REJECT_COLUMNS)
            self._writer.writeheader()
        self._writer.writerow(
            {
                "line": reject.line,
                "column": reject.column,
                "reason": reject.reason,
                "reference": reject.reference or "",
            }
        )

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def import_command(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="The CSV file."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check and price; book nothing."),
    atomic: bool = typer.Option(False, "--atomic", help="One refused row books nothing."),
    company: str | None = typer.Option(None, help="The company (default: the only one)."),
) -> None:
    """Import a client allocation file (Clear Street's, Interactive Brokers' or ours): rows
    grouped into average-priced blocks and booked; refused rows in FILE.rejects.csv."""
    rejects_path = path.with_name(path.name + ".rejects.csv")
    rejects_path.unlink(missing_ok=True)
    progress = Progress(
        TextColumn("{task.description:>8}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f} rows"),
        RowsPerSecond(),
        TimeElapsedColumn(),
        console=errors,
    )
    shown = _Shown(progress, rejects_path)
    box = build()
    started = time.perf_counter()
    try:
        with box.uow(write=False) as uow:
            principal = Principal(
                company_id(uow, company), "cli", PrincipalKind.USER, ALL_SCOPES, None
            )
        ctx = Context(principal, "cli", box.clock.now())

        def source() -> BinaryIO:
            return path.open("rb")

        with progress:
            summary = import_file(box.uow, ctx, source, ImportOptions(dry_run, atomic), shown)
    except AllotmentError as error:
        errors.print(f"[red]error:[/red] {error.message}")
        raise typer.Exit(2) from error
    finally:
        shown.close()
        box.engine.dispose()
    _report(summary, time.perf_counter() - started, rejects_path)
    if summary.rejected:
        raise typer.Exit(1)


def _report(summary: ImportSummary, seconds: float, rejects_path: Path) -> None:
    verb = "would book" if summary.dry_run else "booked"
    rate = summary.rows / seconds if seconds > 0 else 0.0
    errors.print(
        f"{summary.layout} file: {summary.rows} rows, {verb} {summary.booked} in "
        f"{len(summary.blocks)} blocks, {summary.already_imported} imported before, "
        f"{summary.rejected} refused ({rate:,.0f} rows/s)",
        soft_wrap=True,
    )
    for block in summary.blocks:
        errors.print(
            f"  block {block.block_id if not summary.dry_run else '-'}: {block.side} "
            f"{block.quantity} {block.symbol} on {block.average_account_id} at "
            f"{block.average_price} ({block.rows} rows)",
            soft_wrap=True,
        )
    if summary.atomic and summary.rejected:
        errors.print("atomic: nothing was booked")
    if summary.rejected:
        errors.print(f"refused rows written to {rejects_path}")
