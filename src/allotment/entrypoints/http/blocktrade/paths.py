"""The block-trade dialect's routes match whatever the letter case of the path, as ASP.NET Web
API's routing does (its route templates compare case-insensitively): a client written for the
vendor may send `POST /API/Orders/BlockTrade/Block-Allocations`.

Rather than one route per spelling (which would repeat the operation in the OpenAPI document),
the request's path is rewritten to the one documented spelling before anything reads it, so
that routing, the error renderer of the dialect and the Idempotency-Key digest all see one
path.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from allotment.entrypoints.http.blocktrade.routes import PATH

_CANONICAL = {PATH.lower(): PATH}


def canonical_path(path: str) -> str | None:
    """The documented spelling of `path`, when it is a block-trade route in another case."""
    found = _CANONICAL.get(path.lower())
    return found if found is not None and found != path else None


class CaseInsensitiveRoutes:
    """ASGI middleware: block-trade paths in any letter case reach their route."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            found = canonical_path(scope["path"])
            if found is not None:
                scope = {**scope, "path": found, "raw_path": found.encode("ascii")}
        await self.app(scope, receive, send)
