"""The forwarder's HTTP/1 framing: a message whose length is ambiguous never passes through.

``Content-Length: 5, 7`` is invalid (RFC 9112, 6.3): a proxy that forwards it lets the two
ends disagree on where the message ends, the start of request smuggling. The forwarder
refuses it from either side. Real sockets: the forwarder on 127.0.0.1, an upstream proxy of
the test's own that records every byte it is sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from bu_cdp.server.proxies.forwarder import ProxyForwarder
from bu_cdp.server.proxies.upstream import Upstream

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _through_forwarder(request: bytes, upstream: Handler) -> bytes:
    """Send ``request`` to a forwarder in front of ``upstream``; all it answers, to its close."""
    server = await asyncio.start_server(upstream, "127.0.0.1", 0)
    forwarder = ProxyForwarder(Upstream("127.0.0.1", server.sockets[0].getsockname()[1], "u", "p"))
    await forwarder.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", forwarder.port)
        writer.write(request)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 30)
        writer.close()
        return answer
    finally:
        await forwarder.close()
        server.close()
        await server.wait_closed()


def test_forwarder_refuses_a_request_with_conflicting_content_lengths() -> None:
    received: list[bytes] = []

    async def upstream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await reader.read(1 << 16))
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        await writer.drain()
        writer.close()

    request = (
        b"POST http://site.example/form HTTP/1.1\r\nHost: site.example\r\n"
        b"Content-Length: 5, 7\r\n\r\nhello"
    )
    answer = asyncio.run(_through_forwarder(request, upstream))
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
    assert b"Content-Length" in answer  # the page says what was wrong
    assert received == []  # nothing of it reached the upstream


def test_forwarder_refuses_an_answer_with_conflicting_content_lengths() -> None:
    async def upstream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2, 4\r\n\r\nokok")
        await writer.drain()
        await reader.read()  # until the forwarder hangs up
        writer.close()

    request = b"GET http://site.example/ HTTP/1.1\r\nHost: site.example\r\n\r\n"
    answer = asyncio.run(_through_forwarder(request, upstream))
    assert answer.startswith(b"HTTP/1.1 502 "), answer[:200]
    assert b"okok" not in answer and b"200 OK" not in answer
