"""`allotment serve`'s connections send at once (TCP_NODELAY), also on the socket its workers
share: without it a kept-alive answer, written as a head and then a body, waited for the
client's delayed acknowledgement (decision 0037)."""

from __future__ import annotations

import asyncio
import socket

from uvicorn.importer import import_from_string

from allotment.entrypoints import transport


async def _nodelay_of_accepted(*, switch_off_nagle: bool) -> int:
    """Accept one connection on a listening socket opened as uvicorn opens the one its workers
    share (protocol number 0), and read the accepted connection's TCP_NODELAY."""
    listening = socket.socket(family=socket.AF_INET)
    listening.bind(("127.0.0.1", 0))
    port = listening.getsockname()[1]
    found: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    class Probe(asyncio.Protocol):
        def connection_made(self, made: asyncio.BaseTransport) -> None:
            if switch_off_nagle:
                transport.no_delay(made)
            sock = made.get_extra_info("socket")
            found.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            made.close()

    server = await asyncio.get_running_loop().create_server(Probe, sock=listening)
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        value = await asyncio.wait_for(found, 10)
        writer.close()
    finally:
        server.close()
        await server.wait_closed()
    return value


def test_a_shared_socket_leaves_nagle_on_until_the_connection_switches_it_off() -> None:
    assert asyncio.run(_nodelay_of_accepted(switch_off_nagle=False)) == 0
    assert asyncio.run(_nodelay_of_accepted(switch_off_nagle=True)) != 0


def test_the_protocol_serve_names_is_the_one_that_switches_it_off() -> None:
    assert import_from_string(transport.PROTOCOL) is transport.NoDelayHTTPProtocol
