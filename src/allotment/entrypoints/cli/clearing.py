"""`allotment clearing close --date YYYY-MM-DD [--company NAME]` and `allotment clearing report`:
the end of day from the command line (SPEC §5)."""

from __future__ import annotations

from datetime import date, datetime

import typer
from rich.console import Console

from allotment.bootstrap import build
from allotment.domain.errors import AllotmentError
from allotment.domain.identity import ALL_SCOPES, Principal, PrincipalKind
from allotment.entrypoints.cli.report_table import report_tables
from allotment.services import clearing
from allotment.services.clearing_report import ClearingReport
from allotment.services.context import Context
from allotment.services.ports import UnitOfWork

app = typer.Typer(help="Clearing sessions: close a trade date, print its report.")
errors = Console(stderr=True)
CLI_SUBJECT = "cli"


def _trade_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM-DD)") from error


def _context(company_id: int, now: datetime) -> Context:
    """The operator at the command line acts for the company with every scope."""
    principal = Principal(company_id, CLI_SUBJECT, PrincipalKind.USER, ALL_SCOPES, None)
    return Context(principal=principal, dialect="cli", now=now)


def _companies(uow: UnitOfWork, name: str | None) -> list[tuple[int, str]]:
    if name is not None:
        company = uow.identity.company_by_name(name)
        if company is None:
            errors.print(f"[red]error:[/red] no company is named {name!r}")
            raise typer.Exit(3)
        return [(company.id, company.name)]
    found = []
    for company_id in clearing.company_ids(uow):
        company = uow.identity.company(company_id)
        assert company is not None
        found.append((company.id, company.name))
    return found


@app.command("close")
def close(
    trade_date: str = typer.Option(..., "--date", help="The trade date to close (YYYY-MM-DD)."),
    company: str | None = typer.Option(None, help="Only this company (default: every one)."),
) -> None:
    """Close the trade date's clearing session: register its bookings and make them final.
    Closing a closed session prints the same report summary again."""
    day = _trade_date(trade_date)
    box = build()
    try:
        with box.uow(write=False) as uow:
            companies = _companies(uow, company)
        reports = []
        for company_id, name in companies:
            with box.uow() as uow:
                reports.append(
                    (name, clearing.close_session(uow, _context(company_id, box.clock.now()), day))
                )
                uow.commit()
    except AllotmentError as error:
        errors.print(f"[red]error:[/red] {error.message}")
        raise typer.Exit(2 if error.code in ("InvalidInstruction",) else 1) from error
    finally:
        box.engine.dispose()
    typer.echo(_summary(day, reports))


def _summary(day: date, reports: list[tuple[str, ClearingReport]]) -> str:
    """One line per company, then one per currency with its totals."""
    lines = []
    for name, report in reports:
        lines.append(
            f"{name}: clearing session {day.isoformat()} {report.status}, "
            f"{report.allocation_count} allocations"
        )
        for line in report.totals["by_currency"]:
            lines.append(
                f"  {line['currency']}: bought {line['bought_value']}, sold {line['sold_value']}, "
                f"commission {line['commission']}, tax {line['tax']}, "
                f"other fees {line['other_fees']}"
            )
    return "\n".join(lines)


@app.command("report")
def report(
    trade_date: str = typer.Option(..., "--date", help="The trade date (YYYY-MM-DD)."),
    company: str = typer.Option(..., help="The company's name."),
    csv: bool = typer.Option(False, "--csv", help="The report as CSV."),
    as_json: bool = typer.Option(False, "--json", help="The report as one JSON document."),
) -> None:
    """Print a session's clearing report (provisional while the session is open): a table,
    or with --csv / --json the report's files as they are stored."""
    if csv and as_json:
        raise typer.BadParameter("choose one of --csv and --json")
    day = _trade_date(trade_date)
    box = build()
    try:
        with box.uow(write=False) as uow:
            [(company_id, _name)] = _companies(uow, company)
            found = clearing.get_report(uow, _context(company_id, box.clock.now()), day)
    finally:
        box.engine.dispose()
    if csv or as_json:
        typer.echo(found.csv_text if csv else found.json_text, nl=not csv)
        return
    console = Console()
    for table in report_tables(found):
        console.print(table)
