"""`allotment fix serve | sessions list | sessions add | sessions remove`: the FIX door."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import typer
from rich.console import Console
from rich.table import Table

from allotment.bootstrap import Container, build, migrate
from allotment.domain.errors import AllotmentError
from allotment.domain.identity import ALL_SCOPES, Principal, PrincipalKind
from allotment.entrypoints.fix.door import acceptor
from allotment.services import demo as demo_data
from allotment.services.context import Context
from allotment.services.fix import sessions as fix_sessions

app = typer.Typer(help="The FIX acceptor (FIX 4.4 allocations) and its sessions.")
sessions_app = typer.Typer(help="FIX sessions: who may connect, as which user.")
app.add_typer(sessions_app, name="sessions")
console = Console()
errors = Console(stderr=True)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(9878, help="Port to listen on."),
    demo: bool = typer.Option(False, "--demo", help="Migrate and load the demo data first."),
) -> None:
    """Run the FIX acceptor until interrupted; every message in and out is kept under the var
    dir (fix/store, fix/log). Sessions added later are served from the next start."""
    box = build()
    if demo:
        migrate(box)
        with box.uow() as uow:
            demo_data.load(uow, box.hasher, box.clock.now())
            uow.commit()
    try:
        engine = acceptor(box, host=host, port=port)
    except ValueError as error:
        errors.print(f"[red]error:[/red] {error}")
        raise typer.Exit(2) from error
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    engine.start()
    console.print(f"allotment FIX acceptor on {host}:{port}", highlight=False)
    stopping.wait()
    engine.stop()
    box.engine.dispose()


def _context(box: Container, company: str) -> Context:
    """The operator at the command line acts for the named company with every scope."""
    with box.uow(write=False) as uow:
        found = uow.identity.company_by_name(company)
    if found is None:
        errors.print(f"[red]error:[/red] no company is named {company!r}")
        raise typer.Exit(3)
    principal = Principal(found.id, "cli", PrincipalKind.USER, ALL_SCOPES, None)
    return Context(principal=principal, dialect="cli", now=box.clock.now())


COMPANY = typer.Option(..., "--company", help="The company the session belongs to.")


@sessions_app.command("add")
def add(
    sender_comp_id: str = typer.Argument(..., help="The counterparty's SenderCompID."),
    target_comp_id: str = typer.Argument(..., help="Our CompID (its TargetCompID)."),
    username: str = typer.Option(..., "--user", help="The user the session acts as."),
    company: str = COMPANY,
    subscribe: bool = typer.Option(
        False,
        "--subscribe-allocations",
        help="Send it a 35=AS for every allocation of the company, whichever door booked it.",
    ),
) -> None:
    """Add a session of a company acting as one of its users."""
    box = build()
    ctx = _context(box, company)
    try:
        with box.uow() as uow:
            session = fix_sessions.add_session(
                uow, ctx, sender_comp_id, target_comp_id, username, subscribe_allocations=subscribe
            )
            uow.commit()
    except AllotmentError as error:
        errors.print(f"[red]error:[/red] {error.message}")
        raise typer.Exit(2) from error
    console.print(f"FIX session {session.name} acts as {session.username}")


@sessions_app.command("list")
def list_(company: str = COMPANY) -> None:
    """The company's sessions."""
    box = build()
    ctx = _context(box, company)
    with box.uow(write=False) as uow:
        found = fix_sessions.list_sessions(uow, ctx)
    table = Table("SenderCompID", "TargetCompID", "user", "active")
    for session in found:
        table.add_row(
            session.sender_comp_id, session.target_comp_id, session.username, str(session.active)
        )
    console.print(table)


@sessions_app.command("remove")
def remove(
    sender_comp_id: str = typer.Argument(...),
    target_comp_id: str = typer.Argument(...),
    company: str = COMPANY,
) -> None:
    """Remove a session (served no more from the acceptor's next start)."""
    box = build()
    ctx = _context(box, company)
    try:
        with box.uow() as uow:
            fix_sessions.remove_session(uow, ctx, sender_comp_id, target_comp_id)
            uow.commit()
    except AllotmentError as error:
        errors.print(f"[red]error:[/red] {error.message}")
        raise typer.Exit(3) from error
    console.print(f"FIX session {sender_comp_id}->{target_comp_id} removed")
