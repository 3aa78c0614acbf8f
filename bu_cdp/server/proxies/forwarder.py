"""A local forwarding proxy for one browser that adds credentials for its upstream proxy.

Chromium's ``--proxy-server`` cannot carry a user and password, and a command line is readable
by every local user. So Chromium is pointed at this forwarder on 127.0.0.1 instead, and the
forwarder passes every plain request and every CONNECT tunnel to the upstream (HTTP) proxy
with ``Proxy-Authorization`` added. The credentials live only in the server's memory.

Chromium speaks to the forwarder in two ways (``proxy_server``): ``https://`` and ``ws(s)://``
through HTTP ``CONNECT`` tunnels, plain ``http://`` over SOCKS5, whose requests the forwarder
sends upstream as ordinary proxy requests. SOCKS is there for failures. Chromium names the
proxy in a failed navigation only when connecting to the proxy fails
(``ERR_PROXY_CONNECTION_FAILED``) or when a tunnel's proxy asks for an authentication it
cannot give (``ERR_PROXY_AUTH_UNSUPPORTED``); any answer to a plain proxy request loads as a
page. A SOCKS handshake is part of connecting: failing it (or resetting a CONNECT) makes
Chromium try the next proxy on its list, a port of ours where nothing listens, and give up
with ``ERR_PROXY_CONNECTION_FAILED``. So when the upstream cannot be reached or refuses the
credentials, ``page.goto`` raises an error that names the proxy, for http and https alike,
and the server logs the exact reason once per browser. Other upstream failures (no answer in
time, a closed connection, a refused tunnel) still answer a plain request with a 502/504 page
titled "bu-cdp proxy error: ..." and fail a tunnel with ``ERR_TUNNEL_CONNECTION_FAILED``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time

import h11

from bu_cdp.server.proxies import socks5
from bu_cdp.server.proxies.error_pages import PROXY_AUTH_REFUSED, error_page, reset, send_quietly
from bu_cdp.server.proxies.http1 import (
    HEAD_LIMIT,
    ProtocolError,
    Side,
    forwarded_headers,
    has_body,
    pipe,
)
from bu_cdp.server.proxies.upstream import (
    CredentialsRefused,
    Upstream,
    UpstreamClosed,
    UpstreamFailure,
    UpstreamUnreachable,
    bracketed,
    connect,
)

log = logging.getLogger("bu_cdp.server.proxy")

# After the upstream refuses the credentials, plain-http connections are refused for this long
# without asking it again: long enough for Chromium's retry of the request that met the refusal.
REFUSAL_HOLD = 5.0

Answer = h11.Response | h11.InformationalResponse  # a head from the upstream


class ProxyForwarder:
    """A local proxy on 127.0.0.1 for one browser (HTTP and SOCKS5), which adds credentials
    upstream."""

    def __init__(
        self,
        upstream: Upstream,
        *,
        name: str = "",
        connect_timeout: float = 10.0,
        answer_timeout: float | None = None,
        refusal_hold: float = REFUSAL_HOLD,
    ) -> None:
        self.upstream = upstream
        self.name = name  # the browser's id, for log lines
        self.connect_timeout = connect_timeout
        # How long the upstream may take to start answering (a CONNECT, or the response
        # head of a plain request): it must first reach the site itself, so allow it more
        # than a connect. A proxy that accepts and then says nothing fails the page.
        self.answer_timeout = answer_timeout if answer_timeout is not None else 3 * connect_timeout
        self.refusal_hold = refusal_hold
        self._server: asyncio.Server | None = None
        self._dead: socket.socket | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._idle: set[asyncio.StreamWriter] = set()  # plain connections between requests
        self._refusal: CredentialsRefused | None = None
        self._refused_until = 0.0
        self._reported: set[str] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0, limit=HEAD_LIMIT)
        # Bound and never listening: Chromium's fallback proxy, where a connection is refused.
        self._dead = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._dead.bind(("127.0.0.1", 0))

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the forwarder first"
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def dead_port(self) -> int:
        assert self._dead is not None, "start() the forwarder first"
        port: int = self._dead.getsockname()[1]
        return port

    @property
    def proxy_server(self) -> str:
        """Chromium's ``--proxy-server``: plain http over SOCKS5, the rest through CONNECT.

        ws:// and wss:// follow the https rule (there is no ``socks=`` rule, which they would
        take first). Each rule falls back to the dead port, so a failure of ours there ends
        the navigation with ``ERR_PROXY_CONNECTION_FAILED``, never a direct connection.
        """
        live, dead = f"127.0.0.1:{self.port}", f"127.0.0.1:{self.dead_port}"
        return f"http=socks5://{live},socks5://{dead};https=http://{live},http://{dead}"

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        if self._dead is not None:
            self._dead.close()
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
        start = await reader.read(1)
        if start == socks5.VERSION:
            await self._socks(reader, writer)
            return
        client = Side(h11.SERVER, reader, writer)
        client.feed(start)
        request = await self._next_request(client)
        if request is None:
            return
        if request.method == b"CONNECT":
            await self._tunnel(request, client)
        else:
            await self._forward(client, request)

    async def _next_request(self, client: Side, *, idle: bool = False) -> h11.Request | None:
        """The next request's head, or None once the client closed the connection.

        A request h11 refuses (``Content-Length: 5, 7``, say) is answered 400 here, and
        nothing of it goes upstream.
        """
        if idle:
            self._idle.add(client.writer)  # while idle, a refusal of the credentials closes it
        try:
            event = await client.next_event()
        except ProtocolError as exc:
            await send_quietly(client.writer, error_page(exc.status, f"bad request: {exc}"))
            raise
        finally:
            self._idle.discard(client.writer)
        if isinstance(event, h11.Request):
            return event
        return None  # ConnectionClosed

    # -- upstream connections --------------------------------------------------------------

    def _with_credentials(self, request: h11.Request, target: bytes | None = None) -> h11.Request:
        # Whatever Chromium sent as Proxy-Authorization was meant for us, not the upstream.
        headers = forwarded_headers(request.headers.raw_items(), b"proxy-authorization")
        if (authorization := self.upstream.authorization) is not None:
            headers.append((b"Proxy-Authorization", authorization.encode("latin-1")))
        return h11.Request(method=request.method, target=target or request.target, headers=headers)

    async def _answer(self, upstream: Side, timeout: float | None) -> Answer:
        """The head of the upstream's answer (a 1xx included), or the failure to report."""
        address = self.upstream.address
        try:
            answer = await asyncio.wait_for(upstream.next_event(), timeout)
        except TimeoutError:
            raise UpstreamFailure(
                504, f"the upstream proxy {address} did not answer within {timeout:g}s"
            ) from None
        except ProtocolError as exc:
            raise UpstreamFailure(
                502, f"the upstream proxy {address} sent an invalid answer: {exc}"
            ) from None
        if not isinstance(answer, (h11.Response, h11.InformationalResponse)):
            raise UpstreamClosed(
                502, f"the upstream proxy {address} closed the connection without answering"
            )
        if answer.status_code == 407:
            if self.upstream.authorization is None:
                detail = "asks for credentials, and none were given"
            else:
                detail = "refused the credentials (HTTP 407)"
            raise CredentialsRefused(502, f"the upstream proxy {address} {detail}")
        return answer

    # -- CONNECT tunnels (https, wss) ------------------------------------------------------

    async def _tunnel(self, request: h11.Request, client: Side) -> None:
        if not isinstance(await client.next_event(), h11.EndOfMessage):
            raise ProtocolError("a CONNECT with a body")
        try:
            upstream = await connect(self.upstream, self.connect_timeout)
        except UpstreamFailure as failure:
            await self._fail_tunnel(client, failure)
            return
        try:
            upstream.send(self._with_credentials(request))
            upstream.send(h11.EndOfMessage())
            await upstream.writer.drain()
            answer = await self._answer(upstream, self.answer_timeout)
            if not upstream.switched:  # anything but a 2xx
                raise UpstreamFailure(
                    502,
                    f"the upstream proxy {self.upstream.address} would not open a tunnel "
                    f"to {request.target.decode('latin-1')}: {answer.status_code} "
                    f"{answer.reason.decode('latin-1')}",
                )
            client.send(_relayed(answer))
            client.writer.write(upstream.trailing())
            upstream.writer.write(client.trailing())
            await client.writer.drain()
            await pipe((client.reader, client.writer), (upstream.reader, upstream.writer))
        except UpstreamFailure as failure:
            await self._fail_tunnel(client, failure)
        finally:
            upstream.writer.close()

    # -- plain http over SOCKS5: the connection first, then its requests -------------------

    async def _socks(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        host, port = await socks5.read_connect(reader, writer)
        try:
            upstream = await self._connect_plain()
        except UpstreamFailure as failure:
            # Failing the handshake fails Chromium's connection to its proxy: it falls
            # back to the dead port and reports ERR_PROXY_CONNECTION_FAILED.
            self._report(failure, "plain http")
            with contextlib.suppress(ConnectionError):
                writer.write(socks5.reply(socks5.GENERAL_FAILURE))
                await writer.drain()
            return
        try:
            writer.write(socks5.reply(socks5.SUCCEEDED))
            await writer.drain()
        except BaseException:
            upstream.writer.close()
            raise
        client = Side(h11.SERVER, reader, writer)
        await self._forward(client, None, origin=_origin(host, port), upstream=upstream)

    async def _connect_plain(self) -> Side:
        self._check_refusal()
        upstream = await connect(self.upstream, self.connect_timeout)
        try:
            self._check_refusal()  # said while this one connected (Chromium preconnects)
        except CredentialsRefused:
            upstream.writer.close()
            raise
        return upstream

    def _check_refusal(self) -> None:
        refusal = self._refusal
        if refusal is not None and time.monotonic() < self._refused_until:
            # The upstream said no a moment ago: do not ask it again yet.
            raise CredentialsRefused(refusal.status, str(refusal))

    # -- plain http: one request after another, credentials added to each ----------------

    async def _forward(
        self,
        client: Side,
        request: h11.Request | None,
        *,
        origin: str | None = None,
        upstream: Side | None = None,
    ) -> None:
        """Requests from ``client`` (the first already read, unless None), each sent upstream.

        ``origin`` is set for a SOCKS5 connection, whose requests name only a path.
        """
        try:
            while True:
                if request is None:
                    request = await self._next_request(client, idle=True)
                    if request is None:
                        return
                target = _absolute(request.target, origin)
                try:
                    upstream, answer = await self._exchange(request, target, client, upstream)
                except UpstreamFailure as failure:
                    await self._fail_plain(client, failure, request, socks=origin is not None)
                    return
                while isinstance(answer, h11.InformationalResponse) and not upstream.switched:
                    client.send(_relayed(answer))  # 100 Continue and friends: more follows
                    answer = await self._answer(upstream, None)
                client.send(_relayed(answer))
                if upstream.switched:  # a protocol switch (101): from here on, bytes both ways
                    client.writer.write(upstream.trailing())
                    upstream.writer.write(client.trailing())
                    await client.writer.drain()
                    await pipe((client.reader, client.writer), (upstream.reader, upstream.writer))
                    return
                await _copy_message(upstream, client)
                await client.writer.drain()
                if not upstream.next_cycle():
                    upstream.writer.close()
                    upstream = None
                if not client.next_cycle():
                    return
                request = None
        finally:
            if upstream is not None:
                upstream.writer.close()

    async def _exchange(
        self, request: h11.Request, target: bytes, client: Side, upstream: Side | None
    ) -> tuple[Side, Answer]:
        """Send one request upstream (reconnecting if the old connection is gone) and
        read the answer's head."""
        if upstream is not None and upstream.reader.at_eof():
            upstream.writer.close()
            upstream = None
        reused = upstream is not None
        if upstream is None:
            upstream = await connect(self.upstream, self.connect_timeout)
        upstream.send(self._with_credentials(request, target))
        await _copy_message(client, upstream)
        await upstream.writer.drain()
        try:
            return upstream, await self._answer(upstream, self.answer_timeout)
        except UpstreamClosed:
            if not reused or has_body(request):
                raise
        # The upstream dropped a kept-alive connection just as the request went out:
        # send it once more on a fresh one.
        upstream.writer.close()
        upstream = await connect(self.upstream, self.connect_timeout)
        upstream.send(self._with_credentials(request, target))
        upstream.send(h11.EndOfMessage())
        await upstream.writer.drain()
        return upstream, await self._answer(upstream, self.answer_timeout)

    # -- telling the user ------------------------------------------------------------------

    async def _fail_tunnel(self, client: Side, failure: UpstreamFailure) -> None:
        self._report(failure, "CONNECT")
        if isinstance(failure, UpstreamUnreachable):
            reset(
                client.writer
            )  # Chromium falls back to the dead port: ERR_PROXY_CONNECTION_FAILED
        elif isinstance(failure, CredentialsRefused):
            # No Proxy-Authenticate: Chromium fails the page with ERR_PROXY_AUTH_UNSUPPORTED
            # at once, and never waits for credentials.
            await send_quietly(client.writer, PROXY_AUTH_REFUSED)
        else:
            await send_quietly(client.writer, error_page(failure.status, str(failure)))

    async def _fail_plain(
        self, client: Side, failure: UpstreamFailure, request: h11.Request, *, socks: bool
    ) -> None:
        self._report(failure, request.method.decode("latin-1"))
        status = failure.status
        if socks and isinstance(failure, (UpstreamUnreachable, CredentialsRefused)):
            if isinstance(failure, CredentialsRefused):
                self._refuse_plain(failure)
            # Chromium sends a request answered 421 once more, on a new connection, whose
            # SOCKS handshake fails (the upstream is still down, or refused a moment ago):
            # the page fails with ERR_PROXY_CONNECTION_FAILED. The page shows only if not.
            status = 421
        await send_quietly(client.writer, error_page(status, str(failure)))

    def _refuse_plain(self, failure: CredentialsRefused) -> None:
        self._refusal = failure
        self._refused_until = time.monotonic() + self.refusal_hold
        for idle in list(self._idle):  # else Chromium's retry could take one, past its handshake
            idle.close()

    def _report(self, failure: UpstreamFailure, what: str) -> None:
        if str(failure) not in self._reported:  # once per browser, not once per request
            self._reported.add(str(failure))
            log.warning("browser %s: %s (for %s)", self.name, failure, what)


async def _copy_message(source: Side, destination: Side) -> None:
    """The rest of the message ``source`` is reading (its body, its end), to ``destination``."""
    while True:
        event = await source.next_event()
        if isinstance(event, h11.Data):
            destination.send(h11.Data(data=event.data))
            await destination.writer.drain()
        elif isinstance(event, h11.EndOfMessage):
            destination.send(h11.EndOfMessage(headers=event.headers.raw_items()))
            return
        else:  # the connection closed in the middle of a message
            raise ProtocolError(f"the message ended early ({type(event).__name__})")


def _relayed(answer: Answer) -> Answer:
    """The upstream's answer head as it goes to the client (its headers in their own casing)."""
    kind = h11.InformationalResponse if answer.status_code < 200 else h11.Response
    return kind(
        status_code=answer.status_code,
        headers=forwarded_headers(answer.headers.raw_items()),
        reason=answer.reason,
    )


def _origin(host: str, port: int) -> str:
    host = bracketed(host)
    return f"http://{host}" if port == 80 else f"http://{host}:{port}"


def _absolute(target: bytes, origin: str | None) -> bytes:
    """A request over SOCKS names only a path; an HTTP proxy wants the whole URL."""
    if origin is None or not target.startswith(b"/"):
        return target
    return origin.encode("latin-1") + target
