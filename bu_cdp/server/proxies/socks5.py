"""Just enough SOCKS5 (RFC 1928) for the forwarder's plain-http side: no authentication, CONNECT.

Chromium reaches plain ``http://`` sites through the forwarder over SOCKS5 so that the forwarder
can fail the connection itself, before any request is sent (see ``forwarder.py``).
"""

from __future__ import annotations

import asyncio
import ipaddress

from bu_cdp.server.proxies.http1 import ProtocolError

VERSION = b"\x05"  # the first byte a SOCKS5 client sends
NO_AUTHENTICATION = 0x00
NO_ACCEPTABLE_METHOD = 0xFF
CONNECT = 0x01
SUCCEEDED = 0x00
# Every failed reply ends the same way in Chromium, so one code will do. (Not 0x04, host
# unreachable: Chromium reports that one as the site's fault, not the proxy's.)
GENERAL_FAILURE = 0x01
COMMAND_NOT_SUPPORTED = 0x07
ADDRESS_TYPE_NOT_SUPPORTED = 0x08

_IPV4, _DOMAIN, _IPV6 = 0x01, 0x03, 0x04


async def read_connect(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> tuple[str, int]:
    """Greet a client whose version byte has been read; read its CONNECT: the host and port.

    The caller answers with ``reply``. Anything but a CONNECT without authentication is
    refused here and raises ``ProtocolError``.
    """
    (count,) = await reader.readexactly(1)
    if NO_AUTHENTICATION not in await reader.readexactly(count):
        writer.write(VERSION + bytes([NO_ACCEPTABLE_METHOD]))
        raise ProtocolError("a SOCKS5 client that wants authentication")
    writer.write(VERSION + bytes([NO_AUTHENTICATION]))
    await writer.drain()
    version, command, _, kind = await reader.readexactly(4)
    if bytes([version]) != VERSION:
        raise ProtocolError(f"SOCKS version {version} in a request")
    host = await _read_host(reader, writer, kind)
    port = int.from_bytes(await reader.readexactly(2), "big")
    if command != CONNECT:
        writer.write(reply(COMMAND_NOT_SUPPORTED))
        raise ProtocolError(f"SOCKS5 command {command} (only CONNECT)")
    return host, port


async def _read_host(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, kind: int) -> str:
    if kind == _DOMAIN:
        (length,) = await reader.readexactly(1)
        return (await reader.readexactly(length)).decode("ascii", errors="replace")
    if kind == _IPV4:
        return str(ipaddress.IPv4Address(await reader.readexactly(4)))
    if kind == _IPV6:
        return str(ipaddress.IPv6Address(await reader.readexactly(16)))
    writer.write(reply(ADDRESS_TYPE_NOT_SUPPORTED))
    raise ProtocolError(f"SOCKS5 address type {kind}")


def reply(code: int) -> bytes:
    """The answer to a CONNECT; its bound address (0.0.0.0:0) means nothing to clients."""
    return VERSION + bytes([code, 0x00, _IPV4]) + bytes(6)
