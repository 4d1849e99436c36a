"""`allotment bookbuilding` commands (being built)."""

from __future__ import annotations

import typer

app = typer.Typer(help="bookbuilding", no_args_is_help=True)
