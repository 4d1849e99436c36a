"""The OpenAPI document and the pages that show it, served by allotment alone.

The document is FastAPI's, finished here: every tag carries a description, and the security
schemes say how callers really authenticate (a bearer JWT from any token endpoint, OAuth2 client
credentials at `/connect/token`, ETNA's `Et-App-Key` header beside the token, HTTP Basic for the
block-trade dialect). Swagger UI (`/docs`) and ReDoc (`/redoc`) load their scripts from the
`fastapi-offline` package's copy of swagger-ui-dist and redoc, served under `/docs/assets`, so
the pages work on a machine without internet access (decision 0020).
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse

from allotment.entrypoints.http.throttle import TOKEN_PATHS

ASSETS_URL = "/docs/assets"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
ASSETS = str(files("fastapi_offline") / "static")
"""swagger-ui-bundle.js, swagger-ui.css, redoc.standalone.js and a favicon, from the package."""

TAGS: list[dict[str, str]] = [
    {"name": "Health", "description": "Liveness: 200 when the database answers, else 503."},
    {
        "name": "Tokens",
        "description": "OAuth2 client credentials (RFC 6749 §4.4) for API clients: the client "
        "authenticates with HTTP Basic or with `client_id` and `client_secret` in the form; "
        "tokens live 1200 seconds and are accepted by every dialect.",
    },
    {
        "name": "Identity",
        "description": "The native API's login for users, and the company's users, API "
        "clients and ETNA application keys (admin scope to change them).",
    },
    {
        "name": "Clients and accounts",
        "description": "Clients, their trading accounts (cash, margin, day trader, house) and "
        "the instruments they hold.",
    },
    {
        "name": "Ledger",
        "description": "The double-entry ledger: deposits, withdrawals, opening positions, "
        "balances, the journal, entries and their reversals.",
    },
    {
        "name": "Allocations",
        "description": "What the engine booked for each account, and previews of a split "
        "that book nothing.",
    },
    {
        "name": "Allocation files",
        "description": "Client allocation files (Clear Street, Interactive Brokers, native "
        "columns) grouped into average-priced blocks and booked.",
    },
    {"name": "Audit", "description": "Who did what, through which dialect, and when."},
    {
        "name": "Calendar",
        "description": "The company's time zone, which gives each booking its trade date; "
        "settlement dates follow each instrument's market calendar and cycle.",
    },
    {
        "name": "Statements",
        "description": "Per-account daily statements (positions, cash, the day's allocations "
        "with their fees) as CSV and PDF.",
    },
    {
        "name": "FIX sessions",
        "description": "The FIX sessions of the company: each acts as one of its users at the "
        "FIX acceptor (admin scope).",
    },
    {
        "name": "Blocks",
        "description": "Blocks executed on an average account and their fills (the "
        "block-trade dialect's masters).",
    },
    {
        "name": "Fees",
        "description": "Fee schedules (commission per share, rate and minimum, tax, other "
        "fees) of the company and of each client, used by Saxo block orders.",
    },
    {
        "name": "Clearing",
        "description": "Clearing sessions: a trade date's bookings, its close and its report.",
    },
    {
        "name": "Fairness",
        "description": "The fairness ledger: each allocation's exact target against what was "
        "given, the cumulative deviation per account, instrument and allocation key, and the "
        "remainder policy (LargestRemainder or Fair) an allocation key uses.",
    },
    {
        "name": "Book-building",
        "description": "Native book-building: deals, tranches, investor accounts, indications "
        "and the distribution of a tranche.",
    },
    {
        "name": "ETNA dialect",
        "description": "ETNA Trader's allocation API: `POST /token` with the `Et-App-Key`, "
        "`Username` and `Password` headers, then batch and single allocation requests booked "
        'on the ledger. Errors answer `{"error": ...}`.',
    },
    {
        "name": "Saxo",
        "description": "Saxo OpenAPI's allocation keys, their distribution preview, block "
        "orders allocated fill by fill and the account list; errors answer Saxo's "
        "`{ErrorCode, Message, ModelState}`.",
    },
    {
        "name": "Block trade",
        "description": "Third Party Platform block-trade allocations: child allocations of a "
        "master block, in JSON or XML, all or nothing.",
    },
    {
        "name": "Book-building dialect (CAS Allocations v4)",
        "description": "The CAS Allocations v4 service under `/book-building/allocations`: "
        "search, get, create, replace, JSON Patch and delete a syndicate desk's allocations; "
        "errors are ASP.NET problem details.",
    },
]

SCOPES = {
    "allocations-read": "Read allocations, accounts and the ledger",
    "allocations-write": "Book allocations and change what the dialects change",
    "admin": "Manage users, API clients, app keys, fee schedules and clearing",
}
SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A token from `POST /api/v1/auth/token`, `POST /token` or "
        "`POST /connect/token`.",
    },
    "oauth2": {
        "type": "oauth2",
        "description": "OAuth2 client credentials: an API client's id and secret (HTTP Basic "
        "or form fields) for a token at `/connect/token`.",
        "flows": {"clientCredentials": {"tokenUrl": "/connect/token", "scopes": SCOPES}},
    },
    "etnaAppKey": {
        "type": "apiKey",
        "in": "header",
        "name": "Et-App-Key",
        "description": "ETNA's application key (the demo's is `demo-app-key`); the ETNA "
        "dialect needs it beside the bearer token.",
    },
    "basic": {
        "type": "http",
        "scheme": "basic",
        "description": "A user's username and password (the block-trade dialect).",
    },
}
_RENAMED = {"HTTPBearer": "bearer", "HTTPBasic": "basic"}
ONLY_THIS_HOST = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "worker-src 'self' blob:",
    ]
)
"""The docs pages' Content-Security-Policy: the browser asks no other host for anything (ReDoc
would fetch its footer logo from its vendor's CDN otherwise)."""
_TOKEN_SCHEMES = ("bearer", "oauth2")
_HEADERS_AS_SCHEMES = {"authorization", "et-app-key"}


