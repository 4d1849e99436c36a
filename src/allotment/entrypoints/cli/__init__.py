"""The `allotment` command line."""

from __future__ import annotations

from allotment.entrypoints.cli.main import app


def main() -> None:
    app()


__all__ = ["app", "main"]
