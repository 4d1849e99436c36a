"""The FastAPI application: every dialect's router on one engine and one ledger."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text

from allotment.bootstrap import Container, build
from allotment.entrypoints.http import errors, tokens
from allotment.entrypoints.http.blocktrade_paths import CaseInsensitiveRoutes
from allotment.entrypoints.http.idempotency import IdempotencyMiddleware
from allotment.entrypoints.http.inputs import TextGuard, document_refusals
from allotment.entrypoints.http.limits import BodySizeLimit
from allotment.entrypoints.http.native import accounts, blocks, identity, ledger
from allotment.settings import Settings

DESCRIPTION = """\
allotment splits executed blocks across client accounts — exactly, at one average price, with
the right fees — and books every share on one double-entry ledger. It speaks four vendor
dialects (ETNA, Saxo, block-trade, book-building) and this native API (`/api/v1`, snake_case,
decimals as strings, RFC 9457 problem+json errors). Every write accepts an `Idempotency-Key`.
"""


def create_app(settings: Settings | None = None, container: Container | None = None) -> FastAPI:
    box = container or build(settings)
    app = FastAPI(title="allotment", version="0.1.0", description=DESCRIPTION, docs_url="/docs")
    app.state.container = box
    errors.install(app)
    document_refusals(app)
    for router in (tokens.router, identity.router, accounts.router, ledger.router, blocks.router):
        app.include_router(router)
    _include_dialects(app)
    _include_desk(app)

    @app.get("/health", tags=["Health"])
    def health() -> JSONResponse:
        """200 when the database answers."""
        try:
            with box.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception:
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    app.add_middleware(IdempotencyMiddleware, container=box)
    app.add_middleware(TextGuard)
    app.add_middleware(BodySizeLimit, max_bytes=box.settings.max_body_bytes)
    app.add_middleware(CaseInsensitiveRoutes)
    return app


def _include_dialects(app: FastAPI) -> None:
    """The four vendor dialects and the native routes that build on the engine."""
    from allotment.entrypoints.http import dialects

    for router in dialects.routers():
        app.include_router(router)


def _include_desk(app: FastAPI) -> None:
    """The operations desk's pages under /desk (not part of the API's document)."""
    from allotment.entrypoints import web

    web.install(app)
