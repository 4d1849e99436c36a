"""`allotment export allocations [filters] [--output FILE]`: the allocations of every dialect
as CSV (or JSON lines), read a page at a time (SPEC §11)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import TextIO

import typer
from rich.console import Console

from allotment.adapters.statement_pdf import statement_pdf
from allotment.bootstrap import build
from allotment.domain.errors import AllotmentError
from allotment.domain.identity import ALL_SCOPES, Principal, PrincipalKind
from allotment.domain.instruments import Instrument
from allotment.services import exports, statements
from allotment.services.context import Context
from allotment.services.ports import AllocationRow, UnitOfWork

app = typer.Typer(help="Files out: allocations as CSV or JSON lines.", no_args_is_help=True)
errors = Console(stderr=True)


def _day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM-DD)") from error


def company_id(uow: UnitOfWork, name: str | None) -> int:
    """The named company, or the only one there is."""
    if name is not None:
        company = uow.identity.company_by_name(name)
        if company is None:
            errors.print(f"[red]error:[/red] no company is named {name!r}")
            raise typer.Exit(3)
        return company.id
    found = uow.clearing.company_ids()
    if len(found) != 1:
        errors.print("[red]error:[/red] name the company with --company")
        raise typer.Exit(2)
    return int(found[0])


@app.command("allocations")
def allocations(
    date_from: str | None = typer.Option(None, "--from", help="First trade date (YYYY-MM-DD)."),
    date_to: str | None = typer.Option(None, "--to", help="Last trade date (YYYY-MM-DD)."),
    client: int | None = typer.Option(None, help="Only this client's accounts."),
    account: str | None = typer.Option(None, help="Only this account."),
    symbol: str | None = typer.Option(None, help="Only this instrument."),
    side: str | None = typer.Option(None, help="Buy or Sell."),
    status: str | None = typer.Option(None, help="booked or reversed."),
    dialect: str | None = typer.Option(None, help="etna, saxo, blocktrade, native, ..."),
    block: int | None = typer.Option(None, help="Only this block's allocations."),
    company: str | None = typer.Option(None, help="The company (default: the only one)."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to FILE, not stdout."),
    as_json: bool = typer.Option(False, "--json", help="JSON lines instead of CSV."),
) -> None:
    """Export allocations with their trade and settlement dates, ISIN, accounts, side,
    quantity, price, fees, net amount and references."""
    chosen = exports.AllocationFilters(
        trade_date_from=_day(date_from),
        trade_date_to=_day(date_to),
        client_id=client,
        account_id=account,
        symbol=symbol,
        side=side,
        status=status,
        dialect=dialect,
        block_id=block,
    )
    box = build()
    try:
        with box.uow(write=False) as uow:
            principal = Principal(
                company_id(uow, company), "cli", PrincipalKind.USER, ALL_SCOPES, None
            )
            query = exports.resolve(uow, Context(principal, "cli", box.clock.now()), chosen)
            instruments = exports.instruments_by_id(uow)
            lines = _lines(exports.every(uow, query), instruments, as_json)
            count = _write(lines, output) - (0 if as_json else 1)  # not the CSV header
    except AllotmentError as error:
        errors.print(f"[red]error:[/red] {error.message}")
        raise typer.Exit(2) from error
    finally:
        box.engine.dispose()
    if output is not None:
        errors.print(f"{count} allocations written to {output}")


def _lines(
    rows: Iterator[AllocationRow], instruments: dict[int, Instrument], as_json: bool
) -> Iterator[str]:
    if not as_json:
        yield from exports.csv_lines(rows, instruments)
        return
    for row in rows:
        yield json.dumps(exports.export_row(row, instruments.get(row.instrument_id))) + "\n"


def _write(lines: Iterator[str], output: Path | None) -> int:
    """Write every line; how many."""
    if output is None:
        return _copy(lines, sys.stdout)
    with output.open("w", encoding="utf-8", newline="") as file:
        return _copy(lines, file)


def _copy(lines: Iterator[str], out: TextIO) -> int:
    count = 0
    for line in lines:
        out.write(line)
        count += 1
    return count


@app.command("statement")
def statement(
    account: str = typer.Option(..., help="The account."),
    day: str = typer.Option(..., "--date", help="The trade date (YYYY-MM-DD)."),
    output: Path = typer.Option(..., "--output", "-o", help="The file to write."),
    pdf: bool = typer.Option(False, "--pdf", help="A PDF document instead of CSV."),
    company: str | None = typer.Option(None, help="The company (default: the only one)."),
) -> None:
    """Write an account's daily statement: positions and cash at the end of the trade date,
    and the day's allocations with their fees."""
    trade_date = _day(day)
    assert trade_date is not None
    box = build()
    try:
        with box.uow(write=False) as uow:
            principal = Principal(
                company_id(uow, company), "cli", PrincipalKind.USER, ALL_SCOPES, None
            )
            ctx = Context(principal, "cli", box.clock.now())
            found = statements.daily_statement(uow, ctx, account, trade_date)
    except AllotmentError as error:
        errors.print(f"[red]error:[/red] {error.message}")
        raise typer.Exit(3 if error.code == "NotFound" else 2) from error
    finally:
        box.engine.dispose()
    if pdf:
        output.write_bytes(statement_pdf(found))
    else:
        output.write_bytes(statements.statement_csv(found).encode("utf-8"))
    errors.print(f"statement of {account} for {trade_date.isoformat()} written to {output}")
