"""Saxo's batch requests (`POST /port/batch`, `POST /trade/batch`): several requests of one
service group in one `multipart/mixed` body, answered in one `multipart/mixed` body.

Each part is an embedded HTTP request (`Content-Type: application/http; msgtype=request`, then
the request line, headers and body); the answer has one part per request, in the same order,
with the embedded response (`msgtype=response`, the status line, the `X-Request-Id` the request
carried, its headers and body). Saxo's samples read the answer line by line: the first line is
a delimiter, each part's status line is its fourth line, and each JSON body is one line.

Every embedded request is dispatched through the application itself, middleware included, with
the batch's credentials when it carries none of its own: it is answered exactly as if it had
been sent alone. Parts run one after the other, in order.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from email.message import Message
from enum import Enum
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote, urlsplit

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response
from starlette.types import Message as AsgiMessage

from allotment.domain.errors import InvalidInstruction
from allotment.entrypoints.http.deps import context_for
from allotment.entrypoints.http.saxo import docs
from allotment.entrypoints.http.saxo.wire import GATEWAY_BASE, encode

SAXO: list[str | Enum] = ["Saxo"]
MAX_PARTS = 100
"""Requests one batch may carry."""
CRLF = "\r\n"
FORWARDED = ("authorization",)
"""Headers of the batch itself that an embedded request without its own inherits."""

router = APIRouter(tags=SAXO)


@dataclass(slots=True)
class Embedded:
    method: str
    target: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name), None)


@dataclass(frozen=True, slots=True)
class Answered:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


BATCH_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/mixed": {
                "schema": {"type": "string"},
                "example": "--+\r\nContent-Type:application/http; msgtype=request\r\n\r\n"
                "GET /openapi/port/v1/users/me HTTP/1.1\r\nX-Request-Id:1\r\n\r\n\r\n--+--\r\n",
            }
        },
    }
}
BATCH_ANSWER: dict[int | str, dict[str, Any]] = {
    **docs.responses(200, None, "One embedded response per request", 400, 401, write=False),
}
BATCH_ANSWER[200]["content"] = {"multipart/mixed": {"schema": {"type": "string"}}}


@router.post(
    "/port/batch",
    dependencies=[Depends(context_for("saxo"))],
    response_class=Response,
    responses=BATCH_ANSWER,
    openapi_extra=BATCH_DOC,
)
async def port_batch(request: Request) -> Response:
    """Saxo's batch of portfolio requests (`/port/...`): a multipart/mixed body of embedded
    HTTP requests, answered as a multipart/mixed body of their responses."""
    return await _batch(request, "port")


@router.post(
    "/trade/batch",
    dependencies=[Depends(context_for("saxo"))],
    response_class=Response,
    responses=BATCH_ANSWER,
    openapi_extra=BATCH_DOC,
)
async def trade_batch(request: Request) -> Response:
    """Saxo's batch of trading requests (`/trade/...`), as `/port/batch` for its group."""
    return await _batch(request, "trade")


async def _batch(request: Request, group: str) -> Response:
    boundary = _boundary(request.headers.get("content-type", ""))
    parts = _parts(await request.body(), boundary)
    answers = [await _answer(request, group, part) for part in parts]
    delimiter = f"--{uuid.uuid4()}"
    chunks = [
        _render(delimiter, answered, part) for part, answered in zip(parts, answers, strict=True)
    ]
    body = b"".join(chunks) + f"{delimiter}--{CRLF}".encode()
    media_type = f"multipart/mixed; boundary={delimiter[2:]}"
    return Response(body, status_code=200, media_type=media_type)


def _boundary(content_type: str) -> str:
    header = Message()
    header["content-type"] = content_type
    boundary = header.get_param("boundary")
    if header.get_content_type() != "multipart/mixed" or not isinstance(boundary, str):
        raise InvalidInstruction(
            "a batch is a multipart/mixed body with a boundary "
            f"(Content-Type: multipart/mixed; boundary=...), not {content_type or 'nothing'}"
        )
    return boundary


