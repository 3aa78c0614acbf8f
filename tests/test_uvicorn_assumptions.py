"""What the server assumes of uvicorn beyond its documented settings, each checked by name.

``relay.cdp_socket`` takes over websocket upgrades through uvicorn's ``ws=`` protocol class
and ``api.hardening`` subclasses uvicorn's h11 protocol. Both lean on uvicorn's internals,
which no release promises to keep; ``pyproject.toml`` pins the range these were checked
against. A new uvicorn that breaks one fails here, naming what changed, instead of as a
hanging CDP connection somewhere in the suite.

A real uvicorn server on a real socket: only the websocket protocol class is the test's own.
"""

from __future__ import annotations

import asyncio
import inspect
import socket
import threading
from collections.abc import Iterator
from typing import Any, cast

import pytest
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from bu_cdp.server.api import hardening
from bu_cdp.server.relay import cdp_socket

UPGRADE = (
    b"GET /cdp/some-browser/some-token HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


class _Recorder(asyncio.Protocol):
    """A websocket protocol for uvicorn's ``ws=`` that records how uvicorn drives it, as
    ``cdp_socket``'s protocol expects to be driven."""

    made: threading.Event
    calls: list[tuple[str, Any]]

    def __init__(self, **uvicorn_args: Any) -> None:
        type(self).calls.append(("init", uvicorn_args))
        self._connections: set[Any] = uvicorn_args["server_state"].connections
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        type(self).calls.append(("connection_made", transport))
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        type(self).calls.append(("data_received", data))
        assert self._transport is not None
        if len([c for c in type(self).calls if c[0] == "data_received"]) == 1:
            self._connections.add(self)  # as cdp_socket does for a CDP client
            self._transport.write(b"upgrade seen\n")
        else:
            self._transport.write(b"echo " + data)
        type(self).made.set()

    def connection_lost(self, exc: Exception | None) -> None:
        type(self).calls.append(("connection_lost", exc))
        self._connections.discard(self)

    def shutdown(self) -> None:
        """What uvicorn's graceful shutdown calls on every connection it knows."""
        type(self).calls.append(("shutdown", None))
        if self._transport is not None:
            self._transport.close()


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":  # nothing to set up or tear down
        while (message := await receive())["type"] != "lifespan.shutdown":
            await send({"type": message["type"] + ".complete"})
        await send({"type": "lifespan.shutdown.complete"})


@pytest.fixture
def recorder() -> type[_Recorder]:
    class Recorder(_Recorder):
        made = threading.Event()
        calls: list[tuple[str, Any]] = []  # noqa: RUF012 - one list per test's class

    return Recorder


@pytest.fixture
def served(recorder: type[_Recorder]) -> Iterator[tuple[uvicorn.Server, int]]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    options: dict[str, Any] = {"ws": recorder, "log_level": "warning", "lifespan": "on"}
    hardening.install(options)  # the server's own h11 protocol, as ``serve`` uses it
    server = uvicorn.Server(uvicorn.Config(_app, **options))
    thread = threading.Thread(target=asyncio.run, args=(server.serve(sockets=[sock]),), daemon=True)
    thread.start()
    try:
        while not server.started and thread.is_alive():
            threading.Event().wait(0.01)
        assert server.started, "uvicorn did not start"
        yield server, sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


def test_uvicorn_assumptions_of_cdp_socket(
    served: tuple[uvicorn.Server, int], recorder: type[_Recorder]
) -> None:
    # cdp_socket.install: uvicorn names its websocket protocols in WS_PROTOCOLS, importable
    # with import_from_string, and takes a protocol class for ``ws``.
    from uvicorn.config import WS_PROTOCOLS
    from uvicorn.importer import import_from_string

    assert isinstance(WS_PROTOCOLS, dict) and isinstance(WS_PROTOCOLS.get("auto"), str)
    assert issubclass(import_from_string(WS_PROTOCOLS["auto"]), asyncio.Protocol)
    options: dict[str, Any] = {}
    cdp_socket.install(options, cast(Any, _app))
    assert issubclass(options["ws"], asyncio.Protocol)
    assert options["ws"]._fallback is import_from_string(WS_PROTOCOLS["auto"])

    # The upgrade: the class is called with keywords only, server_state among them with its
    # set of connections; then connection_made, then the request head as the first data.
    server, port = served
    with socket.create_connection(("127.0.0.1", port), timeout=30) as client:
        client.sendall(UPGRADE)
        assert recorder.made.wait(30), "uvicorn never handed the upgrade to the ws class"
        assert client.recv(100) == b"upgrade seen\n"  # the transport is the client's socket
        client.sendall(b"more")  # later data reaches the same protocol (set_protocol)
        assert client.recv(100) == b"echo more"

        kinds = [kind for kind, _ in recorder.calls]
        assert kinds[:3] == ["init", "connection_made", "data_received"], kinds
        uvicorn_args = recorder.calls[0][1]
        assert isinstance(uvicorn_args["server_state"].connections, set)
        head = recorder.calls[2][1]
        first_line, _, _ = head.partition(b"\r\n")
        assert first_line == b"GET /cdp/some-browser/some-token HTTP/1.1"
        assert head.endswith(b"\r\n\r\n") and b"sec-websocket-key" in head.lower()

        # Graceful shutdown calls shutdown() on every connection in server_state.connections.
        server.should_exit = True
        try:
            closed = client.recv(100) == b""
        except TimeoutError:  # uvicorn waits for the connection instead
            closed = False
        assert closed, "uvicorn's graceful shutdown did not call shutdown() on the connection"
    assert ("shutdown", None) in recorder.calls


def test_uvicorn_assumptions_of_the_head_timeout() -> None:
    # hardening.HeadTimeoutH11 overrides these H11Protocol methods and reads these attributes.
    for method in ("connection_made", "on_response_complete", "handle_websocket_upgrade"):
        assert callable(getattr(H11Protocol, method, None)), f"H11Protocol.{method} is gone"
    assert list(inspect.signature(H11Protocol.connection_lost).parameters) == ["self", "exc"]
    source = inspect.getsource(H11Protocol)
    for attribute in ("self.transport", "self.loop", "self.cycle", "response_complete"):
        assert attribute in source, f"H11Protocol no longer has {attribute}"
    # install() sets h11_max_incomplete_event_size, which uvicorn.Config must accept.
    options: dict[str, Any] = {}
    hardening.install(options)
    config = uvicorn.Config(_app, **options)
    assert config.h11_max_incomplete_event_size == options["h11_max_incomplete_event_size"]


def test_uvicorn_assumptions_of_the_embedded_servers_quick_end(
    served: tuple[uvicorn.Server, int],
) -> None:
    # embedded.child._end_now reads ``started``, closes each of ``servers`` and awaits
    # ``lifespan.shutdown()``, which must run the app's own ending (its lifespan's exit).
    server, port = served
    assert server.started is True
    assert server.servers and all(callable(s.close) for s in server.servers)
    assert inspect.iscoroutinefunction(server.lifespan.shutdown)
    loop = server.servers[0].get_loop()
    asyncio.run_coroutine_threadsafe(_close_and_end(server), loop).result(30)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    assert server.lifespan.shutdown_event.is_set()  # the app said lifespan.shutdown.complete


async def _close_and_end(server: uvicorn.Server) -> None:
    for listening in server.servers:
        listening.close()
    await server.lifespan.shutdown()
