"""`allotment db current | history | upgrade | downgrade | backup`: the schema and the copies."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

from allotment.adapters.database import backup as backups
from allotment.adapters.database.migrate import (
    applied_revisions,
    current_revisions,
    downgrade,
    head_revisions,
)
from allotment.adapters.database.migrate import history as migration_history
from allotment.bootstrap import build, migrate

app = typer.Typer(help="Database schema and backups.", no_args_is_help=True)
console = Console()
errors = Console(stderr=True)


@app.command("current")
def current() -> None:
    """The revisions the database is at, and whether that is this version's schema."""
    box = build()
    revisions = current_revisions(box.engine)
    box.engine.dispose()
    heads = head_revisions()
    console.print(f"database: {', '.join(revisions) if revisions else 'empty (no schema)'}")
    if set(revisions) == heads:
        console.print("up to date")
        return
    console.print(f"not current: this version expects {', '.join(sorted(heads))}")
    raise typer.Exit(1)


@app.command("history")
def history() -> None:
    """Every migration, newest first; the ones applied marked with *."""
    box = build()
    applied = applied_revisions(box.engine)
    box.engine.dispose()
    for item in migration_history():
        mark = "*" if item.revision in applied else " "
        head = " (head)" if item.head else ""
        console.print(
            f"{mark} {item.revision} <- {item.down_revision or 'base'}{head}  {item.description}",
            highlight=False,
        )


@app.command("upgrade")
def upgrade() -> None:
    """Apply every migration."""
    box = build()
    migrate(box)
    box.engine.dispose()
    console.print("database is up to date")


@app.command("downgrade")
def downgrade_to(
    target: str = typer.Argument(
        ..., help="A revision (its branch is undone down to it), or base for everything."
    ),
) -> None:
    """Undo migrations down to TARGET (stop every server first; take a backup before)."""
    box = build()
    try:
        downgrade(box.engine, target)
    except Exception as error:  # Alembic names a revision it does not know in its message.
        errors.print(f"error: cannot downgrade to {target}: {error}", highlight=False)
        raise typer.Exit(2) from None
    finally:
        box.engine.dispose()
    console.print(f"database: {', '.join(current_revisions(box.engine)) or 'empty'}")


@app.command("backup")
def backup(
    output: Path = typer.Option(..., "--output", "-o", help="The file to write."),
) -> None:
    """A consistent copy while the service runs: SQLite's online backup API, or pg_dump for
    PostgreSQL (printed as a command to run when pg_dump is not installed here)."""
    box = build()
    box.engine.dispose()
    url = box.settings.resolved_database_url()
    if box.engine.dialect.name == "postgresql":
        _pg_dump(url, output)
        return
    with Progress(
        TextColumn("backing up"), BarColumn(), TaskProgressColumn(), console=errors
    ) as bar:
        task = bar.add_task("backup", total=None)
        pages = backups.sqlite_backup(
            url, output, lambda done, total: bar.update(task, completed=done, total=total)
        )
    console.print(f"backed up {pages} pages to {output}", highlight=False)


def _pg_dump(url: str, output: Path) -> None:
    command = backups.pg_dump_command(url, output)
    try:
        backups.run_pg_dump(command)
    except FileNotFoundError:
        errors.print("pg_dump is not installed here; run, where it is:", highlight=False)
        console.print(command.shown(), highlight=False, soft_wrap=True)
        raise typer.Exit(3) from None
    except RuntimeError as error:
        errors.print(f"error: pg_dump failed: {error}", highlight=False)
        raise typer.Exit(1) from None
    console.print(f"backed up with pg_dump to {output}", highlight=False)
