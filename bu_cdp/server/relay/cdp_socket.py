"""The CDP websocket of each browser, spoken straight on the socket: token, handshake, frames.

uvicorn hands every websocket upgrade to a protocol class of our choosing (its documented
``ws=`` setting). ``cdp_socket_protocol`` returns one that looks at the request line: a
``/cdp/{browser_id}/{token}`` upgrade is checked against the browser's token before anything
reaches Chromium, the client gets its own session on the browser's pipe (``chromium.pipe``), and
the websocket is spoken by ``websockets``' sans-I/O protocol right in the socket's callbacks:
a message goes from the client's socket to Chromium's pipe, and back, with no task switch and
no ASGI in the way. Any other upgrade (live views) goes to uvicorn's own protocol.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any, cast

import orjson
from fastapi import FastAPI
from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.protocol import State
from websockets.server import ServerProtocol

from bu_cdp.server.browsers.manager import BrowserManager
from bu_cdp.server.browsers.record import ManagedBrowser
from bu_cdp.server.chromium.pipe import CdpError, PipeSession
from bu_cdp.server.relay.client_rules import ClientRules

log = logging.getLogger("bu_cdp.server")
# For websockets' own protocol: outside the logging tree and never enabled, because what it
# logs at debug level is the upgrade request (the token in its path) and every frame.
_UNLOGGED = logging.Logger("bu_cdp.server.cdp_socket", level=logging.CRITICAL + 1)

CDP_TARGET = re.compile(rb"/cdp/([^/?#]+)/([^/?#]+)/?(?:\?[^#]*)?")
GOING_AWAY = 1001  # the browser has ended
# What may wait unsent to one client. The pipe is shared, so a client that does not read cannot
# hold Chromium back (the others would wait too): past this much it is disconnected instead.
MAX_BACKLOG = 1 << 30
_DATA = (Opcode.TEXT, Opcode.BINARY, Opcode.CONT)  # control frames are the protocol's own
# Clients of one browser at once: Playwright and Puppeteer use one each; more than this is a
# cdp_url holder opening sockets to exhaust the server, and each would cost a pipe session.
MAX_CLIENTS_PER_BROWSER = 16
_clients: dict[str, int] = {}  # browser id -> clients connected or connecting


def _plain_response(status: str, text: str) -> bytes:
    body = text.encode()
    head = f"HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"Connection: close\r\n\r\n" + body


_FORBIDDEN = _plain_response("403 Forbidden", "Not a valid CDP address for an active browser")
_BAD_GATEWAY = _plain_response("502 Bad Gateway", "Chromium could not be reached")
_TOO_MANY = _plain_response(
    "429 Too Many Requests",
    f"This browser already has {MAX_CLIENTS_PER_BROWSER} CDP connections: close one first",
)


def cdp_socket_protocol(app: FastAPI, fallback: type[asyncio.Protocol]) -> type[asyncio.Protocol]:
    """A uvicorn ``ws`` protocol class: CDP upgrades are served here, the rest by ``fallback``."""

    class CdpOrWebSocket(_CdpOrWebSocket):
        _app = app
        _fallback = fallback

    return CdpOrWebSocket


class _CdpOrWebSocket(asyncio.Protocol):
    _app: FastAPI
    _fallback: type[asyncio.Protocol]

    def __init__(self, **uvicorn_args: Any) -> None:
        self._uvicorn_args = uvicorn_args
        self._connections: set[Any] = uvicorn_args["server_state"].connections
        self._transport: asyncio.Transport | None = None
        self._delegate: asyncio.Protocol | None = None
        self._client: _CdpClient | None = None

    # -- asyncio.Protocol: the first chunk is the upgrade request uvicorn already parsed -----

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but behave as one.
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self._delegate is not None:
            self._delegate.data_received(data)
        elif self._client is not None:
            self._client.data_received(data)
        else:
            self._first_request(data)

    def eof_received(self) -> bool | None:
        if self._delegate is not None:
            return self._delegate.eof_received()
        return None  # close the connection; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        if self._delegate is not None:
            self._delegate.connection_lost(exc)
        elif self._client is not None:
            self._connections.discard(self)
            self._client.connection_lost()

    def pause_writing(self) -> None:
        if self._delegate is not None:
            self._delegate.pause_writing()

    def resume_writing(self) -> None:
        if self._delegate is not None:
            self._delegate.resume_writing()

    def shutdown(self) -> None:
        """uvicorn's graceful shutdown: a CDP socket has nothing to finish."""
        if self._client is not None:
            self._client.close()

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
        if _clients.get(browser.id, 0) >= MAX_CLIENTS_PER_BROWSER:
            log.warning("browser %s: a CDP connection over the limit refused", browser.id)
            self._transport.write(_TOO_MANY)
            self._transport.close()
            return
        self._connections.add(self)
        self._client = _CdpClient(self._transport, manager, browser)
        self._client.start(request)


