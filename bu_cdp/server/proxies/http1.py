"""Just enough HTTP/1.1 over asyncio streams for a forwarding proxy: heads, bodies, tunnels.

A proxy must know where one message ends and the next begins (to add credentials to each
request on a kept-alive connection); it never needs to understand the bodies themselves.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

HEAD_LIMIT = 1 << 18  # Chromium's own limit on response headers is 256 KiB
CHUNK = 1 << 16


class ProtocolError(Exception):
    """A peer sent something that is not HTTP/1.1."""


@dataclass
class Head:
    """A request or response head: its first line and its headers, in order."""

    first: str
    headers: list[tuple[str, str]]

    def get(self, name: str) -> str | None:
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None

    def tokens(self, name: str) -> set[str]:
        """The comma-separated tokens of every header called ``name``, lowercased."""
        name = name.lower()
        return {
            token.strip().lower()
            for key, value in self.headers
            if key.lower() == name
            for token in value.split(",")
        }

    def without(self, name: str) -> list[tuple[str, str]]:
        return [(k, v) for k, v in self.headers if k.lower() != name.lower()]

    def encode(self, headers: list[tuple[str, str]] | None = None) -> bytes:
        """The head as sent on the wire, with ``headers`` instead of its own if given."""
        chosen = self.headers if headers is None else headers
        lines = [self.first, *(f"{k}: {v}" for k, v in chosen), "", ""]
        return "\r\n".join(lines).encode("latin-1")

    @property
    def version(self) -> str:
        part = self.first.split(" ", 1)[0] if self.first.startswith("HTTP/") else self.first
        return part.rsplit(" ", 1)[-1]

    def keeps_alive(self) -> bool:
        connection = self.tokens("connection") | self.tokens("proxy-connection")
        if self.version == "HTTP/1.0":
            return "keep-alive" in connection
        return "close" not in connection

    def chunked(self) -> bool:
        return "chunked" in self.tokens("transfer-encoding")

    def content_length(self) -> int | None:
        value = self.get("content-length")
        if value is None:
            return None
        try:
            length = int(value.split(",")[0].strip())
        except ValueError:
            raise ProtocolError(f"bad Content-Length {value!r}") from None
        if length < 0:
            raise ProtocolError(f"bad Content-Length {value!r}")
        return length


async def read_head(reader: asyncio.StreamReader, prefix: bytes = b"") -> Head | None:
    """The next head on a connection, or None if the peer closed it cleanly before one.

    ``prefix`` is the head's start, if already read (to tell HTTP from SOCKS).
    """
    try:
        raw = prefix + await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not (prefix + exc.partial).strip():
            return None
        raise ProtocolError("connection closed in the middle of a message head") from None
    except asyncio.LimitOverrunError:
        raise ProtocolError("message head too large") from None
    lines = raw.decode("latin-1").split("\r\n")
    while lines and not lines[0]:
        lines.pop(0)  # a stray CRLF between messages is allowed
    if not lines:
        return None
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise ProtocolError(f"bad header line {line[:80]!r}")
        headers.append((name, value.strip()))
    return Head(lines[0], headers)


def status_of(head: Head) -> int:
    parts = head.first.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise ProtocolError(f"bad status line {head.first[:80]!r}")
    return int(parts[1])


async def copy_body(
    head: Head, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, to_eof: bool
) -> None:
    """Copy the body that follows ``head``: chunked, by length, or (``to_eof``) until EOF."""
    if head.chunked():
        while True:
            line = await reader.readuntil(b"\r\n")
            writer.write(line)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise ProtocolError("bad chunk size") from None
            if size == 0:
                break
            await copy_exactly(reader, writer, size + 2)  # the chunk and its CRLF
        while True:  # trailers, up to the empty line
            line = await reader.readuntil(b"\r\n")
            writer.write(line)
            if line == b"\r\n":
                break
        await writer.drain()
        return
    length = head.content_length()
    if length is not None:
        await copy_exactly(reader, writer, length)
    elif to_eof:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()


async def copy_exactly(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
    while n > 0:
        data = await reader.read(min(n, CHUNK))
        if not data:
            raise ProtocolError("connection closed in the middle of a body")
        writer.write(data)
        n -= len(data)
        await writer.drain()


def has_no_body(method: str, status: int) -> bool:
    return method == "HEAD" or 100 <= status < 200 or status in (204, 304)


async def pipe(
    a: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    b: tuple[asyncio.StreamReader, asyncio.StreamWriter],
) -> None:
    """Carry bytes both ways until both sides are done; a reset on one side ends both."""

    async def one_way(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        while data := await src.read(CHUNK):
            dst.write(data)
            await dst.drain()
        if dst.can_write_eof():
            dst.write_eof()

    directions = [
        asyncio.ensure_future(one_way(a[0], b[1])),
        asyncio.ensure_future(one_way(b[0], a[1])),
    ]
    try:
        done, pending = await asyncio.wait(directions, return_when=asyncio.FIRST_EXCEPTION)
        if any(not task.cancelled() and task.exception() for task in done):
            for task in pending:
                task.cancel()
    finally:
        for task in directions:
            task.cancel()
        await asyncio.gather(*directions, return_exceptions=True)
