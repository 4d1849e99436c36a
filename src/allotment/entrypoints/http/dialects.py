"""The routers of the four vendor dialects and of the native routes built on them, in one list."""

from __future__ import annotations

from fastapi import APIRouter

from allotment.entrypoints.http import blocktrade, bookbuilding, etna, saxo
from allotment.entrypoints.http.native import (
    allocation_files,
    calendar,
    clearing,
    drift,
    exports,
    fairness,
    fix_sessions,
    preview,
    statements,
)
from allotment.entrypoints.http.native import bookbuilding as native_bookbuilding


def routers() -> list[APIRouter]:
    return [
        etna.router,
        saxo.router,
        saxo.gateway,
        blocktrade.router,
        bookbuilding.router,
        clearing.router,
        native_bookbuilding.router,
        preview.router,
        exports.router,
        calendar.router,
        statements.router,
        fix_sessions.router,
        fairness.router,
        drift.router,
        allocation_files.router,
    ]