class _CdpClient:
    """One websocket client of a browser, and its session on the browser's pipe."""

    def __init__(
        self, transport: asyncio.Transport, manager: BrowserManager, browser: ManagedBrowser
    ) -> None:
        assert browser.process is not None
        self._transport = transport
        self._manager = manager
        self._browser = browser
        self._ws = ServerProtocol(max_size=None, logger=_UNLOGGED)
        self._session: PipeSession = browser.process.pipe.session(self._deliver, self.close)
        self._rules = ClientRules(manager, browser, self._session)
        # A message that came in several frames.
        self._fragments: list[bytes | bytearray | memoryview] = []
        self._open = False
        self._closed = False
        self._task: asyncio.Task[None] | None = None  # held: the loop keeps weak refs
        _clients[browser.id] = _clients.get(browser.id, 0) + 1
        self._counted = True

    def start(self, request: bytes) -> None:
        self._ws.receive_data(request)
        self._transport.pause_reading()  # until the session is open
        self._task = asyncio.get_running_loop().create_task(self._open_session())

    async def _open_session(self) -> None:
        handshake = [event for event in self._ws.events_received() if isinstance(event, Request)]
        try:
            await self._session.attach()
        except (CdpError, TimeoutError) as exc:
            log.warning("relay for browser %s could not reach Chromium: %s", self._browser.id, exc)
            if not self._transport.is_closing():
                self._transport.write(_BAD_GATEWAY)
            self._end()
            return
        if self._closed or not handshake:  # gone meanwhile, or not a whole request
            self._end()
            await self._session.detach()
            return
        response = self._ws.accept(handshake[0])
        self._ws.send_response(response)
        if response.status_code != 101:  # not a valid websocket upgrade: answered, closed
            self._flush()
            self.close()
            return
        self._open = True
        self._manager.metrics.cdp_connections += 1
        self._browser.closers.add(self._session.detach)
        self._flush()
        self._transport.resume_reading()

    def data_received(self, data: bytes) -> None:
        self._ws.receive_data(data)
        for frame in self._ws.events_received():
            if isinstance(frame, Frame) and frame.opcode in _DATA:
                self._fragments.append(frame.data)
                if frame.fin:
                    message = b"".join(self._fragments)
                    self._fragments.clear()
                    self._rules.handle(message)
        self._flush()  # pongs, the answer to a close
        if self._ws.close_expected():
            self.close()

    def _deliver(self, message: dict[str, Any], raw: bytes | None) -> None:
        if self._open and not self._closed:
            self._ws.send_text(orjson.dumps(message) if raw is None else raw)
            self._flush()
            if self._transport.get_write_buffer_size() > MAX_BACKLOG:
                log.warning("a CDP client of browser %s reads too slowly", self._browser.id)
                self.close()

    def _flush(self) -> None:
        for chunk in self._ws.data_to_send():
            if chunk:
                self._transport.write(chunk)

    def close(self) -> None:
        """End this client: its session detached, its socket closed (a close frame first)."""
        if self._closed:
            return
        self._end(close_transport=False)
        self._browser.closers.discard(self._session.detach)
        if self._ws.state is State.OPEN:  # not when answering the client's own close
            self._ws.send_close(GOING_AWAY)
            self._flush()
        self._transport.close()
        # Not open yet: the session is still attaching, and _open_session detaches it.
        if self._open and not self._session.closed:
            self._task = asyncio.get_running_loop().create_task(self._session.detach())

    def connection_lost(self) -> None:
        self.close()

    def _end(self, *, close_transport: bool = True) -> None:
        """Closed, and no longer counted against the browser's limit (once)."""
        self._closed = True
        if self._counted:
            self._counted = False
            left = _clients.get(self._browser.id, 1) - 1
            if left > 0:
                _clients[self._browser.id] = left
            else:
                _clients.pop(self._browser.id, None)
        if close_transport:
            self._transport.close()


def install(options: dict[str, Any], app: FastAPI) -> None:
    """Put the CDP socket protocol in front of uvicorn's own websocket protocol."""
    from uvicorn.config import WS_PROTOCOLS
    from uvicorn.importer import import_from_string

    wanted = options.get("ws", "auto")
    fallback = import_from_string(WS_PROTOCOLS[wanted]) if isinstance(wanted, str) else wanted
    options["ws"] = cdp_socket_protocol(app, fallback)
