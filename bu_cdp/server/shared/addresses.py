"""Where clients reach this server: the base of every address it hands out."""

from __future__ import annotations

from starlette.requests import HTTPConnection

_WEBSOCKET_SCHEMES = {"http": "ws", "https": "wss"}


def public_base(connection: HTTPConnection) -> str:
    """The configured public URL, or the one this request came to; no trailing slash."""
    configured: str | None = connection.app.state.config.public_url
    return (configured or str(connection.base_url)).rstrip("/")


def websocket_base(connection: HTTPConnection) -> str:
    """``public_base`` for websockets: ``http://`` becomes ``ws://``, ``https://`` ``wss://``."""
    scheme, separator, rest = public_base(connection).partition("://")
    return _WEBSOCKET_SCHEMES.get(scheme, scheme) + separator + rest
