"""`allotment allocate` commands (being built)."""

from __future__ import annotations

import typer

app = typer.Typer(help="allocate", no_args_is_help=True)
