"""Text the database can store, checked once for every request (decision 0023).

PostgreSQL refuses a NUL character in text, neither database can encode a lone UTF-16
surrogate, and no name, reference or id of allotment has a use for control characters. So,
before any route runs, `TextGuard` reads the path, the query and the body of every request and
refuses, with 422 in the dialect's own error shape, one that carries:

- a NUL or another C0 control character (tab, line feed and carriage return excepted), DEL, or a
  C1 control character, in the path, the query or the body, raw, percent-encoded or, in JSON, as
  a `\\u` escape;
- a lone surrogate (a `\\ud800` escape in JSON not followed by its pair, or percent-encoded bytes
  that are not UTF-8 in the path or the query).

XML bodies are read by the XML parser, which already refuses character references to such
characters; their raw bytes are checked here like every other body's.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import unquote_to_bytes

from fastapi import FastAPI
from pydantic import BeforeValidator, WithJsonSchema
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from allotment.domain import errors as e
from allotment.domain.numbers import (
    MAX_SCALE,
    MAX_WHOLE_DIGITS,
    NotANumber,
    fits_storage,
    fits_wire,
    to_decimal,
)

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_RAW_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\xc2[\x80-\x9f]")
_ESCAPE = re.compile(rb"(\\+)u([0-9a-fA-F]{4})")


class UnstorableText(e.InvalidInstruction):
    """Text holds a character no field of allotment accepts (a NUL, a control character, a
    lone surrogate)."""

    code = "InvalidCharacter"


def text_problem(text: str) -> str | None:
    """What is wrong with `text` as stored text, or None."""
    found = _CONTROL.search(text)
    if found is None:
        return None
    return f"it holds the character U+{ord(found.group()):04X}, which allotment does not accept"


def _part_problem(raw: bytes) -> str | None:
    """A percent-encoded part of a URL (or of a form body): UTF-8 and storable once decoded."""
    try:
        text = unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        return "it is not UTF-8 text once percent-decoded"
    return text_problem(text)


def _escape_problem(body: bytes) -> str | None:
    """JSON `\\u` escapes of control characters and lone surrogates (an escaped backslash
    before `u` is text, not an escape)."""
    pending_high = False
    last_end = -1
    for match in _ESCAPE.finditer(body):
        if len(match.group(1)) % 2 == 0:
            continue
        unit = int(match.group(2), 16)
        adjacent = match.start(1) == last_end and len(match.group(1)) == 1
        if pending_high and not (0xDC00 <= unit <= 0xDFFF and adjacent):
            return "it holds a lone surrogate (\\u escape of U+D800 to U+DFFF)"
        if 0xDC00 <= unit <= 0xDFFF and not pending_high:
            return "it holds a lone surrogate (\\u escape of U+D800 to U+DFFF)"
        pending_high = 0xD800 <= unit <= 0xDBFF
        last_end = match.end()
        if (unit < 0x20 and unit not in (0x09, 0x0A, 0x0D)) or 0x7F <= unit <= 0x9F:
            return f"it holds the character U+{unit:04X}, which allotment does not accept"
    if pending_high:
        return "it holds a lone surrogate (\\u escape of U+D800 to U+DFFF)"
    return None


def body_problem(body: bytes, media_type: str) -> str | None:
    """What makes this body's text unstorable, or None."""
    raw = _RAW_CONTROL.search(body)
    if raw is not None:
        return "it holds a control character, which allotment does not accept"
    if media_type == "application/x-www-form-urlencoded":
        return _part_problem(body.replace(b"+", b" "))
    if b"\\u" in body and not media_type.endswith("xml"):
        return _escape_problem(body)
    return None


def request_problem(scope: Scope) -> tuple[str, str] | None:
    """(where, what) is wrong with the request's path or query, or None."""
    path = scope.get("raw_path") or scope.get("path", "").encode("utf-8", "surrogatepass")
    problem = _part_problem(path)
    if problem is not None:
        return "path", problem
    problem = _part_problem(scope.get("query_string", b"").replace(b"+", b" "))
    if problem is not None:
        return "query", problem
    return None


