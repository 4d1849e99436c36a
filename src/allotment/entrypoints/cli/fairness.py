"""`allotment fairness report`: the cumulative deviation per account, instrument and allocation
key over a period, as a table or CSV (SPEC §12)."""

from __future__ import annotations

from datetime import date

import typer
from rich.console import Console
from rich.table import Table

from allotment.bootstrap import build
from allotment.domain.allocation.exact import fraction_text
from allotment.domain.errors import AllotmentError
from allotment.entrypoints.cli import drift
from allotment.entrypoints.cli.clearing import _companies, _context, _trade_date
from allotment.services import fairness
from allotment.services.fairness import FairnessLine, FairnessQuery
from allotment.services.saxo import key_policy

app = typer.Typer(help="The fairness ledger: deviations from the engine's exact targets.")
app.add_typer(drift.intent_app, name="intent")
app.command("drift")(drift.drift_command)
errors = Console(stderr=True)


def _day(text: str | None) -> date | None:
    return None if text is None else _trade_date(text)


@app.command("report")
def report(
    company: str = typer.Option(..., help="The company's name."),
    account_id: str | None = typer.Option(None, "--account", help="Only this account."),
    instrument: str | None = typer.Option(None, help="Only this instrument (symbol)."),
    key: str | None = typer.Option(None, help="Only this allocation key (id)."),
    start: str | None = typer.Option(None, "--from", help="First trade date (YYYY-MM-DD)."),
    end: str | None = typer.Option(None, "--to", help="Last trade date (YYYY-MM-DD)."),
    csv: bool = typer.Option(False, "--csv", help="CSV instead of a table."),
) -> None:
    """Print the cumulative deviation per account, instrument and key: given minus the exact
    targets, in increments and in money."""
    query = FairnessQuery(account_id, instrument, key, _day(start), _day(end))
    box = build()
    try:
        with box.uow(write=False) as uow:
            [(company_id, _name)] = _companies(uow, company)
            lines = fairness.report(uow, _context(company_id, box.clock.now()), query)
    except AllotmentError as error:
        errors.print(f"[red]error:[/red] {error.message}")
        raise typer.Exit(1) from error
    finally:
        box.engine.dispose()
    if csv:
        typer.echo(fairness.as_csv(lines), nl=False)
        return
    Console(width=160).print(_table(lines))


def _table(lines: list[FairnessLine]) -> Table:
    table = Table(title="Fairness: given against exact targets")
    for column in ("Account", "Instrument", "Key", "Allocations", "Given", "Target"):
        table.add_column(column)
    table.add_column("Deviation (increments)", justify="right")
    table.add_column("Deviation (money)", justify="right")
    for line in lines:
        table.add_row(
            line.account_id,
            "" if line.instrument_id is None else str(line.instrument_id),
            line.key or "-",
            str(line.allocation_count),
            str(line.given_quantity),
            fraction_text(line.target_quantity),
            fraction_text(line.deviation_increments),
            str(line.deviation_money_rounded()),
        )
    return table


@app.command("policy")
def policy(
    key_id: str = typer.Argument(..., help="The allocation key's id."),
    company: str = typer.Option(..., help="The company's name."),
    set_to: str | None = typer.Option(
        None, "--set", help="LargestRemainder or Fair: the policy orders placed from now record."
    ),
) -> None:
    """Print an allocation key's remainder policy, or set it with --set."""
    box = build()
    try:
        with box.uow(write=set_to is not None) as uow:
            [(company_id, _name)] = _companies(uow, company)
            ctx = _context(company_id, box.clock.now())
            if set_to is None:
                found = key_policy.key_policy(uow, ctx, key_id)
            else:
                chosen = key_policy.parse_policy(set_to)
                found = key_policy.set_key_policy(uow, ctx, key_id, chosen)
                uow.commit()
    except AllotmentError as error:
        errors.print(f"[red]error:[/red] {error.message}")
        raise typer.Exit(1) from error
    finally:
        box.engine.dispose()
    typer.echo(f"allocation key {found.key_id}: {found.remainder_policy.value}")
