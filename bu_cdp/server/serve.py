"""Running the app under uvicorn, in the foreground (``bu-cdp serve``) or in a thread."""

from __future__ import annotations

import logging
import re
import socket
from collections.abc import Callable
from typing import Any

import uvicorn
from fastapi import FastAPI

from bu_cdp.errors import ConfigurationError
from bu_cdp.server.api import hardening
from bu_cdp.server.app import API_PREFIX, create_app
from bu_cdp.server.config import ServerConfig
from bu_cdp.server.relay import cdp_socket

# Screenshots of big pages are large CDP frames; uvicorn's default limit is 16 MiB.
WS_MAX_SIZE = 1 << 30

_TOKEN_IN_PATH = re.compile(r"(/(?:cdp|live|recordings)/[^/\s]+/)[^/?\s\"]+")


# uvicorn's loggers that name request paths: the access log, and uvicorn.error, where its
# websocket protocols log every upgrade ('"WebSocket /live/<id>/<token>/ws" [accepted]').
PATH_LOGGERS = ("uvicorn.access", "uvicorn.error")


class RedactTokens(logging.Filter):
    """Keep per-browser tokens out of logs: they open a browser to whoever reads them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = _redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redact(a) if isinstance(a, str) else a for a in record.args)
        return True


def _redact(text: str) -> str:
    return _TOKEN_IN_PATH.sub(r"\1***", text)


_REDACT_TOKENS = RedactTokens()


def redact_tokens_in_logs() -> None:
    """Put the one token filter on every logger that names request paths (once: adding the
    same filter again is a no-op)."""
    for name in PATH_LOGGERS:
        logging.getLogger(name).addFilter(_REDACT_TOKENS)


def uvicorn_config(
    config: ServerConfig, app: FastAPI | None = None, **overrides: Any
) -> uvicorn.Config:
    redact_tokens_in_logs()
    options: dict[str, Any] = {
        "host": config.host,
        "port": config.port,
        "ws_max_size": WS_MAX_SIZE,
        "timeout_graceful_shutdown": 5,
        "log_level": "info",
        "lifespan": "on",
    }
    options.update(overrides)
    hardening.install(options)
    app = app or create_app(config)
    cdp_socket.install(options, app)  # /cdp/... websockets, served on the socket itself
    return uvicorn.Config(app, **options)


def listen(config: ServerConfig) -> socket.socket:
    """The server's listening socket, bound now: port 0 picks a free one, written back to
    ``config.port``. A port that is taken, or an address not this machine's, is a
    ``ConfigurationError`` naming it."""
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((config.host, config.port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise ConfigurationError(
            f"cannot listen on {config.host}:{config.port}: {exc.strerror or exc}"
        ) from None
    config.port = sock.getsockname()[1]
    return sock


def api_url(config: ServerConfig) -> str:
    """Where the server answers the API (once ``listen`` has settled the port)."""
    return f"http://{config.host}:{config.port}{API_PREFIX}"


def serve(config: ServerConfig, listening: Callable[[str], None] | None = None) -> None:
    """Run in the foreground until SIGINT/SIGTERM; every browser is stopped on the way out.

    The port is bound first (``ConfigurationError`` if it is taken), so ``listening`` is told
    the real address, port 0 resolved, before anything is served.
    """
    sock = listen(config)
    try:
        if listening is not None:
            listening(api_url(config))
        uvicorn.Server(uvicorn_config(config)).run(sockets=[sock])
    finally:
        sock.close()
