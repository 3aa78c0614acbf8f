"""The fast CDP relay: check the token, then splice bytes between the client and Chromium.

uvicorn hands every websocket upgrade to a protocol class of our choosing (its documented
``ws=`` setting). ``splicing_protocol`` returns one that looks at the request line: a
``/cdp/{browser_id}/{token}`` upgrade is checked against the browser's token *before* any
byte goes to Chromium, then the upgrade request is replayed to Chromium's DevTools socket and
the two TCP connections are joined. Chromium answers the handshake itself and every frame
passes unparsed, so the relay adds one socket hop and no websocket work, and frames of any
size pass. Any other upgrade (live views, the ASGI relay) goes to uvicorn's own protocol.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any, cast

from fastapi import FastAPI

from bu_cdp.server.browsers import BrowserManager, ManagedBrowser

log = logging.getLogger("bu_cdp.server")

CDP_TARGET = re.compile(rb"/cdp/([^/?#]+)/([^/?#]+)/?(?:\?[^#]*)?")
# Headers that name the relay rather than Chromium: Chromium refuses a Host that is not
# an IP or localhost, and any Origin it was not started to allow.
_DROPPED_HEADERS = (b"host", b"origin")


def _plain_response(status: str, text: str) -> bytes:
    body = text.encode()
    head = f"HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"Connection: close\r\n\r\n" + body


_FORBIDDEN = _plain_response("403 Forbidden", "Not a valid CDP address for an active browser")
_BAD_GATEWAY = _plain_response("502 Bad Gateway", "Chromium could not be reached")


def splicing_protocol(app: FastAPI, fallback: type[asyncio.Protocol]) -> type[asyncio.Protocol]:
    """A uvicorn ``ws`` protocol class: CDP upgrades are spliced, the rest go to ``fallback``."""

    class RelayOrWebSocket(_RelayOrWebSocket):
        _app = app
        _fallback = fallback

    return RelayOrWebSocket


class _RelayOrWebSocket(asyncio.Protocol):
    _app: FastAPI
    _fallback: type[asyncio.Protocol]

    def __init__(self, **uvicorn_args: Any) -> None:
        self._uvicorn_args = uvicorn_args
        self._connections: set[Any] = uvicorn_args["server_state"].connections
        self._transport: asyncio.Transport | None = None
        self._delegate: asyncio.Protocol | None = None
        self._splice: _Splice | None = None

    # -- asyncio.Protocol: the first chunk is the upgrade request uvicorn already parsed -----

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but behave as one.
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self._delegate is not None:
            self._delegate.data_received(data)
        elif self._splice is not None:
            self._splice.from_client(data)
        else:
            self._first_request(data)

    def eof_received(self) -> bool | None:
        if self._delegate is not None:
            return self._delegate.eof_received()
        return None  # close the connection; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        if self._delegate is not None:
            self._delegate.connection_lost(exc)
        elif self._splice is not None:
            self._connections.discard(self)
            self._splice.client_lost()

    def pause_writing(self) -> None:
        if self._delegate is not None:
            self._delegate.pause_writing()
        elif self._splice is not None:
            self._splice.client_full(True)

    def resume_writing(self) -> None:
        if self._delegate is not None:
            self._delegate.resume_writing()
        elif self._splice is not None:
            self._splice.client_full(False)

    def shutdown(self) -> None:
        """uvicorn's graceful shutdown: a relayed CDP socket has nothing to finish."""
        if self._splice is not None:
            self._splice.close()

    # -----------------------------------------------------------------------------------

    def _first_request(self, request: bytes) -> None:
        assert self._transport is not None
        head, _, _ = request.partition(b"\r\n")
        parts = head.split(b" ")
        match = CDP_TARGET.fullmatch(parts[1]) if len(parts) == 3 else None
        if match is None:
            self._delegate = self._fallback(**self._uvicorn_args)
            self._delegate.connection_made(self._transport)
            self._delegate.data_received(request)
            return
        manager: BrowserManager = self._app.state.manager
        browser = manager.authorize(match[1].decode(), match[2].decode())
        if browser is None or browser.process is None:
            self._transport.write(_FORBIDDEN)
            self._transport.close()
            return
        self._connections.add(self)
        manager.metrics.cdp_connections += 1
        self._splice = _Splice(self._transport, browser)
        self._splice.start(_upstream_request(request, browser))


