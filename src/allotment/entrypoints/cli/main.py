"""`allotment serve | demo | db upgrade | ledger check | idempotency purge` and the commands of
each capability."""

from __future__ import annotations

import sys

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from allotment.adapters.database.inventory import ledger_counts
from allotment.bootstrap import Container, build, migrate, schema_is_current
from allotment.domain.errors import AllotmentError
from allotment.entrypoints.cli import (
    allocate,
    bookbuilding,
    clearing,
    db,
    deployment,
    drift,
    export,
    fairness,
    fix,
    idempotency,
)
from allotment.entrypoints.cli.import_file import import_command
from allotment.services import demo as demo_data
from allotment.services.journal import ledger
from allotment.services.ports import DanglingReference, Mismatch
from allotment.settings import Settings, describe

app = typer.Typer(
    help="allotment: post-trade allocation on one engine and one ledger.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
ledger_app = typer.Typer(help="The ledger.", no_args_is_help=True)
app.add_typer(db.app, name="db")
app.add_typer(ledger_app, name="ledger")
app.add_typer(idempotency.app, name="idempotency")
app.add_typer(clearing.app, name="clearing")
app.add_typer(bookbuilding.app, name="bookbuilding")
app.add_typer(export.app, name="export")
app.add_typer(fix.app, name="fix")
app.add_typer(fairness.app, name="fairness")
app.add_typer(drift.allocations_app, name="allocations")
app.command("allocate")(allocate.allocate)
app.command("import")(import_command)
console = Console()
errors = Console(stderr=True)
DANGLING_SHOWN = 20
"""`ledger check` lists this many dangling references, then says how many there are."""

EXIT_CODES = {
    "NotFound": 3,
    "Unauthorized": 4,
    "Forbidden": 4,
    "InvalidInstruction": 2,
    "RuleViolation": 5,
    "Conflict": 6,
}


def fail(error: AllotmentError) -> None:
    """One line on stderr and an exit code by error class."""
    errors.print(f"[red]error:[/red] {error.message}")
    for cls in type(error).__mro__:
        if cls.__name__ in EXIT_CODES:
            raise typer.Exit(EXIT_CODES[cls.__name__])
    raise typer.Exit(1)


SCHEMA_BEHIND = "error: the database schema is not up to date; run `allotment db upgrade` first"


@app.callback()
def _check_settings() -> None:
    """Every command reads the settings first: a bad one is one line and exit 2."""
    try:
        Settings()
    except ValidationError as error:
        typer.echo(f"error: {describe(error)}", err=True)
        raise typer.Exit(2) from None


def container() -> Container:
    return build()


def load_demo(box: Container) -> bool:
    with box.uow() as uow:
        loaded = demo_data.load(uow, box.hasher, box.clock.now())
        uow.commit()
    return loaded


WORKER_START_SECONDS = 60
"""How long a `--workers` process may take to start and to answer a health check."""


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(1, help="Server processes (they share the database)."),
    demo: bool = typer.Option(False, "--demo", help="Migrate and load the demo data first."),
) -> None:
    """Serve every API on one port (OpenAPI at /docs)."""
    import uvicorn

    from allotment.entrypoints import transport

    refused = deployment.refusal(Settings(), workers)
    if refused is not None:
        typer.echo(refused, err=True)
        raise typer.Exit(2)
    box = container()
    deployment.share_metrics(box.settings, workers)
    if demo:
        migrate(box)
        load_demo(box)
    elif not schema_is_current(box):
        typer.echo(SCHEMA_BEHIND, err=True)
        raise typer.Exit(2)
    box.engine.dispose()
    console.print(f"allotment serving on http://{host}:{port} (OpenAPI at /docs)")
    uvicorn.run(
        "allotment.entrypoints.http.asgi:app",
        host=host,
        port=port,
        workers=workers,
        log_level=box.settings.log_level.lower(),
        access_log=False,
        factory=False,
        http=transport.PROTOCOL,
        timeout_keep_alive=box.settings.keep_alive_seconds,
        # A worker answers the supervisor's health check only once it has imported the app,
        # which takes seconds on a busy host: within uvicorn's 5 s default it was killed and
        # spawned again, endlessly (decision 0037).
        timeout_worker_healthcheck=WORKER_START_SECONDS,
    )


@app.command()
def demo() -> None:
    """Migrate the database and load the demo data set (once)."""
    box = container()
    migrate(box)
    loaded = load_demo(box)
    console.print("demo data loaded" if loaded else "demo data already present")


@ledger_app.command("check")
def ledger_check() -> None:
    """Recompute every balance from the journal and look for references to missing rows; exit 1
    on any mismatch or dangling reference."""
    box = container()
    with Progress(console=errors, transient=True) as bar:
        task = bar.add_task("checking the ledger", total=3)
        read = ledger_counts(box.engine)
        bar.advance(task)
        with box.uow(write=False) as uow:
            mismatches = ledger.check_ledger(uow)
            bar.advance(task)
            dangling = ledger.check_references(uow)
            bar.advance(task)
    console.print(
        f"read {read['entries']} journal entries, {read['postings']} postings, "
        f"{read['balances']} balances"
    )
    if not mismatches and not dangling:
        console.print(
            "ledger check passed: balances equal their postings; every reference resolves"
        )
        return
    if mismatches:
        _report_mismatches(mismatches)
    if dangling:
        _report_dangling(dangling)
    sys.exit(1)


def _report_mismatches(mismatches: list[Mismatch]) -> None:
    table = Table("account", "kind", "asset", "stored", "recomputed", title="ledger mismatches")
    for m in mismatches:
        table.add_row(
            m.key.account_id, m.key.kind.value, m.key.asset, str(m.stored), str(m.recomputed)
        )
    errors.print(table)
    errors.print(
        f"[red]ledger check failed: {len(mismatches)} balances disagree with the journal[/red]"
    )


def _report_dangling(dangling: list[DanglingReference]) -> None:
    shown = dangling[:DANGLING_SHOWN]
    table = Table("table", "column", "row id", "missing", title="dangling references")
    for d in shown:
        table.add_row(d.table, d.column, str(d.row_id), d.missing)
    errors.print(table)
    if len(dangling) > len(shown):
        errors.print(f"... and {len(dangling) - len(shown)} more, not listed")
    errors.print(
        f"[red]ledger check failed: {len(dangling)} references name rows that do not exist[/red]"
    )
