"""`allotment fairness intent set|show`, `allotment fairness drift` and `allotment allocations
explain`: a block's pre-trade intent, intent against outcome, and why an allocation is what it
is (SPEC §12, decision 0041)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from typing import TypeVar

import typer
from rich.console import Console
from rich.table import Table

from allotment.bootstrap import build
from allotment.domain.allocation.exact import fraction_text
from allotment.domain.errors import AllotmentError
from allotment.entrypoints.cli.clearing import _companies, _context, _trade_date
from allotment.services.context import Context
from allotment.services.fairness import drift, explanation, intent
from allotment.services.ports import UnitOfWork

intent_app = typer.Typer(help="A block's pre-trade intent, written once before its first fill.")
allocations_app = typer.Typer(help="Allocations: why each is what it is.", no_args_is_help=True)
errors = Console(stderr=True)
T = TypeVar("T")
COMPANY = typer.Option(..., help="The company's name.")


def _run(company: str, work: Callable[[UnitOfWork, Context], T], write: bool = False) -> T:
    box = build()
    try:
        with box.uow(write=write) as uow:
            [(company_id, _name)] = _companies(uow, company)
            found = work(uow, _context(company_id, box.clock.now()))
            if write:
                uow.commit()
            return found
    except AllotmentError as error:
        errors.print(f"[red]error:[/red] {error.message}")
        raise typer.Exit(1) from error
    finally:
        box.engine.dispose()


def _lines(texts: Sequence[str]) -> tuple[tuple[str, Decimal], ...]:
    lines = []
    for text in texts:
        account_id, _, quantity = text.partition("=")
        try:
            lines.append((account_id, Decimal(quantity)))
        except InvalidOperation as error:
            errors.print(f"[red]error:[/red] {text!r} is not ACCOUNT=QUANTITY")
            raise typer.Exit(2) from error
    return tuple(lines)


@intent_app.command("set")
def set_intent(
    block_id: int = typer.Argument(..., help="The block's id."),
    company: str = COMPANY,
    key: str | None = typer.Option(None, help="Snapshot this allocation key's split."),
    line: list[str] = typer.Option([], help="ACCOUNT=QUANTITY, once per account."),
) -> None:
    """Record the block's intent: a key's split (the block's own key by default) or a list."""
    draft = intent.IntentDraft(key, _lines(line) if line else None)
    found = _run(company, lambda uow, ctx: intent.record_intent(uow, ctx, block_id, draft), True)
    Console(width=160).print(_intent_table(found))


@intent_app.command("show")
def show_intent(
    block_id: int = typer.Argument(..., help="The block's id."), company: str = COMPANY
) -> None:
    """Print the block's intent."""
    found = _run(company, lambda uow, ctx: intent.get_intent(uow, ctx, block_id))
    Console(width=160).print(_intent_table(found))


def _intent_table(found: intent.Intent) -> Table:
    source = f"key {found.key_id}" if found.key_id else "a list"
    table = Table(title=f"Intent of block {found.block_id} ({source}), {found.recorded_at}")
    table.add_column("Account")
    table.add_column("Intended", justify="right")
    for line in found.lines:
        table.add_row(line.account_id, fraction_text(line.quantity))
    return table


def drift_command(
    company: str = COMPANY,
    block_id: int | None = typer.Option(None, "--block", help="One block's drift."),
    account_id: str | None = typer.Option(None, "--account", help="Only this account."),
    start: str | None = typer.Option(None, "--from", help="First day (YYYY-MM-DD)."),
    end: str | None = typer.Option(None, "--to", help="Last day (YYYY-MM-DD)."),
    csv: bool = typer.Option(False, "--csv", help="CSV instead of a table."),
) -> None:
    """Intent against outcome: of one block (with every reason), or per account over the
    blocks whose intent was recorded in a period."""
    if block_id is not None:
        found = _run(company, lambda uow, ctx: drift.block_drift(uow, ctx, block_id))
        if csv:
            typer.echo(drift.as_csv((block_id, line) for line in found.lines), nl=False)
            return
        console = Console(width=180)
        console.print(_drift_table(found.lines, f"Drift of block {block_id}"))
        console.print(_events_table(found.events))
        return
    period = (
        None if start is None else _trade_date(start),
        None if end is None else _trade_date(end),
    )
    lines = _run(company, lambda uow, ctx: drift.period_drift(uow, ctx, account_id, period))
    if csv:
        typer.echo(drift.as_csv((None, line) for line in lines), nl=False)
        return
    Console(width=180).print(_drift_table(lines, "Drift per account"))


def _drift_table(lines: Sequence[drift.DriftLine], title: str) -> Table:
    table = Table(title=title)
    table.add_column("Account")
    for column in ("Blocks", "Intended", "Booked", "Drift", "Unfilled", "Remainder"):
        table.add_column(column, justify="right")
    for column in ("Margin reduced", "Refused", "Error account", "Requests refused"):
        table.add_column(column, justify="right")
    for line in lines:
        table.add_row(
            line.account_id,
            str(line.blocks),
            fraction_text(line.intended),
            str(line.booked),
            fraction_text(line.drift),
            fraction_text(line.unfilled),
            fraction_text(line.remainder),
            str(line.margin_reduced),
            str(line.refused),
            str(line.error_account),
            str(line.requests_refused),
        )
    return table


def _events_table(events: Sequence[drift.DriftEvent]) -> Table:
    table = Table(title="Why")
    for column in ("Fill", "Account", "Kind", "Quantity", "Detail"):
        table.add_column(column)
    for event in events:
        fill = "-" if event.fill_sequence is None else str(event.fill_sequence)
        quantity = fraction_text(event.quantity)
        table.add_row(fill, event.account_id, event.kind, quantity, event.detail)
    return table


@allocations_app.command("explain")
def explain(
    allocation_id: int = typer.Argument(..., help="The allocation's id."),
    company: str = COMPANY,
) -> None:
    """Why the allocation is what it is: method, exact target, remainder rule, adjustments
    and fees."""
    found = _run(company, lambda uow, ctx: explanation.explain_allocation(uow, ctx, allocation_id))
    console = Console(width=160)
    console.print(f"[bold]Allocation {allocation_id}[/bold]")
    for sentence in found.words():
        console.print(f"- {sentence}")
