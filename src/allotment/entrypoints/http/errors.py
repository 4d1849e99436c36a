"""One table from error classes to HTTP statuses, and per-dialect renderers of error bodies.

Each API dialect names a renderer for its path prefixes, and `create_app` gathers them into
one `Renderers` for `error_handlers.install`; the native API (and anything not claimed)
answers RFC 9457 problem+json, and its OpenAPI document says so for every operation.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.responses import JSONResponse, Response
from starlette.routing import Match

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


class MalformedJson(e.InvalidInstruction):
    """The body is not JSON at all (as opposed to JSON that does not fit the schema)."""

    code = "MalformedJson"


class NumberOutOfRange(e.InvalidInstruction):
    """An amount computed from the request needs more digits than exact arithmetic keeps."""

    code = "NumberOutOfRange"


class TooManyRequests(e.AllotmentError):
    """Too many failed logins for a user or from an address; `retry_after` seconds to wait."""

    code = "TooManyRequests"

    def __init__(self, message: str, retry_after: int, **facts: Any) -> None:
        super().__init__(message, **facts)
        self.retry_after = retry_after


class ServiceUnavailable(e.AllotmentError):
    """The database cannot be reached (or its schema is not this version's): retry later."""

    code = "ServiceUnavailable"
    retry_after = 5


STATUS_BY_ERROR += [(TooManyRequests, 429), (ServiceUnavailable, 503)]


def database_unavailable(error: BaseException) -> bool:
    """Is this the database going away (refused or dropped connection, server shutting down),
    rather than a bug? The pool replaces the dead connections once it is back."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, OperationalError | InterfaceError)


def unavailable_answer(request: Request) -> Response:
    """503 with Retry-After, in the shape of the dialect that owns the path."""
    error = ServiceUnavailable("the database is unavailable; retry shortly")
    return with_retry_after(
        renderer_for(request)(request, 503, error, error.message, []),
        error.retry_after,
    )


def with_retry_after(response: Response, seconds: int) -> Response:
    response.headers["Retry-After"] = str(max(1, seconds))
    return response


CANDIDATE_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def allowed_methods(request: Request) -> str:
    """The methods some route of the path answers (RFC 9110 §15.5.6: a 405 names them all,
    also when several routes share the path), found by asking the router for each."""
    allowed = []
    for method in CANDIDATE_METHODS:
        probe = {
            "type": "http",
            "method": method,
            "path": request.scope["path"],
            "root_path": request.scope.get("root_path", ""),
            "headers": [],
        }
        if any(route.matches(probe)[0] is Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return ", ".join(allowed)


def status_for(error: BaseException) -> int:
    for cls, status in STATUS_BY_ERROR:
        if isinstance(error, cls):
            return status
    return 500


Renderer = Callable[[Request, int, BaseException | None, str, list[dict[str, Any]]], Response]


class Renderers:
    """Who renders the errors under a path: the dialect with the longest matching prefix, or
    problem+json. `create_app` builds one from every dialect's prefixes (decision 0038)."""

    def __init__(self, prefixes: Iterable[tuple[str, Renderer]]) -> None:
        self._by_prefix = sorted(prefixes, key=lambda item: len(item[0]), reverse=True)

    def for_path(self, path: str) -> Renderer:
        for prefix, renderer in self._by_prefix:
            if path.startswith(prefix):
                return renderer
        return problem


def renderer_for(request: Request) -> Renderer:
    """The renderer of the request's path, among those the application was built with."""
    renderers: Renderers = request.app.state.renderers
    return renderers.for_path(request.url.path)


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
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def problem(
    request: Request,
    status: int,
    error: BaseException | None,
    detail: str,
    fields: list[dict[str, Any]],
) -> Response:
    body: dict[str, Any] = {
        "type": f"https://allotment.dev/problems/{code_of(error, status)}",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code_of(error, status),
    }
    if fields:
        body["errors"] = fields
    if isinstance(error, e.AllotmentError) and error.facts:
        body["facts"] = json.loads(json.dumps(error.facts, default=str))
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(
        body, status_code=status, media_type="application/problem+json", headers=headers
    )


def code_of(error: BaseException | None, status: int) -> str:
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
        429: "TooManyRequests",
        503: "ServiceUnavailable",
    }.get(status, "Error")


def validation_fields(error: RequestValidationError) -> list[dict[str, Any]]:
    """One {field, message} per problem; the field is the dotted path inside the body (or the
    query or path parameter's name), never the value that was sent."""
    fields = []
    for item in error.errors():
        if item.get("type") == "json_invalid":
            fields.append({"field": "body", "message": _json_message(item)})
            continue
        location = [str(part) for part in item.get("loc", ())]
        if location[:1] in (["body"], ["query"], ["path"], ["header"]):
            location = location[1:]
        message = str(item.get("msg", "")).removeprefix("Value error, ")
        fields.append({"field": ".".join(location), "message": message})
    return fields


def _json_message(item: dict[str, Any]) -> str:
    reason = (item.get("ctx") or {}).get("error", "")
    position = next((p for p in item.get("loc", ())[1:] if isinstance(p, int)), None)
    where = f" at character {position}" if position is not None else ""
    return f"the body is not valid JSON: {reason or 'cannot be parsed'}{where}"


PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details; `code` names the problem for programs.",
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string", "examples": ["https://allotment.dev/problems/NotFound"]},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "examples": ["NotFound"]},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
        "facts": {"type": "object", "additionalProperties": True},
    },
}
NATIVE_PREFIX = "/api/"
READ_PROBLEMS = (401, 403, 404, 422)
WRITE_PROBLEMS = (*READ_PROBLEMS, 409, 413)
"""What any native operation may answer besides success: no or bad credentials, a missing
scope or client permission, an unknown object, invalid input; and for writes a conflict (or an
Idempotency-Key still in use) and a body over the size limit."""
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Same key and same request: the first answer again, nothing new is booked. "
    "Same key, another request: 422.",
    "schema": {"type": "string", "maxLength": 200},
}


def document_problems(schema: dict[str, Any], renderers: Renderers) -> dict[str, Any]:
    """Declare, for every native operation, the problem+json answers it can give (replacing
    FastAPI's default 422 body, which this API never sends) and the Idempotency-Key header of
    its writes."""
    schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    content = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, operations in schema.get("paths", {}).items():
        if not path.startswith(NATIVE_PREFIX) or renderers.for_path(path) is not problem:
            continue
        for method, operation in operations.items():
            write = method.upper() in {"POST", "PUT", "PATCH", "DELETE"}
            responses = operation.setdefault("responses", {})
            for status in WRITE_PROBLEMS if write else READ_PROBLEMS:
                declared = responses.get(str(status))
                if declared is None or _is_default_validation(declared):
                    responses[str(status)] = {"description": TITLES[status], "content": content}
                else:
                    declared.setdefault("content", content)
            if write:
                parameters = operation.setdefault("parameters", [])
                if all(p.get("name") != IDEMPOTENCY_KEY["name"] for p in parameters):
                    parameters.append(IDEMPOTENCY_KEY)
    return schema


def _is_default_validation(response: dict[str, Any]) -> bool:
    body = response.get("content", {}).get("application/json", {}).get("schema", {})
    return bool(body.get("$ref", "").endswith("/HTTPValidationError"))


def document(app: FastAPI, renderers: Renderers) -> None:
    """Declare the problem answers of every native operation in the OpenAPI document."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_problems(generate(), renderers)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
