"""The exception handlers: every error answered in the shape of the dialect that owns the
path (`errors.Renderers`), with the status `errors.status_for` gives its class."""

from __future__ import annotations

import decimal
import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from allotment.adapters import metrics
from allotment.domain import errors as e
from allotment.entrypoints.http.errors import (
    MalformedJson,
    NumberOutOfRange,
    Renderers,
    allowed_methods,
    code_of,
    database_unavailable,
    document,
    renderer_for,
    status_for,
    unavailable_answer,
    validation_fields,
    with_retry_after,
)

log = logging.getLogger("allotment.http")


def _answer(request: Request, error: e.AllotmentError) -> Response:
    metrics.REFUSALS.labels(code=code_of(error, status_for(error))).inc()
    response = renderer_for(request)(request, status_for(error), error, error.message, [])
    retry_after = getattr(error, "retry_after", None)
    return with_retry_after(response, retry_after) if isinstance(retry_after, int) else response


def _http_answer(request: Request, error: StarletteHTTPException) -> Response:
    response = renderer_for(request)(request, error.status_code, None, str(error.detail), [])
    if error.status_code == 405:
        response.headers["Allow"] = allowed_methods(request)
    return response


async def _database(request: Request, error: Exception) -> Response:
    """A database that cannot be reached answers 503 (Retry-After); any other driver error is
    a bug (500)."""
    if database_unavailable(error):
        log.warning("database unavailable: %s", getattr(error, "orig", error))
        return unavailable_answer(request)
    log.exception("unexpected error", exc_info=error)
    return renderer_for(request)(request, 500, None, "internal error", [])


def install(app: FastAPI, renderers: Renderers) -> None:
    """Answer every error in the shape of the dialect that owns the path."""
    app.state.renderers = renderers
    document(app, renderers)
    app.add_exception_handler(DBAPIError, _database)
    app.add_exception_handler(e.AllotmentError, _domain)
    app.add_exception_handler(ValueError, _value)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(decimal.DecimalException, _arithmetic)
    app.add_exception_handler(OverflowError, _overflow)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)


async def _domain(request: Request, error: Exception) -> Response:
    assert isinstance(error, e.AllotmentError)
    return _answer(request, error)


async def _value(request: Request, error: Exception) -> Response:
    """A ValueError nothing turned into an allotment error is a bug."""
    log.exception("unexpected error", exc_info=error)
    return renderer_for(request)(request, 500, None, "internal error", [])


async def _invalid(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    fields = validation_fields(error)
    detail = (
        "; ".join(f"{f['field'] or 'body'}: {f['message']}" for f in fields) or "invalid request"
    )
    if any(item.get("type") == "json_invalid" for item in error.errors()):
        return _answer(request, MalformedJson(fields[0]["message"]))
    return renderer_for(request)(request, 422, error, detail, fields)


async def _arithmetic(request: Request, error: Exception) -> Response:
    assert isinstance(error, decimal.DecimalException)
    if not _out_of_range(error):
        log.exception("unexpected error", exc_info=error)
        return renderer_for(request)(request, 500, None, "internal error", [])
    return _answer(
        request,
        NumberOutOfRange(
            "an amount computed from this request has more digits than allotment keeps "
            "exactly; use smaller quantities or prices"
        ),
    )


async def _overflow(request: Request, error: Exception) -> Response:
    # An integer beyond what the database stores (SQLite refuses to bind it): no such object
    # can exist, and the number is the caller's.
    return _answer(request, NumberOutOfRange("a number in this request is too large to store"))


async def _http(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    if error.status_code == 400 and error.__cause__ is not None:
        # FastAPI could not read the body at all (not UTF-8, a broken form): for the caller
        # this is the same mistake as JSON that does not parse.
        reason = ": it is not UTF-8 text" if isinstance(error.__cause__, UnicodeError) else ""
        return _answer(request, MalformedJson(f"the body cannot be parsed{reason}"))
    return _http_answer(request, error)


async def _unexpected(request: Request, error: Exception) -> Response:
    log.exception("unexpected error", exc_info=error)
    return renderer_for(request)(request, 500, None, "internal error", [])


def _out_of_range(error: decimal.DecimalException) -> bool:
    """Decimal signals that only too many digits raise (a quantity times a price beyond what
    exact arithmetic keeps); a division by zero or a conversion of text stays a bug."""
    signals = error.args[0] if error.args and isinstance(error.args[0], list) else []
    too_big = {decimal.InvalidOperation, decimal.DivisionImpossible, decimal.Overflow}
    return isinstance(error, decimal.Overflow) or (bool(signals) and set(signals) <= too_big)
