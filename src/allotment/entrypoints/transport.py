"""The server's HTTP connections: TCP_NODELAY on every one, whatever socket they were accepted on.

The server writes an answer in two pieces, its head and then its body. With Nagle's algorithm on,
the second piece waits until the client acknowledges the first, and a client delays that
acknowledgement (40 ms on Linux) hoping to send it with data of its own: a kept-alive request
then takes tens of milliseconds instead of one or two. asyncio switches Nagle off on the
connections of a socket it opens itself (one worker), but not on those of a socket opened by
the server with a protocol number of 0, as uvicorn opens the socket its `--workers` share
(decision 0037). So every connection switches it off here, when it is made.
"""

from __future__ import annotations

import asyncio
import socket
from contextlib import suppress

from uvicorn.protocols.http.h11_impl import H11Protocol

PROTOCOL = "allotment.entrypoints.transport:NoDelayHTTPProtocol"
"""What `allotment serve` hands uvicorn as its HTTP protocol."""


def no_delay(transport: asyncio.BaseTransport) -> None:
    """Send what is written at once on a TCP connection (nothing to do on a Unix socket)."""
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with suppress(OSError):  # the client may be gone already
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class NoDelayHTTPProtocol(H11Protocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        no_delay(transport)
        super().connection_made(transport)
