"""The desk's templates, its security headers and its error page (an HTML answer for every
error under /desk; a missing or expired session goes to the login page)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from allotment.domain.errors import Unauthorized
from allotment.entrypoints.web.charts import figure
from allotment.services.desk.sessions import SessionExpired

HERE = Path(__file__).parent
PREFIX = "/desk"
templates = Jinja2Templates(directory=HERE / "templates")
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def number(value: Decimal | None) -> str:
    """Decimals as the ledger keeps them, without exponent or trailing zeros."""
    return "" if value is None else figure(value)


templates.env.filters["number"] = number


def page(
    request: Request, template: str, values: Mapping[str, Any], status: int = 200
) -> HTMLResponse:
    response = templates.TemplateResponse(request, template, dict(values), status_code=status)
    response.headers.update(SECURITY_HEADERS)
    return response


def to_login(request: Request, reason: str = "") -> RedirectResponse:
    target = request.url.path if request.method == "GET" else PREFIX + "/"
    query = f"?next={quote(target)}" + (f"&reason={reason}" if reason else "")
    return RedirectResponse(f"{PREFIX}/login{query}", status_code=303)


def render_error(
    request: Request,
    status: int,
    error: BaseException | None,
    detail: str,
    fields: list[dict[str, Any]],
) -> Response:
    """The desk's error page; no session (or an expired one) goes to the login page."""
    if isinstance(error, Unauthorized) and request.url.path != f"{PREFIX}/login":
        return to_login(request, "expired" if isinstance(error, SessionExpired) else "")
    values = {"status": status, "detail": detail, "fields": fields, "user": None}
    return page(request, "error.html", values, status)
