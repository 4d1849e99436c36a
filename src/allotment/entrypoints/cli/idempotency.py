"""`allotment idempotency purge | show KEY | forget KEY`: the stored answers of idempotent
writes, for operators."""

from __future__ import annotations

from datetime import timedelta

import typer
from rich.console import Console

from allotment.bootstrap import build
from allotment.domain.errors import AllotmentError, NotFound
from allotment.services import idempotency

app = typer.Typer(help="The stored answers of idempotent writes.", no_args_is_help=True)
console = Console()
COMPANY = typer.Option(None, "--company", help="Only this company's key (by name).")


def _fail(error: AllotmentError) -> None:
    typer.echo(f"error: {error.message}", err=True)
    raise typer.Exit(3 if isinstance(error, NotFound) else 2)


@app.command("purge")
def purge(
    keep_days: float = typer.Option(
        idempotency.DEFAULT_RETENTION / timedelta(days=1),
        "--keep-days",
        help="Keep the keys claimed within this many days (at least one hour's worth).",
    ),
) -> None:
    """Forget the Idempotency-Key answers older than --keep-days; a retry after that is a new
    request (natural references still refuse a duplicate)."""
    box = build()
    try:
        with box.uow() as uow:
            removed, before = idempotency.purge_keys(
                uow, box.clock.now(), timedelta(days=keep_days)
            )
            uow.commit()
    except AllotmentError as error:
        _fail(error)
    console.print(f"removed {removed} idempotency keys claimed before {before.isoformat()}")


@app.command("show")
def show(key: str, company: str | None = COMPANY) -> None:
    """What the key holds, per company: its state (in_progress, booked, done), when it was
    claimed, until when its request holds it, and the stored answer's status and size."""
    box = build()
    try:
        with box.uow(write=False) as uow:
            found = idempotency.show_key(uow, key, company)
    except AllotmentError as error:
        _fail(error)
    for name, record in found:
        claimed = record.created_at.isoformat() if record.created_at else "?"
        leased = record.leased_until.isoformat() if record.leased_until else "-"
        answer = (
            f"{record.status_code} ({len(record.body or b'')} bytes {record.content_type})"
            if record.status_code is not None
            else "none yet"
        )
        typer.echo(
            f"{name}: {record.state}, claimed at {claimed}, leased until {leased}, answer {answer}"
        )


@app.command("forget")
def forget(key: str, company: str | None = COMPANY) -> None:
    """Forget the key: the next request that carries it runs as a new one. Meant for a key
    whose request was booked but whose answer was lost (its retries answer 409): look the
    booking up first."""
    box = build()
    try:
        with box.uow() as uow:
            removed = idempotency.forget_key(uow, key, company)
            uow.commit()
    except AllotmentError as error:
        _fail(error)
    console.print(f"forgot the Idempotency-Key {key!r} of {removed} companies")
