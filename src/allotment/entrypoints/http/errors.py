"""One table from error classes to HTTP statuses, and per-dialect renderers of error bodies.

Each API dialect registers a renderer for its path prefix; the native API (and anything not
claimed) answers RFC 9457 problem+json.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from allotment.domain import errors as e

log = logging.getLogger("allotment.http")

STATUS_BY_ERROR: list[tuple[type[e.AllotmentError], int]] = [
    (e.Unauthorized, 401),
    (e.Forbidden, 403),
    (e.NotFound, 404),
    (e.IdempotencyKeyReused, 422),
    (e.LimitExceeded, 413),
    (e.InvalidInstruction, 422),
    (e.RuleViolation, 409),
    (e.Conflict, 409),
]


def status_for(error: BaseException) -> int:
    for cls, status in STATUS_BY_ERROR:
        if isinstance(error, cls):
            return status
    if isinstance(error, ValueError) and hasattr(error, "code"):
        return 422  # the engine's errors are ValueErrors with a code
    return 500


Renderer = Callable[[Request, int, BaseException | None, str, list[dict[str, Any]]], Response]
_RENDERERS: list[tuple[str, Renderer]] = []


def register_renderer(prefix: str, renderer: Renderer) -> None:
    """Errors under `prefix` are rendered by `renderer(request, status, error, detail, fields)`."""
    _RENDERERS.append((prefix, renderer))
    _RENDERERS.sort(key=lambda item: len(item[0]), reverse=True)


def renderer_for(path: str) -> Renderer:
    for prefix, renderer in _RENDERERS:
        if path.startswith(prefix):
            return renderer
    return problem


TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    500: "Internal Server Error",
}


def problem(
    request: Request,
    status: int,
    error: BaseException | None,
    detail: str,
    fields: list[dict[str, Any]],
) -> Response:
    body: dict[str, Any] = {
        "type": f"https://allotment.dev/problems/{_code(error, status)}",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": _code(error, status),
    }
    if fields:
        body["errors"] = fields
    if isinstance(error, e.AllotmentError) and error.facts:
        body["facts"] = json.loads(json.dumps(error.facts, default=str))
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(
        body, status_code=status, media_type="application/problem+json", headers=headers
    )


def _code(error: BaseException | None, status: int) -> str:
    code = getattr(error, "code", None)
    if isinstance(code, str):
        return code
    return {
        400: "BadRequest",
        401: "Unauthorized",
        403: "Forbidden",
        404: "NotFound",
        405: "MethodNotAllowed",
        413: "ContentTooLarge",
        415: "UnsupportedMediaType",
        422: "ValidationError",
    }.get(status, "Error")


def validation_fields(error: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {
            "field": ".".join(str(part) for part in item.get("loc", ()) if part != "body"),
            "message": item.get("msg", ""),
        }
        for item in error.errors()
    ]


def install(app: FastAPI) -> None:
    @app.exception_handler(e.AllotmentError)
    async def _domain(request: Request, error: e.AllotmentError) -> Response:
        return renderer_for(request.url.path)(request, status_for(error), error, error.message, [])

    @app.exception_handler(ValueError)
    async def _value(request: Request, error: ValueError) -> Response:
        status = status_for(error)
        if status == 500:
            log.exception("unexpected error", exc_info=error)
            return renderer_for(request.url.path)(request, 500, None, "internal error", [])
        return renderer_for(request.url.path)(request, status, error, str(error), [])

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> Response:
        fields = validation_fields(error)
        detail = (
            "; ".join(f"{f['field'] or 'body'}: {f['message']}" for f in fields)
            or "invalid request"
        )
        return renderer_for(request.url.path)(request, 422, error, detail, fields)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> Response:
        return renderer_for(request.url.path)(
            request, error.status_code, None, str(error.detail), []
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> Response:
        log.exception("unexpected error", exc_info=error)
        return renderer_for(request.url.path)(request, 500, None, "internal error", [])
