"""What the browser sees when a request cannot go through: an error page, a 407, or a reset.

Written as plain bytes, outside h11: each ends its connection, whatever state h11 was in.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import socket
import struct

REASONS = {
    400: "Bad Request",
    421: "Misdirected Request",
    431: "Request Header Fields Too Large",
    501: "Not Implemented",
    502: "Bad Gateway",
    504: "Gateway Timeout",
}

# Without Proxy-Authenticate Chromium has no scheme to answer with.
PROXY_AUTH_REFUSED = (
    b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
)


def error_page(status: int, detail: str) -> bytes:
    """A page titled "bu-cdp proxy error: ..." that says what went wrong, and its head."""
    message = f"bu-cdp proxy error: {detail}"
    body = (
        f"<!doctype html><title>{html.escape(message)}</title>"
        f"<h1>Proxy error</h1><p>{html.escape(detail)}</p>"
    ).encode()
    head = (
        f"HTTP/1.1 {status} {REASONS.get(status, 'Proxy Error')}\r\n"
        "Content-Type: text/html; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


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