def _requirements(operation: dict[str, Any]) -> list[dict[str, list[str]]] | None:
    """The operation's security: a bearer token may come from either token endpoint, and ETNA's
    app key goes with the token (both at once), or alone for ETNA's own token request."""
    if any("etnaAppKey" in item for item in operation.get("security", [])):
        return list(operation["security"])  # stated by the route itself
    headers = {
        parameter["name"].lower()
        for parameter in operation.get("parameters", [])
        if parameter.get("in") == "header"
    }
    if "et-app-key" in headers:
        if "authorization" in headers:
            return [{"etnaAppKey": [], scheme: []} for scheme in _TOKEN_SCHEMES]
        return [{"etnaAppKey": []}]
    declared = [_RENAMED.get(name, name) for item in operation.get("security", []) for name in item]
    if not declared:
        return None
    found = [*_TOKEN_SCHEMES, *(n for n in declared if n not in _TOKEN_SCHEMES)]
    return [{name: []} for name in found]


def finish(document: dict[str, Any]) -> dict[str, Any]:
    """Tags, security schemes and each operation's security requirements, as they really
    work; the headers that a scheme declares are no longer listed as parameters. Only the tags
    and schemes that the document's operations use are declared."""
    operations = [op for item in document.get("paths", {}).values() for op in item.values()]
    used_tags = {tag for operation in operations for tag in operation.get("tags", [])}
    document["tags"] = [tag for tag in TAGS if tag["name"] in used_tags]
    for operation in operations:
        requirements = _requirements(operation)
        if requirements is None:
            operation.pop("security", None)
            continue
        operation["security"] = requirements
        operation["parameters"] = [
            p
            for p in operation.get("parameters", [])
            if not (p.get("in") == "header" and p["name"].lower() in _HEADERS_AS_SCHEMES)
        ]
        if not operation["parameters"]:
            del operation["parameters"]
    _document_dry_runs(document)
    used = {name for op in operations for item in op.get("security", []) for name in item}
    components = document.setdefault("components", {})
    declared = {**components.get("securitySchemes", {}), **SECURITY_SCHEMES}
    components["securitySchemes"] = {
        name: scheme for name, scheme in declared.items() if name in used
    }
    return document


DRY_RUN_PARAMETER = {
    "name": "dryRun",
    "in": "query",
    "required": False,
    "description": "`true` runs the request without keeping anything: the same answer as the "
    "real request, with a `Dry-Run: true` header; nothing is booked and no Idempotency-Key is "
    "claimed. Any value but `true` or `false` is refused.",
    "schema": {"type": "boolean", "default": False},
}


def _document_dry_runs(document: dict[str, Any]) -> None:
    """`dryRun` on every write operation but a login (decision 0032)."""
    for path, item in document.get("paths", {}).items():
        if path in TOKEN_PATHS:  # a login refuses a dry run: a token cannot be taken back
            continue
        for method, operation in item.items():
            if method in ("post", "put", "patch", "delete"):
                parameters = operation.setdefault("parameters", [])
                if not any(p.get("name") == "dryRun" for p in parameters):
                    parameters.append(dict(DRY_RUN_PARAMETER))


def swagger_page(openapi_url: str, title: str, root: str = "") -> HTMLResponse:
    """Swagger UI from the served assets; the validator badge (a call to another host) is off
    and the OAuth2 dialog is ready for client credentials."""
    page = get_swagger_ui_html(
        openapi_url=root + openapi_url,
        title=title,
        swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
        swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
        oauth2_redirect_url=root + OAUTH2_REDIRECT_URL,
        swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True},
    )
    page.headers["Content-Security-Policy"] = ONLY_THIS_HOST
    return page


def install(app: FastAPI) -> None:
    """Serve the assets, `/docs`, its OAuth2 redirect, `/redoc`, and the finished document at
    the app's `openapi_url`. The app is built with `docs_url=None, redoc_url=None`; call this
    after `error_handlers.install`, whose additions to the document it keeps."""
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    generate = app.openapi  # FastAPI's, with what error_handlers.install adds to it
    finished: dict[str, Any] = {}

    def document() -> dict[str, Any]:
        if not finished:
            finished.update(finish(generate()))
        return finished

    app.openapi = document  # type: ignore[method-assign]

    @app.get("/docs", include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return swagger_page(openapi_url, f"{app.title} - Swagger UI", root)

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        page = get_swagger_ui_oauth2_redirect_html()
        page.headers["Content-Security-Policy"] = ONLY_THIS_HOST
        return page

    @app.get("/redoc", include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_redoc_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )
        page.headers["Content-Security-Policy"] = ONLY_THIS_HOST
        return page
