"""The routers of the four vendor dialects and of the native routes built on them, in one list,
with what each dialect adds to the application: its error renderers and its view of a block
(decision 0038)."""

from __future__ import annotations

from fastapi import APIRouter

from allotment.entrypoints.http.blocktrade import routes as blocktrade
from allotment.entrypoints.http.bookbuilding import routes as bookbuilding
from allotment.entrypoints.http.errors import Renderer
from allotment.entrypoints.http.etna import routes as etna
from allotment.entrypoints.http.native import (
    allocation_files,
    calendar,
    clearing,
    drift,
    exports,
    fairness,
    fix_sessions,
    preview,
    remainder_policy,
    statements,
)
from allotment.entrypoints.http.native import bookbuilding as native_bookbuilding
from allotment.entrypoints.http.native.blocks import BlockDetails
from allotment.entrypoints.http.saxo import routes as saxo


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
        remainder_policy.router,
        allocation_files.router,
    ]


def renderers() -> list[tuple[str, Renderer]]:
    """Each dialect's error renderer under each of its path prefixes."""
    etna_prefixes = [(f"/v{version}/", etna.etna_error) for version in etna.VERSIONS]
    return [*etna_prefixes, *saxo.RENDERERS, *blocktrade.RENDERERS, *bookbuilding.RENDERERS]


def block_details() -> tuple[BlockDetails, ...]:
    """What the dialects add to the native view of a block."""
    return saxo.BLOCK_DETAILS
