"""HTTP/1.1 for the forwarding proxy, spoken by ``h11`` over asyncio streams.

A proxy must know where one message ends and the next begins (to add credentials to each
request on a kept-alive connection), and must never pass on a message whose end the two sides
could read differently (``Content-Length: 5, 7``, a bad chunk size): h11 parses and frames
every message, and refuses those (RFC 9112). ``Side`` is one connection seen through h11:
Chromium's (h11's server role) or the upstream proxy's (its client role).
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11

HEAD_LIMIT = 1 << 18  # Chromium's own limit on response headers is 256 KiB
CHUNK = 1 << 16

Headers = list[tuple[bytes, bytes]]


class ProtocolError(Exception):
    """A peer sent something that is not valid HTTP/1.1 (or SOCKS5); ``status`` to answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class Side:
    """One connection spoken through h11: events in from its reader, events out to its writer."""

    def __init__(
        self,
        role: type[h11.CLIENT] | type[h11.SERVER],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self.h11 = h11.Connection(role, max_incomplete_event_size=HEAD_LIMIT)
        self.reader = reader
        self.writer = writer

    def feed(self, data: bytes) -> None:
        """Bytes already read from the connection (to tell HTTP from SOCKS)."""
        self.h11.receive_data(data)

    async def next_event(self) -> Any:
        """The next h11 event (``h11.PAUSED`` once a message waits for its answer)."""
        while True:
            try:
                event = self.h11.next_event()
            except h11.RemoteProtocolError as exc:
                raise ProtocolError(str(exc), exc.error_status_hint) from None
            if event is not h11.NEED_DATA:
                return event
            self.h11.receive_data(await self.reader.read(CHUNK))  # b"" at the end

    def send(self, event: Any) -> None:
        try:
            data = self.h11.send(event)
        except h11.LocalProtocolError as exc:  # a message h11 will not pass on
            raise ProtocolError(str(exc), 502) from None
        if data:
            self.writer.write(data)

    @property
    def done(self) -> bool:
        """Both sides finished their message: ready for the next one, or must close."""
        return self.h11.our_state is h11.DONE and self.h11.their_state is h11.DONE

    def next_cycle(self) -> bool:
        """Start on the next message of a kept-alive connection; False if it must close."""
        if not self.done:
            return False
        self.h11.start_next_cycle()
        return True

    @property
    def switched(self) -> bool:
        """A CONNECT or an upgrade went through: from here on, bytes both ways."""
        return self.h11.our_state is h11.SWITCHED_PROTOCOL

    def trailing(self) -> bytes:
        """What came after the last message, once the protocol switched."""
        data, _ = self.h11.trailing_data
        return bytes(data)


def header(headers: Headers, name: bytes) -> bytes | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


def has_body(request: h11.Request) -> bool:
    headers = list(request.headers)
    length = header(headers, b"content-length")
    return header(headers, b"transfer-encoding") is not None or length not in (None, b"0")


def forwarded_headers(headers: Headers, drop: bytes | None = None) -> Headers:
    """The headers as received (their own casing), less ``drop``; a Content-Length beside
    chunked framing is dropped too, as RFC 9112 asks of a proxy."""
    lowered = [(name.lower(), name, value) for name, value in headers]
    chunked = any(name == b"transfer-encoding" for name, _, _ in lowered)
    return [
        (raw, value)
        for name, raw, value in lowered
        if name != drop and not (chunked and name == b"content-length")
    ]


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
