"""`allotment clearing` commands (being built)."""

from __future__ import annotations

import typer

app = typer.Typer(help="clearing", no_args_is_help=True)