def _upstream_request(request: bytes, browser: ManagedBrowser) -> bytes:
    """The client's upgrade request, addressed to Chromium's own DevTools path."""
    assert browser.process is not None
    lines = request.split(b"\r\n")
    kept = [
        line
        for line in lines[1:]
        if line and line.split(b":", 1)[0].strip().lower() not in _DROPPED_HEADERS
    ]
    host = f"Host: 127.0.0.1:{browser.process.port}".encode()
    start = f"GET {browser.process.browser_path} HTTP/1.1".encode()
    return b"\r\n".join([start, host, *kept]) + b"\r\n\r\n"


class _Splice:
    """Two TCP connections joined, with back-pressure both ways, closed together."""

    def __init__(self, client: asyncio.Transport, browser: ManagedBrowser) -> None:
        self.client = client
        self.browser = browser
        self.upstream: asyncio.Transport | None = None
        self._closed = False
        # Bytes the client sent before Chromium's socket was open (normally none).
        self._early: list[bytes] = []
        self._connecting: asyncio.Task[None] | None = None  # held: the loop keeps weak refs

    def start(self, request: bytes) -> None:
        self._early.append(request)
        self.client.pause_reading()
        self.browser.closers.add(self._close_async)
        self._connecting = asyncio.get_running_loop().create_task(self._connect())

    async def _connect(self) -> None:
        assert self.browser.process is not None
        loop = asyncio.get_running_loop()
        try:
            transport, _ = await asyncio.wait_for(
                loop.create_connection(
                    lambda: _Upstream(self), "127.0.0.1", self.browser.process.port
                ),
                timeout=10,
            )
        except (OSError, TimeoutError) as exc:
            log.warning("relay for browser %s could not reach Chromium: %s", self.browser.id, exc)
            if not self.client.is_closing():
                self.client.write(_BAD_GATEWAY)
            self.close()
            return
        if self._closed:
            transport.abort()
            return
        self.upstream = transport
        for chunk in self._early:
            transport.write(chunk)
        self._early.clear()
        self.client.resume_reading()

    def from_client(self, data: bytes) -> None:
        if self.upstream is None:
            self._early.append(data)
        else:
            self.upstream.write(data)

    def from_upstream(self, data: bytes) -> None:
        self.client.write(data)

    # Back-pressure: a peer that cannot take more stops the other side from reading.
    def client_full(self, full: bool) -> None:
        if self.upstream is not None and not self.upstream.is_closing():
            (self.upstream.pause_reading if full else self.upstream.resume_reading)()

    def upstream_full(self, full: bool) -> None:
        if not self.client.is_closing():
            (self.client.pause_reading if full else self.client.resume_reading)()

    def client_lost(self) -> None:
        self.close()

    def upstream_lost(self) -> None:
        self.close()

    def close(self) -> None:
        """Close both sides; what is already buffered is still delivered."""
        if self._closed:
            return
        self._closed = True
        self.browser.closers.discard(self._close_async)
        self.client.close()
        if self.upstream is not None:
            self.upstream.close()

    async def _close_async(self) -> None:
        self.close()


class _Upstream(asyncio.Protocol):
    def __init__(self, splice: _Splice) -> None:
        self.splice = splice

    def data_received(self, data: bytes) -> None:
        self.splice.from_upstream(data)

    def eof_received(self) -> bool | None:
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.splice.upstream_lost()

    def pause_writing(self) -> None:
        self.splice.upstream_full(True)

    def resume_writing(self) -> None:
        self.splice.upstream_full(False)


def install(options: dict[str, Any], app: FastAPI) -> None:
    """Put the splicing protocol in front of uvicorn's own websocket protocol."""
    from uvicorn.config import WS_PROTOCOLS
    from uvicorn.importer import import_from_string

    wanted = options.get("ws", "auto")
    fallback = import_from_string(WS_PROTOCOLS[wanted]) if isinstance(wanted, str) else wanted
    options["ws"] = splicing_protocol(app, fallback)
