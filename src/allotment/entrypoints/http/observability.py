"""What each request leaves behind for the people who run the service: one JSON log line
(request id, company, caller, dialect, route template, status, duration), Prometheus counters
and a latency histogram, and the `X-Request-ID` header on every answer.

The middleware wraps the whole application, Starlette's error middleware included, so that an
answer to an unexpected error carries its request id too. A caller's own `X-Request-ID` is kept
when it is sane (a proxy's id, so one id follows the request across hosts); otherwise one is
made here."""

from __future__ import annotations

import hmac
import ipaddress
import re
import time
import uuid
from collections.abc import MutableMapping
from typing import Any

import structlog
from fastapi import FastAPI, Request
from opentelemetry import trace
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from allotment.adapters import metrics
from allotment.entrypoints.http.blocktrade.paths import canonical_path
from allotment.services.ports import TokenCodec
from allotment.settings import Settings

REQUEST_ID = "X-Request-ID"
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/+=@-]{0,127}")
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DIALECT_TAGS = (("etna", "etna"), ("saxo", "saxo"), ("block trade", "blocktrade"))
log = structlog.stdlib.get_logger("allotment.http")


def request_id_of(scope: Scope) -> str:
    """The caller's X-Request-ID when it is sane (letters, digits and a few separators, at
    most 128), else a new one."""
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text = str(value.decode("latin-1")).strip()
            if SANE_REQUEST_ID.fullmatch(text):
                return text
    return uuid.uuid4().hex


def dialect_of(route: Any, path: str) -> str:
    tags = " ".join(str(tag) for tag in getattr(route, "tags", None) or ()).lower()
    for tag, dialect in DIALECT_TAGS:
        if tag in tags:
            return dialect
    if tags.startswith("book-building dialect") or path.startswith("/book-building/"):
        return "bookbuilding"
    if path.startswith("/api/"):
        return "native"
    return "service"


def template_of(scope: Scope) -> tuple[str, Any]:
    """The route template the router chose (`/api/v1/accounts/{account_id}`), never the raw
    path, so that metrics keep a bounded set of labels."""
    route = scope.get("route")
    if route is not None and hasattr(route, "path"):
        return str(route.path), route
    canonical = canonical_path(scope["path"])
    return (canonical, None) if canonical else ("unmatched", None)


class Observability:
    def __init__(self, app: ASGIApp, tokens: TokenCodec) -> None:
        self.app = app
        self.tokens = tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = request_id_of(scope)
        status = 500
        header = (b"x-request-id", request_id.encode("latin-1"))

        async def stamped(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                self._annotate(scope, request_id)
                headers = [h for h in message.get("headers", []) if h[0].lower() != header[0]]
                message = {**message, "headers": [*headers, header]}
            await send(message)

        keyed = scope["method"] in WRITES and _has_header(scope, b"idempotency-key")
        if keyed:
            metrics.IDEMPOTENCY_IN_FLIGHT.inc()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, stamped)
        finally:
            if keyed:
                metrics.IDEMPOTENCY_IN_FLIGHT.dec()
            self._record(scope, status, time.perf_counter() - started)
            structlog.contextvars.unbind_contextvars("request_id")

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        route, found = template_of(scope)
        dialect = dialect_of(found, route)
        method = scope["method"]
        metrics.REQUESTS.labels(dialect, route, method, str(status)).inc()
        metrics.LATENCY.labels(dialect, route, method).observe(seconds)
        fields: dict[str, Any] = {
            "dialect": dialect,
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 3),
            **self._caller(scope),
        }
        if status >= 500:
            log.error("request", **fields)
        else:
            log.info("request", **fields)

    def _annotate(self, scope: Scope, request_id: str) -> None:
        """When traces are on (decision 0042), name the request's span by its route template
        and give it what the log line says: request id, company, caller, dialect. Done as the
        answer starts: the span ends with the answer's last byte."""
        span = trace.get_current_span()
        if not span.is_recording():
            return
        route, found = template_of(scope)
        span.update_name(f"{scope['method']} {route}")
        span.set_attribute("http.route", route)
        span.set_attribute("allotment.request_id", request_id)
        span.set_attribute("allotment.dialect", dialect_of(found, route))
        for name, value in self._caller(scope).items():
            span.set_attribute(f"allotment.{name}", value)

    def _caller(self, scope: Scope) -> dict[str, Any]:
        """The company and the user or client a bearer token names (nothing when there is no
        valid one); the token itself is never logged."""
        for name, value in scope.get("headers", []):
            if name == b"authorization" and value[:7].lower() == b"bearer ":
                known = scope.get("state", {}).get("principal")
                if known is not None:  # the request verified its token already: not again
                    who = "user" if known.kind.value == "user" else "client"
                    return {"company": known.company_id, who: known.subject}
                try:
                    claims = self.tokens.decode(value[7:].decode("latin-1").strip())
                except Exception:
                    return {}
                who = "user" if claims.kind == "user" else "client"
                return {"company": claims.company_id, who: claims.subject}
        return {}


def _has_header(scope: MutableMapping[str, Any], name: bytes) -> bool:
    return any(key == name for key, _ in scope.get("headers", []))


def install(app: FastAPI, tokens: TokenCodec, settings: Settings) -> None:
    """The middleware around everything, and `/metrics` (left out of the OpenAPI document)."""
    inner = app.build_middleware_stack
    app.build_middleware_stack = lambda: Observability(inner(), tokens)  # type: ignore[method-assign]
    networks = [
        ipaddress.ip_network(n.strip()) for n in settings.metrics_networks.split(",") if n.strip()
    ]
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else None

    @app.get("/metrics", include_in_schema=False)
    def scrape(request: Request) -> Response:
        """Prometheus's text format; with a metrics token set, only for its bearer, else only
        for clients on the metrics networks (decision 0029)."""
        if token is not None:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                return PlainTextResponse(
                    "a metrics bearer token is required\n",
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
        elif not _inside(request.client.host if request.client else None, networks):
            return PlainTextResponse(
                "metrics are served to the metrics networks only\n", status_code=403
            )
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)


def _inside(
    host: str | None, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]
) -> bool:
    if host is None:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in network for network in networks)