class TextGuard:
    """Refuses a request whose path, query or body holds text allotment cannot store, before
    any route (or the idempotency store) sees it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        found = request_problem(scope)
        if found is not None:
            await _refuse(scope, send, f"The {found[0]} cannot be read: {found[1]}.")
            return
        messages: list[Message] = []
        chunks: list[bytes] = []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break  # the client went away (or a size limit answered): nothing to check
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        problem = body_problem(body, _media_type(scope)) if body else None
        if problem is not None:
            await _refuse(scope, send, f"The body cannot be read: {problem}.")
            return
        await self.app(scope, _replay(messages, body, receive), send)


def _media_type(scope: Scope) -> str:
    header: bytes = dict(scope.get("headers", [])).get(b"content-type", b"")
    return header.decode("latin-1").split(";")[0].strip().lower()


def _replay(messages: list[Message], body: bytes, receive: Receive) -> Receive:
    first: list[Message] = [
        {"type": "http.request", "body": body, "more_body": False}
        if messages and messages[-1]["type"] == "http.request"
        else messages[-1]
    ]

    async def replayed() -> Message:
        if first:
            return first.pop()
        return await receive()

    return replayed


async def _refuse(scope: Scope, send: Send, message: str) -> None:
    from starlette.requests import Request

    from allotment.entrypoints.http.errors import renderer_for, status_for

    request = Request(scope)
    error = UnstorableText(message)
    response = renderer_for(request)(request, status_for(error), error, message, [])
    await response(scope, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


def _bounded(value: Any) -> Decimal:
    """A quantity, price or amount of a dialect's JSON body: an exact number (a JSON number or
    its ASCII text) within the bounds of `domain.numbers`."""
    try:
        number = to_decimal(value)
    except NotANumber as error:
        raise ValueError(str(error)) from error
    if not fits_storage(number):
        raise ValueError(
            f"at most {MAX_WHOLE_DIGITS} digits before the decimal point and {MAX_SCALE} after it"
        )
    return number


def _weight(value: Any) -> Decimal:
    """A weight or share (Saxo's UnitValue): within the bounds of any number a client sends,
    with as many decimals as a JavaScript double prints (100/3 is 33.333333333333336)."""
    try:
        number = to_decimal(value)
    except NotANumber as error:
        raise ValueError(str(error)) from error
    if not fits_wire(number):
        raise ValueError(
            f"at most {MAX_WHOLE_DIGITS} digits before the decimal point, and not smaller than "
            f"1e-{MAX_SCALE}"
        )
    return number


BoundedWeight = Annotated[Decimal, BeforeValidator(_weight), WithJsonSchema({"type": "number"})]
"""The pydantic type of a dialect's weight sent as a JSON number."""

BoundedNumber = Annotated[
    Decimal,
    BeforeValidator(_bounded),
    WithJsonSchema({"type": "number"}),
]
"""The pydantic type of a dialect's quantity, price or amount sent as a JSON number."""


def document_refusals(app: FastAPI) -> None:
    """Every operation of the OpenAPI document declares the answer `TextGuard` may give it
    (the status its dialect renders for unreadable input), so a client learns it up front."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            for path, operations in schema.get("paths", {}).items():
                status = str(_refusal_status(app, path))
                for operation in operations.values():
                    responses = operation.setdefault("responses", {})
                    if isinstance(responses, dict) and status not in responses:
                        responses[status] = {"description": REFUSAL}
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


REFUSAL = "The path, query or body holds a NUL, a control character or a lone surrogate."


def _refusal_status(app: FastAPI, path: str) -> int:
    from starlette.requests import Request

    from allotment.entrypoints.http.errors import renderer_for, status_for

    request = Request({"type": "http", "method": "GET", "path": path, "headers": [], "app": app})
    error = UnstorableText(REFUSAL)
    return renderer_for(request)(request, status_for(error), error, REFUSAL, []).status_code
