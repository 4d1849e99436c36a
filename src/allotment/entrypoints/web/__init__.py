"""The operations desk (decision 0027): server-rendered pages under /desk for the back office,
served by the same process as the API, calling the same services with the same checks. No
build step, no script needed, every asset shipped with the package."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from allotment.entrypoints.http.errors import Renderer
from allotment.entrypoints.web import (
    allocations,
    block_fills,
    blocks,
    bookbuilding,
    eod,
    exceptions,
    keys,
    ledger,
    session,
)
from allotment.entrypoints.web.drift import router as drift_router
from allotment.entrypoints.web.rendering import HERE, PREFIX, render_error

RENDERERS: tuple[tuple[str, Renderer], ...] = ((PREFIX, render_error),)
"""The desk answers its errors as pages."""


def install(app: FastAPI) -> None:
    """Mount the desk's pages and static files; `/` leads to the desk."""
    for router in (
        session.router,
        blocks.router,
        block_fills.router,
        allocations.router,
        exceptions.router,
        keys.router,
        bookbuilding.router,
        eod.router,
        ledger.router,
        drift_router,
    ):
        app.include_router(router)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=HERE / "static"), name="desk-static")

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}/", status_code=307)

    @app.get(PREFIX, include_in_schema=False)
    def desk_root() -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}/", status_code=307)
