"""A local forwarding proxy for one browser that adds credentials for its upstream proxy.

Chromium's ``--proxy-server`` cannot carry a user and password, and a command line is readable
by every local user. So Chromium is pointed at this forwarder on 127.0.0.1 instead, and the
forwarder passes every plain request and every CONNECT tunnel to the upstream proxy with
``Proxy-Authorization`` added. The credentials live only in the server's memory.

When the upstream proxy cannot be reached, does not answer, or refuses the credentials, the
forwarder answers Chromium itself, so the page fails at once and says why: an http page gets a
502/504 page titled "bu-cdp proxy error: ...", an https page fails with Chromium's
``net::ERR_TUNNEL_CONNECTION_FAILED``; the server logs the reason once per browser.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import html
import logging
import os
from dataclasses import dataclass, field

from bu_cdp.server.http1 import (
    HEAD_LIMIT,
    Head,
    ProtocolError,
    copy_body,
    has_no_body,
    pipe,
    read_head,
    status_of,
)

log = logging.getLogger("bu_cdp.server.proxy")


@dataclass(frozen=True)
class Upstream:
    """One upstream HTTP proxy. Its ``str`` and ``repr`` never show the credentials."""

    host: str
    port: int
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def authorization(self) -> str | None:
        """The ``Proxy-Authorization`` value, or None without credentials."""
        if self.username is None and self.password is None:
            return None
        pair = f"{self.username or ''}:{self.password or ''}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")

    def __str__(self) -> str:
        return f"http://{self.address}"


class UpstreamFailure(Exception):
    """The upstream proxy did not do its part; the message is what the user reads."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class UpstreamClosed(UpstreamFailure):
    """The upstream proxy closed the connection before answering."""


@dataclass
class _Upstream:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter


class ProxyForwarder:
    """A local HTTP proxy on 127.0.0.1 for one browser, which adds credentials upstream."""

    def __init__(
        self,
        upstream: Upstream,
        *,
        name: str = "",
        connect_timeout: float = 10.0,
        answer_timeout: float | None = None,
    ) -> None:
        self.upstream = upstream
        self.name = name  # the browser's id, for log lines
        self.connect_timeout = connect_timeout
        # How long the upstream may take to start answering (a CONNECT, or the response
        # head of a plain request): it must first reach the site itself, so allow it more
        # than a connect. A proxy that accepts and then says nothing fails the page.
        self.answer_timeout = answer_timeout if answer_timeout is not None else 3 * connect_timeout
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._reported: set[str] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0, limit=HEAD_LIMIT)

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the forwarder first"
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            await self._serve(reader, writer)
        except (
            ProtocolError,
            UpstreamFailure,
            OSError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
        ) as exc:
            # A peer hung up or misbehaved mid-message: this connection ends, no other.
            log.debug("proxy of browser %s: connection ended: %r", self.name, exc)
        except Exception:
            log.exception("proxy of browser %s: connection failed", self.name)
        finally:
            self._connections.discard(task)
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await read_head(reader)
        if head is None:
            return
        if head.first.upper().startswith("CONNECT "):
            await self._tunnel(head, reader, writer)
        else:
            await self._forward(head, reader, writer)

    # -- upstream connections --------------------------------------------------------------

    async def _connect(self) -> _Upstream:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(self.upstream.host, self.upstream.port, limit=HEAD_LIMIT),
                self.connect_timeout,
            )
        except TimeoutError:
            raise UpstreamFailure(
                504,
                f"the upstream proxy {self.upstream.address} did not accept a connection "
                f"within {self.connect_timeout:g}s",
            ) from None
        except OSError as exc:
            # asyncio words a refusal "Connect call failed (...)"; say it plainly.
            plain = os.strerror(exc.errno) if exc.errno and exc.errno > 0 else None
            reason = plain or exc.strerror or str(exc) or type(exc).__name__
            raise UpstreamFailure(
                502, f"could not connect to the upstream proxy {self.upstream.address}: {reason}"
            ) from None
        return _Upstream(reader, writer)

    def _with_credentials(self, head: Head) -> bytes:
        # Whatever Chromium sent as Proxy-Authorization was meant for us, not the upstream.
        headers = head.without("proxy-authorization")
        if (authorization := self.upstream.authorization) is not None:
            headers.append(("Proxy-Authorization", authorization))
        return head.encode(headers)

    async def _answer(self, upstream: _Upstream, timeout: float | None) -> Head:
        try:
            answer = await asyncio.wait_for(read_head(upstream.reader), timeout)
        except TimeoutError:
            raise UpstreamFailure(
                504,
                f"the upstream proxy {self.upstream.address} did not answer within {timeout:g}s",
            ) from None
        if answer is None:
            raise UpstreamClosed(
                502,
                f"the upstream proxy {self.upstream.address} closed the connection "
                "without answering",
            )
        if status_of(answer) == 407:
            if self.upstream.authorization is None:
                detail = "asks for credentials, and none were given"
            else:
                detail = "refused the credentials (HTTP 407)"
            raise UpstreamFailure(502, f"the upstream proxy {self.upstream.address} {detail}")
        return answer

    # -- CONNECT tunnels (https, wss) ------------------------------------------------------

    async def _tunnel(
        self, head: Head, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            upstream = await self._connect()
        except UpstreamFailure as failure:
            await self._fail(writer, failure, head)
            return
        try:
            upstream.writer.write(self._with_credentials(head))
            await upstream.writer.drain()
            answer = await self._answer(upstream, self.answer_timeout)
            status = status_of(answer)
            if not 200 <= status < 300:
                target = head.first.split(" ")[1] if " " in head.first else "?"
                raise UpstreamFailure(
                    502,
                    f"the upstream proxy {self.upstream.address} would not open a tunnel "
                    f"to {target}: {answer.first.split(' ', 1)[-1]}",
                )
            writer.write(answer.encode())
            await writer.drain()
            await pipe((reader, writer), (upstream.reader, upstream.writer))
        except UpstreamFailure as failure:
            await self._fail(writer, failure, head)
        finally:
            upstream.writer.close()

    # -- plain http: one request after another, credentials added to each ----------------

    async def _forward(
        self, head: Head, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        upstream: _Upstream | None = None
        request: Head | None = head
        try:
            while request is not None:
                method = request.first.split(" ", 1)[0].upper()
                try:
                    upstream, answer = await self._exchange(request, reader, upstream)
                except UpstreamFailure as failure:
                    await self._fail(writer, failure, request)
                    return
                while 100 <= (status := status_of(answer)) < 200 and status != 101:
                    writer.write(answer.encode())  # 100 Continue and friends: more follows
                    answer = await self._answer(upstream, None)
                writer.write(answer.encode())
                if status == 101:  # a protocol switch: from here on, bytes both ways
                    await writer.drain()
                    await pipe((reader, writer), (upstream.reader, upstream.writer))
                    return
                if not has_no_body(method, status):
                    await copy_body(answer, upstream.reader, writer, to_eof=True)
                await writer.drain()
                close_delimited = (
                    not has_no_body(method, status)
                    and not answer.chunked()
                    and answer.content_length() is None
                )
                if close_delimited or not answer.keeps_alive() or not request.keeps_alive():
                    return
                request = await read_head(reader)
        finally:
            if upstream is not None:
                upstream.writer.close()

    async def _exchange(
        self, request: Head, client: asyncio.StreamReader, upstream: _Upstream | None
    ) -> tuple[_Upstream, Head]:
        """Send one request upstream (reconnecting if the old connection is gone) and
        read the answer's head."""
        if upstream is not None and upstream.reader.at_eof():
            upstream.writer.close()
            upstream = None
        reused = upstream is not None
        if upstream is None:
            upstream = await self._connect()
        upstream.writer.write(self._with_credentials(request))
        await copy_body(request, client, upstream.writer, to_eof=False)
        await upstream.writer.drain()
        try:
            return upstream, await self._answer(upstream, self.answer_timeout)
        except UpstreamClosed:
            has_body = request.chunked() or bool(request.content_length())
            if not reused or has_body:
                raise
        # The upstream dropped a kept-alive connection just as the request went out:
        # send it once more on a fresh one.
        upstream.writer.close()
        upstream = await self._connect()
        upstream.writer.write(self._with_credentials(request))
        await upstream.writer.drain()
        return upstream, await self._answer(upstream, self.answer_timeout)

    # -- telling the user ------------------------------------------------------------------

    async def _fail(
        self, writer: asyncio.StreamWriter, failure: UpstreamFailure, head: Head
    ) -> None:
        message = f"bu-cdp proxy error: {failure}"
        if str(failure) not in self._reported:  # once per browser, not once per request
            self._reported.add(str(failure))
            log.warning("browser %s: %s (for %s)", self.name, failure, head.first.split(" ")[0])
        body = (
            f"<!doctype html><title>{html.escape(message)}</title>"
            f"<h1>Proxy error</h1><p>{html.escape(str(failure))}</p>"
        ).encode()
        reason = {502: "Bad Gateway", 504: "Gateway Timeout"}.get(failure.status, "Proxy Error")
        response = Head(
            f"HTTP/1.1 {failure.status} {reason}",
            [
                ("Content-Type", "text/html; charset=utf-8"),
                ("Content-Length", str(len(body))),
                ("Connection", "close"),
            ],
        )
        with contextlib.suppress(ConnectionError):
            writer.write(response.encode() + body)
            await writer.drain()
