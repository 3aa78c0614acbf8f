"""A real HTTP proxy for the tests: on 127.0.0.1, Basic auth required, and it records what it saw.

It forwards plain requests (absolute-form ``GET http://host/path``) and opens CONNECT tunnels,
as a real upstream proxy does; a request without the right ``Proxy-Authorization`` gets 407.
Written on its own, without bu-cdp's forwarder code, so the tests do not check that code
against itself. One request per connection: the proxy closes after each plain answer, which
the forwarder must cope with, as it must with many real proxies.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import threading
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit


@dataclass(frozen=True)
class Seen:
    method: str
    target: str  # "http://127.0.0.1:8080/path" or, for CONNECT, "127.0.0.1:8443"
    authorized: bool


@dataclass
class AuthProxy:
    username: str
    password: str
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._expected = "Basic " + base64.b64encode(
            f"{self.username}:{self.password}".encode()
        ).decode("ascii")
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    def url(self, username: str | None = None, password: str | None = None) -> str:
        """Its URL with credentials (its own unless others are given), percent-encoded."""
        user = quote(self.username if username is None else username, safe="")
        secret = quote(self.password if password is None else password, safe="")
        return f"http://{user}:{secret}@127.0.0.1:{self.port}"

    def saw(self, method: str, target: str) -> list[Seen]:
        return [s for s in list(self.seen) if s.method == method and s.target == target]

    def __enter__(self) -> AuthProxy:
        self._thread.start()
        start = asyncio.start_server(self._handle, "127.0.0.1", 0)
        self._server = asyncio.run_coroutine_threadsafe(start, self._loop).result(10)
        return self

    def __exit__(self, *exc_info: object) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _shutdown(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = [tuple(part.strip() for part in line.split(":", 1)) for line in lines[1:] if line]
        auth = next((v for k, v in headers if k.lower() == "proxy-authorization"), None)
        authorized = auth == self._expected
        self.seen.append(Seen(method, target, authorized))
        if not authorized:
            writer.write(
                b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                b'Proxy-Authenticate: Basic realm="tests"\r\n'
                b"Content-Length: 0\r\nConnection: close\r\n\r\n"
            )
            await writer.drain()
            return
        if method == "CONNECT":
            host, port = target.rsplit(":", 1)
            try:
                up_reader, up_writer = await asyncio.open_connection(host, int(port))
            except OSError:  # Chromium's own calls to Google's hosts: there is no internet
                await _bad_gateway(writer)
                return
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
            await _both_ways((reader, writer), (up_reader, up_writer))
            return
        url = urlsplit(target)
        try:
            up_reader, up_writer = await asyncio.open_connection(url.hostname, url.port or 80)
        except OSError:
            await _bad_gateway(writer)
            return
        path = url.path or "/"
        if url.query:
            path += "?" + url.query
        hop_by_hop = {"proxy-authorization", "proxy-connection", "connection", "keep-alive"}
        kept = [f"{k}: {v}" for k, v in headers if k.lower() not in hop_by_hop]
        head = "\r\n".join([f"{method} {path} HTTP/1.1", *kept, "Connection: close", "", ""])
        up_writer.write(head.encode("latin-1"))
        length = next((int(v) for k, v in headers if k.lower() == "content-length"), 0)
        if length:
            up_writer.write(await reader.readexactly(length))
        await up_writer.drain()
        try:
            while data := await up_reader.read(65536):  # the origin closes after its answer
                writer.write(data)
                await writer.drain()
        finally:
            up_writer.close()


async def _bad_gateway(writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    await writer.drain()


async def _both_ways(
    a: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    b: tuple[asyncio.StreamReader, asyncio.StreamWriter],
) -> None:
    async def one_way(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await src.read(65536):
                dst.write(data)
                await dst.drain()
        dst.close()

    try:
        await asyncio.gather(one_way(a[0], b[1]), one_way(b[0], a[1]))
    finally:
        b[1].close()