def _parts(raw: bytes, boundary: str) -> list[str | Embedded]:
    """The embedded requests, or for a part that is not one, why."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidInstruction("the batch body is not UTF-8 text") from error
    opening, closing = f"--{boundary}", f"--{boundary}--"
    parts: list[list[str]] = []
    current: list[str] | None = None
    for line in text.splitlines(keepends=True):
        bare = line.rstrip()
        if bare in (opening, closing):
            if current is not None:
                parts.append(current)
            current = [] if bare == opening else None
            if bare == closing:
                break
        elif current is not None:
            current.append(line)
    if not parts:
        raise InvalidInstruction(f"the batch holds no part delimited by --{boundary}")
    if len(parts) > MAX_PARTS:
        raise InvalidInstruction(f"a batch may hold at most {MAX_PARTS} requests")
    return [_embedded("".join(lines)) for lines in parts]


def _embedded(part: str) -> str | Embedded:
    mime, http = _split_head(part)
    declared = dict((k.lower(), v) for k, v in _headers(mime))
    if "content-type" in declared:
        kind = Message()
        kind["content-type"] = declared["content-type"]
        if kind.get_content_type() != "application/http":
            return "each part of a batch is an application/http request"
    head, body = _split_head(http.lstrip("\r\n"))
    lines = head.splitlines()
    words = lines[0].split() if lines else []
    if len(words) != 3 or not words[2].startswith("HTTP/"):
        return "each part of a batch needs a request line: METHOD /path HTTP/1.1"
    # The line break before the next delimiter belongs to the delimiter (RFC 2046).
    body = body.removesuffix(CRLF) if body.endswith(CRLF) else body.removesuffix("\n")
    return Embedded(words[0].upper(), words[1], _headers("\n".join(lines[1:])), body.encode())


def _split_head(text: str) -> tuple[str, str]:
    """Head and body at the first empty line (CRLF or LF); an empty head when the text
    starts with one, no body when there is none."""
    if text.startswith(("\r\n", "\n")):
        return "", text.split("\n", 1)[1]
    found = [(at, sep) for sep in ("\r\n\r\n", "\n\n") if (at := text.find(sep)) >= 0]
    if not found:
        return text, ""
    at, separator = min(found)
    return text[:at], text[at + len(separator) :]


def _headers(block: str) -> list[tuple[str, str]]:
    pairs = []
    for line in block.splitlines():
        name, colon, value = line.partition(":")
        if colon and name.strip():
            pairs.append((name.strip(), value.strip()))
    return pairs


async def _answer(request: Request, group: str, part: str | Embedded) -> Answered:
    if isinstance(part, str):
        return _refused(400, "InvalidRequest", part)
    target = urlsplit(part.target)
    path = target.path
    in_group = path.startswith((f"/{group}/", f"{GATEWAY_BASE}/{group}/"))
    if not in_group or path.rstrip("/").endswith("/batch"):
        return _refused(
            400,
            "InvalidRequest",
            f"a /{group}/batch holds requests of the {group} service group only, not "
            f"{part.method} {path}",
        )
    unreadable = next((k for k, v in part.headers if not (k + v).isascii()), None)
    if unreadable is not None:  # HTTP header names and values are ASCII (RFC 9110)
        return _refused(
            400, "InvalidRequest", f"the header {unreadable} holds text that is not ASCII"
        )
    return await _dispatch(request, part, path, target.query)


def _refused(status: int, code: str, message: str) -> Answered:
    body = encode({"ErrorCode": code, "Message": message}).encode()
    return Answered(status, [("Content-Type", "application/json; charset=utf-8")], body)


async def _dispatch(request: Request, part: Embedded, path: str, query: str) -> Answered:
    """The embedded request through the whole application, as if it came alone."""
    headers = [(k, v) for k, v in part.headers if k.lower() not in ("host", "content-length")]
    for name in FORWARDED:
        inherited = request.headers.get(name)
        if part.header(name) is None and inherited is not None:
            headers.append((name, inherited))
    headers += [("host", request.headers.get("host", "")), ("content-length", str(len(part.body)))]
    scope = {
        **{k: v for k, v in request.scope.items() if k in ("server", "client", "root_path")},
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": part.method,
        "scheme": request.url.scheme,
        "path": unquote(path),
        "raw_path": path.encode("latin-1", "replace"),
        "query_string": query.encode("latin-1", "replace"),
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers],
    }
    sent: list[AsgiMessage] = []
    delivered, finished = False, asyncio.Event()

    async def receive() -> AsgiMessage:
        # As a server does: the body once, then nothing until the answer is complete.
        nonlocal delivered
        if delivered:
            await finished.wait()
            return {"type": "http.disconnect"}
        delivered = True
        return {"type": "http.request", "body": part.body, "more_body": False}

    async def send(message: AsgiMessage) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            finished.set()

    await request.app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    answer_headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in start["headers"]]
    return Answered(int(start["status"]), answer_headers, body)


def _render(delimiter: str, answered: Answered, part: str | Embedded) -> bytes:
    lines = [
        delimiter,
        "Content-Type: application/http; msgtype=response",
        "",
        f"HTTP/1.1 {answered.status} {_phrase(answered.status)}",
    ]
    request_id = part.header("x-request-id") if isinstance(part, Embedded) else None
    if request_id is not None:
        lines.append(f"X-Request-Id: {request_id}")
    skip = ("content-length", "x-request-id")
    lines += [
        f"{_title(name)}: {value}" for name, value in answered.headers if name.lower() not in skip
    ]
    head = (CRLF.join(lines) + CRLF + CRLF).encode("utf-8")
    return head + answered.body + CRLF.encode()


def _title(name: str) -> str:
    """A header name as Saxo's batch answers write it (Content-Type, X-Correlation)."""
    return "-".join(word[:1].upper() + word[1:] for word in name.split("-"))


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
