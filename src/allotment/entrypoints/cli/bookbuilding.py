"""`allotment bookbuilding distribute --tranche ID [--preview]`: the automatic distribution of
a tranche, in-process through the same services as the HTTP API."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from allotment.bootstrap import build
from allotment.domain.errors import AllotmentError, NotFound
from allotment.domain.identity import ALL_SCOPES, Principal, PrincipalKind
from allotment.services.bookbuilding.distribution import DistributionOutcome, distribute_tranche
from allotment.services.bookbuilding.ports import repository
from allotment.services.context import Context

app = typer.Typer(
    help="Book-building: deals, tranches and their distribution.", no_args_is_help=True
)
console = Console()
errors = Console(stderr=True)
EXIT_CODES = {"NotFound": 3, "Forbidden": 4, "InvalidInstruction": 2, "Conflict": 6}


@app.callback()
def main() -> None:
    """Book-building commands."""


@app.command()
def distribute(
    tranche: str = typer.Option(..., "--tranche", help="The tranche's id."),
    preview: bool = typer.Option(False, "--preview", help="Compute without storing."),
) -> None:
    """Distribute a tranche pro rata to demand and store the auto allocations."""
    box = build()
    try:
        with box.uow(write=not preview) as uow:
            company_id = repository(uow).tranche_company(tranche)
            if company_id is None:
                raise NotFound(f"tranche {tranche} does not exist", tranche_id=tranche)
            principal = Principal(company_id, "cli", PrincipalKind.USER, ALL_SCOPES, None)
            ctx = Context(principal, "cli", box.clock.now())
            outcome = distribute_tranche(uow, ctx, tranche, preview=preview)
            if not preview:
                uow.commit()
    except AllotmentError as error:
        errors.print(f"[red]error:[/red] {error.message}")
        codes = [EXIT_CODES[c.__name__] for c in type(error).__mro__ if c.__name__ in EXIT_CODES]
        raise typer.Exit(codes[0] if codes else 1) from error
    finally:
        box.engine.dispose()
    _print(outcome)


def _print(outcome: DistributionOutcome) -> None:
    result = outcome.distribution
    title = (
        f"tranche {result.tranche.name}: {result.tranche.offered_size} shares at "
        f"{result.tranche.offer_price} {result.tranche.currency}"
        + (" (preview, nothing stored)" if outcome.preview else "")
    )
    table = Table("investor", "indication", "tier", "demand", "allocated", "basis", title=title)
    table.columns[1].overflow = "fold"
    for share in result.shares:
        indication = share.indication
        table.add_row(
            _name(outcome, indication.investor_account_id),
            indication.id,
            str(indication.priority_tier),
            str(share.demand_quantity),
            str(share.quantity),
            share.basis.value,
        )
    console.print(table)
    if result.excluded:
        excluded = Table("investor", "indication", "reason", "why", title="excluded")
        excluded.columns[1].overflow = "fold"
        for item in result.excluded:
            excluded.add_row(
                _name(outcome, item.indication.investor_account_id),
                item.indication.id,
                item.reason.value,
                item.message,
            )
        console.print(excluded)
    console.print(f"allocated {result.allocated}, unallocated {result.unallocated}")


def _name(outcome: DistributionOutcome, investor_id: str) -> str:
    investor = outcome.investors.get(investor_id)
    return investor.name if investor else investor_id
