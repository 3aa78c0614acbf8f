"""What the browser sees when the upstream proxy fails: an error page, or a reset."""

from __future__ import annotations

import asyncio
import contextlib
import html
import socket
import struct

from bu_cdp.server.proxies.http1 import Head
from bu_cdp.server.proxies.upstream import UpstreamFailure

REASONS = {421: "Misdirected Request", 502: "Bad Gateway", 504: "Gateway Timeout"}


async def error_page(writer: asyncio.StreamWriter, status: int, failure: UpstreamFailure) -> None:
    """A page titled "bu-cdp proxy error: ..." that says what the upstream did wrong."""
    message = f"bu-cdp proxy error: {failure}"
    body = (
        f"<!doctype html><title>{html.escape(message)}</title>"
        f"<h1>Proxy error</h1><p>{html.escape(str(failure))}</p>"
    ).encode()
    reason = REASONS.get(status, "Proxy Error")
    response = Head(
        f"HTTP/1.1 {status} {reason}",
        [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("Connection", "close"),
        ],
    )
    await send_quietly(writer, response.encode() + body)


async def send_quietly(writer: asyncio.StreamWriter, data: bytes) -> None:
    with contextlib.suppress(ConnectionError):
        writer.write(data)
        await writer.drain()


def reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset: a plain close would read to Chromium as an empty answer."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
