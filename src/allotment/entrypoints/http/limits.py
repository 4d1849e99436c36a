"""Request body limits, enforced before the application reads the body: its size, and the
number of items of a batch (a JSON array) counted as the body streams in.

A declared Content-Length over the limit is refused at once. A body without one (chunked) is
counted as it streams: once it passes the limit the client is answered 413 and the application
sees the client go away (an `http.disconnect`), so nothing runs on a truncated body; whatever
the application would still send is dropped.
"""

from __future__ import annotations

from collections.abc import Collection, MutableMapping
from typing import Any

import ijson  # type: ignore[import-untyped]
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from allotment.adapters import metrics


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, send)
            return
        seen = 0
        started = refused = False

        async def counted() -> Message:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    refused = True
                    if not started:
                        await self._refuse(scope, send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message: MutableMapping[str, Any]) -> None:
            nonlocal started
            if refused:
                return
            started = True
            await send(message)

        await self.app(scope, counted, guarded)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        await _too_large(scope, send, f"the request body is larger than {self.max_bytes} bytes")


class BatchItemLimit:
    """A batch (a JSON array body, on the routes given) of more than `max_items` items is
    refused with 413 as soon as the item past the limit arrives: the items are counted over the
    raw bytes as they stream in, by a streaming JSON parser, before anything parses the whole
    body. So memory is bounded by the limit, not by the body. A body that is not a JSON array
    (or not JSON) is left to the route, which says what is wrong with it."""

    def __init__(self, app: ASGIApp, max_items: int, routes: Collection[tuple[str, str]]) -> None:
        self.app = app
        self.max_items = max_items
        self.routes = frozenset(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (scope["method"], scope["path"]) not in self.routes:
            await self.app(scope, receive, send)
            return
        counter = ItemCounter()
        started = refused = False

        async def counted() -> Message:
            nonlocal refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                counter.feed(message.get("body", b""))
            if counter.items > self.max_items:
                refused = True
                if not started:
                    most = self.max_items
                    detail = f"the batch has more than {most} requests; at most {most} are accepted"
                    await _too_large(scope, send, detail)
                return {"type": "http.disconnect"}
            return message

        async def guarded(message: MutableMapping[str, Any]) -> None:
            nonlocal started
            if refused:
                return
            started = True
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except Exception:
            if not refused:
                raise
            # The application saw the client go away (the batch was answered 413): done.
        finally:
            metrics.BATCH_ITEMS.observe(counter.items)


class ItemCounter:
    """Counts the items of a top-level JSON array fed to it chunk by chunk (a C-backed
    streaming parser, one event per value); stops counting at the first byte that is not such
    an array."""

    def __init__(self) -> None:
        self._events = ijson.sendable_list()
        self._parser = ijson.basic_parse_coro(self._events)
        self._depth = 0
        self.items = 0
        self.counting = True

    def feed(self, chunk: bytes) -> bool:
        """Feed the next chunk; True while the body is still a JSON array being counted."""
        if not self.counting or not chunk:
            return self.counting
        try:
            self._parser.send(chunk)
        except ijson.JSONError:
            self.counting = False
        for event, _ in self._events:
            if self._depth == 0 and event != "start_array":
                self.counting = False
                break
            if self._depth == 1 and event not in ("end_array", "end_map"):
                self.items += 1
            if event in ("start_map", "start_array"):
                self._depth += 1
            elif event in ("end_map", "end_array"):
                self._depth -= 1
        del self._events[:]
        return self.counting


async def _too_large(scope: Scope, send: Send, detail: str) -> None:
    from starlette.requests import Request

    from allotment.entrypoints.http.errors import renderer_for

    request = Request(scope)
    response = renderer_for(request)(request, 413, None, detail, [])
    await response(scope, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}
