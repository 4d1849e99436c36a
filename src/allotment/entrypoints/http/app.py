"""The FastAPI application: every dialect's router on one engine and one ledger."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from allotment.bootstrap import Container, build, schema_is_current
from allotment.entrypoints.http import (
    error_handlers,
    errors,
    observability,
    openapi,
    tokens,
    tracing,
)
from allotment.entrypoints.http.blocktrade.paths import CaseInsensitiveRoutes
from allotment.entrypoints.http.dry_run import DryRunMiddleware
from allotment.entrypoints.http.etna.routes import VERSIONS as ETNA_VERSIONS
from allotment.entrypoints.http.idempotency import IdempotencyMiddleware
from allotment.entrypoints.http.inputs import TextGuard, document_refusals
from allotment.entrypoints.http.limits import BatchItemLimit, BodySizeLimit
from allotment.entrypoints.http.native import accounts, blocks, identity, ledger
from allotment.entrypoints.http.throttle import LoginThrottle, LoginThrottleMiddleware
from allotment.settings import Settings

DESCRIPTION = """\
allotment splits executed blocks across client accounts — exactly, at one average price, with
the right fees — and books every share on one double-entry ledger. It speaks four vendor
dialects (ETNA, Saxo, block-trade, book-building) and this native API (`/api/v1`, snake_case,
decimals as strings, RFC 9457 problem+json errors). Every write accepts an `Idempotency-Key`.
"""

BATCH_ROUTES = [
    ("POST", f"/v{version}/allocations/{kind}")
    for version in ETNA_VERSIONS
    for kind in ("simple", "multileg")
]
"""The routes whose body is a JSON array of at most `max_batch_items` requests."""


def create_app(settings: Settings | None = None, container: Container | None = None) -> FastAPI:
    box = container or build(settings)
    app = FastAPI(
        title="allotment", version="0.1.0", description=DESCRIPTION, docs_url=None, redoc_url=None
    )
    app.state.container = box
    _wire(app)
    document_refusals(app)
    for router in (tokens.router, identity.router, accounts.router, ledger.router, blocks.router):
        app.include_router(router)
    _include_dialects(app)
    openapi.install(app)
    _include_desk(app)

    @app.get("/health", tags=["Health"])
    def health() -> JSONResponse:
        """200 when the database answers and its schema is this version's; 503 otherwise."""
        try:
            current = schema_is_current(box)
        except Exception:
            return JSONResponse(
                {"status": "unavailable", "reason": "the database cannot be reached"},
                status_code=503,
                headers={"Retry-After": "5"},
            )
        if not current:
            return JSONResponse(
                {
                    "status": "unavailable",
                    "reason": "the schema is behind; run allotment db upgrade",
                },
                status_code=503,
            )
        return JSONResponse({"status": "ok"})

    app.add_middleware(IdempotencyMiddleware, container=box)
    app.add_middleware(DryRunMiddleware, container=box)
    app.add_middleware(TextGuard)
    throttle = LoginThrottle(
        box.settings.login_failures_per_minute, box.settings.login_failures_per_address_per_minute
    )
    app.add_middleware(LoginThrottleMiddleware, throttle=throttle)
    app.add_middleware(BatchItemLimit, max_items=box.settings.max_batch_items, routes=BATCH_ROUTES)
    app.add_middleware(BodySizeLimit, max_bytes=box.settings.max_body_bytes)
    app.add_middleware(CaseInsensitiveRoutes)
    observability.install(app, box.tokens, box.settings)
    tracing.install(app, box)
    return app


def _wire(app: FastAPI) -> None:
    """Who renders errors under which path, and what the dialects add to a block's native view:
    built here, once, from each part's declarations (decision 0038)."""
    from allotment.entrypoints import web
    from allotment.entrypoints.http import dialects

    renderers = [*tokens.RENDERERS, *dialects.renderers(), *web.RENDERERS]
    error_handlers.install(app, errors.Renderers(renderers))
    app.state.block_details = dialects.block_details()


def _include_dialects(app: FastAPI) -> None:
    """The four vendor dialects and the native routes that build on the engine."""
    from allotment.entrypoints.http import dialects

    for router in dialects.routers():
        app.include_router(router)


def _include_desk(app: FastAPI) -> None:
    """The operations desk's pages under /desk (not part of the API's document)."""
    from allotment.entrypoints import web

    web.install(app)
