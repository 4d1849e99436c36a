"""The `allotment` command line."""

from __future__ import annotations

import sys

from sqlalchemy.exc import InterfaceError, OperationalError

from allotment.entrypoints.cli.main import app


def main() -> None:
    """The `allotment` command; a database it cannot reach is one line, not a traceback."""
    try:
        app()
    except (OperationalError, InterfaceError) as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
        sys.stderr.write(f"error: cannot reach the database: {reason}\n")
        sys.exit(1)


__all__ = ["app", "main"]
