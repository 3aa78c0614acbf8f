"""The upstream proxy a forwarder passes requests to: its address and credentials, a
connection to it, and the ways it can fail (each with the message the user reads)."""

from __future__ import annotations

import asyncio
import base64
import os
from dataclasses import dataclass, field

import h11

from bu_cdp.server.proxies.http1 import HEAD_LIMIT, Side


@dataclass(frozen=True)
class Upstream:
    """One upstream HTTP proxy. Its ``str`` and ``repr`` never show the credentials."""

    host: str
    port: int
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        return f"{bracketed(self.host)}:{self.port}"

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


class UpstreamUnreachable(UpstreamFailure):
    """No connection to the upstream proxy: refused, unknown host, or too slow."""


class CredentialsRefused(UpstreamFailure):
    """The upstream proxy answered 407."""


class UpstreamClosed(UpstreamFailure):
    """The upstream proxy closed the connection before answering."""


async def connect(upstream: Upstream, timeout: float) -> Side:
    """A new connection to the upstream proxy (h11's client side), or the failure to report."""
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(upstream.host, upstream.port, limit=HEAD_LIMIT), timeout
        )
    except TimeoutError:
        raise UpstreamUnreachable(
            504,
            f"the upstream proxy {upstream.address} did not accept a connection "
            f"within {timeout:g}s",
        ) from None
    except OSError as exc:
        # asyncio words a refusal "Connect call failed (...)"; say it plainly.
        plain = os.strerror(exc.errno) if exc.errno and exc.errno > 0 else None
        reason = plain or exc.strerror or str(exc) or type(exc).__name__
        raise UpstreamUnreachable(
            502, f"could not connect to the upstream proxy {upstream.address}: {reason}"
        ) from None
    return Side(h11.CLIENT, reader, writer)


def bracketed(host: str) -> str:
    """A host as it goes before ``:port`` or into a URL: an IPv6 address in brackets."""
    return f"[{host}]" if ":" in host else host
