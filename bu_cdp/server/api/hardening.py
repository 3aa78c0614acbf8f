"""The server against hostile clients: key before body, bounded bodies, no connection held idle.

``Guard`` is an ASGI middleware in front of the whole app. On the API's paths it checks the
key before a byte of the body is read (a 200 MB body without a key costs nothing), refuses a
JSON body over ``MAX_JSON_BODY`` (413, by its Content-Length or as it streams), caps the
requests in flight per key (429), and closes a request whose body stops coming (408).

``head_timeout_protocol`` is uvicorn's h11 protocol with one addition: a connection must
send a whole request head within ``HEAD_TIMEOUT`` of opening (or of its last answer), so
silent or trickling clients cannot hold sockets until the server runs out of descriptors.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from bu_cdp.server.shared.auth import key_refusal
from bu_cdp.wire import API_KEY_HEADER

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_JSON_BODY = 1 << 20  # every JSON request of the API is a few hundred bytes
HEAD_TIMEOUT = 10.0  # seconds from connecting (or the last answer) to a whole request head
BODY_IDLE_TIMEOUT = 30.0  # seconds a request body may pause between two pieces
MAX_REQUESTS_PER_KEY = 256  # API requests in flight for one key
# Bodies streamed to disk by their routes, bounded there by --max-upload-bytes.
STREAMED_TYPES = ("multipart/form-data", "application/octet-stream")


class _BodyTooLarge(Exception):
    pass


class _BodyStalled(Exception):
    pass


class Guard:
    def __init__(self, app: ASGIApp, *, api_key: str, prefixes: tuple[str, ...]) -> None:
        self.app = app
        self._key = api_key
        self._prefixes = prefixes
        self._in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self._prefixes):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v for k, v in scope["headers"]}
        refusal = key_refusal(headers.get(API_KEY_HEADER.lower(), b""), self._key)
        if refusal is not None:
            await _answer(send, 401, refusal)
            return
        limit = None if _streamed(headers) else MAX_JSON_BODY
        if limit is not None and _declared_size(headers) > limit:
            await _answer(send, 413, f"A JSON body must be at most {limit} bytes")
            return
        if self._in_flight >= MAX_REQUESTS_PER_KEY:
            await _answer(send, 429, "Too many requests in flight for this key", retry=True)
            return
        self._in_flight += 1
        started = False

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            await self.app(scope, _bounded(receive, limit), tracked_send)
        except _BodyTooLarge:
            if not started:
                await _answer(send, 413, f"A JSON body must be at most {limit} bytes")
        except _BodyStalled:
            if not started:
                await _answer(send, 408, "The request body stopped coming")
        finally:
            self._in_flight -= 1


def _bounded(receive: Receive, limit: int | None) -> Receive:
    """``receive`` that gives up on a body that pauses too long or grows past ``limit``."""
    seen = 0

    async def bounded_receive() -> Message:
        nonlocal seen
        try:
            message = await asyncio.wait_for(receive(), BODY_IDLE_TIMEOUT)
        except TimeoutError:
            raise _BodyStalled from None
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if limit is not None and seen > limit:
                raise _BodyTooLarge
        return message

    return bounded_receive


def _streamed(headers: dict[str, bytes]) -> bool:
    content_type = headers.get("content-type", b"").decode("latin-1").lower()
    return content_type.startswith(STREAMED_TYPES)


def _declared_size(headers: dict[str, bytes]) -> int:
    try:
        return int(headers.get("content-length", b"0"))
    except ValueError:
        return 0  # h11 refuses a malformed Content-Length before we are called


async def _answer(send: Send, status: int, detail: str, *, retry: bool = False) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    if retry:
        headers.append((b"retry-after", b"1"))
    # The body is not read: the connection cannot carry another request after this answer.
    headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class HeadTimeoutH11(H11Protocol):
    """uvicorn's h11 protocol, closing a connection that sends no whole request head in time."""

    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm()

    def handle_websocket_upgrade(self, event: Any) -> None:
        self._disarm()  # a websocket's own protocol takes the connection from here
        super().handle_websocket_upgrade(event)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        if not self.transport.is_closing():
            self._head_timer = self.loop.call_later(HEAD_TIMEOUT, self._head_overdue)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_overdue(self) -> None:
        self._head_timer = None
        waiting_for_head = self.cycle is None or self.cycle.response_complete
        if waiting_for_head and not self.transport.is_closing():
            self.transport.close()


def install(options: dict[str, Any]) -> None:
    """uvicorn settings of a server facing strangers."""
    options.setdefault("http", HeadTimeoutH11)
    options.setdefault("timeout_keep_alive", 5)
    # The largest request head h11 buffers (uvicorn's default is 16 KiB).
    options.setdefault("h11_max_incomplete_event_size", 64 * 1024)
