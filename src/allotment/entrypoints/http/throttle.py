"""Throttling of failed logins: every token endpoint, and HTTP Basic on any route.

A login that is answered 401 counts as one failure for its user (the Username header, the
form's client_id or the body's username, the Basic user) and one for the caller's address, in
a moving window of one minute. Once either has reached its limit, the next login for that user
or from that address is answered 429 with `Retry-After`, in the endpoint's own error shape,
before any password is verified (each verification costs a deliberately slow Argon2 hash). A
login that succeeds is not counted.

The windows are kept in this process's memory (`limits`' moving window): with several server
processes each keeps its own, so a client spread over N workers gets up to N times the limit.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import time
from collections.abc import MutableMapping
from typing import Any
from urllib.parse import parse_qs

from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from allotment.entrypoints.http.errors import TooManyRequests, renderer_for, with_retry_after

TOKEN_PATHS: tuple[str, ...] = ("/token", "/v1.0/token", "/v1/token", "/connect/token")
TOKEN_PATHS += ("/api/v1/auth/token", "/desk/login", "/desk/login/code")  # and the desk's steps
MAX_LOGIN_BODY = 64 * 1024
"""A login body larger than this is not read for its username (the address still counts)."""


class LoginThrottle:
    """Per-user and per-address windows of failed logins."""

    def __init__(self, per_user: int, per_address: int) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._limits = {"user": RateLimitItemPerMinute(per_user)}
        self._limits["address"] = RateLimitItemPerMinute(per_address)

    def _keys(self, user: str | None, address: str) -> list[tuple[str, str]]:
        keys = [("address", address)]
        if user:
            keys.append(("user", user.casefold()))
        return keys

    def wait(self, user: str | None, address: str) -> int:
        """Seconds until a login for `user` from `address` may be tried; 0 when it may now."""
        waits = []
        for kind, key in self._keys(user, address):
            item = self._limits[kind]
            if not self._limiter.test(item, kind, key):
                reset = self._limiter.get_window_stats(item, kind, key).reset_time
                waits.append(max(1, math.ceil(reset - time.time())))
        return max(waits, default=0)

    def failed(self, user: str | None, address: str) -> None:
        for kind, key in self._keys(user, address):
            self._limiter.hit(self._limits[kind], kind, key)


class LoginThrottleMiddleware:
    def __init__(self, app: ASGIApp, throttle: LoginThrottle) -> None:
        self.app = app
        self.throttle = throttle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {name.lower(): value for name, value in scope.get("headers", [])}
        login = scope["method"] == "POST" and scope["path"] in TOKEN_PATHS
        basic = _basic_user(headers)
        if not login and basic is None:
            await self.app(scope, receive, send)
            return
        body, receive = await _buffered(receive) if login else (b"", receive)
        user = basic if basic is not None else _login_user(headers, body)
        address = scope["client"][0] if scope.get("client") else "unknown"
        wait = self.throttle.wait(user, address)
        if wait:
            await _refuse(scope, wait, send)
            return
        status = 0

        async def watch(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        await self.app(scope, receive, watch)
        if status == 401:
            self.throttle.failed(user, address)


def _basic_user(headers: dict[bytes, bytes]) -> str | None:
    scheme, _, value = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ""
    return decoded.partition(":")[0]


def _login_user(headers: dict[bytes, bytes], body: bytes) -> str | None:
    """Who a token request logs in as: ETNA's Username header, OAuth2's client_id, or the
    native body's username; None when it cannot be read (the address still counts)."""
    if b"username" in headers:
        return headers[b"username"].decode("latin-1")
    content_type = headers.get(b"content-type", b"").decode("latin-1").lower()
    if not body or len(body) > MAX_LOGIN_BODY:
        return None
    try:
        if "application/x-www-form-urlencoded" in content_type:
            form = parse_qs(body.decode("utf-8"))
            found = form.get("client_id") or form.get("username")  # OAuth2's, or the desk's
            return found[0] if found else None
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return None
    name = document.get("username") if isinstance(document, dict) else None
    return name if isinstance(name, str) else None


async def _buffered(receive: Receive) -> tuple[bytes, Receive]:
    """The body read ahead (up to MAX_LOGIN_BODY is kept for the username), and a receive that
    hands the application every message again."""
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        size += len(message.get("body", b""))
        if not message.get("more_body", False) or size > MAX_LOGIN_BODY:
            break
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")

    async def replay() -> Message:
        return messages.pop(0) if messages else await receive()

    return body, replay


async def _refuse(scope: Scope, wait: int, send: Send) -> None:
    request = Request(scope)
    error = TooManyRequests(
        f"too many failed logins; try again in {wait} seconds", retry_after=wait
    )
    response = renderer_for(request)(request, 429, error, error.message, [])
    await with_retry_after(response, wait)(scope, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}
