"""Running the app under uvicorn, in the foreground (``bu-cdp serve``) or in a thread."""

from __future__ import annotations

import logging
import re
import socket
from typing import Any

import uvicorn
from fastapi import FastAPI

from bu_cdp.server import splice
from bu_cdp.server.app import create_app
from bu_cdp.server.config import ServerConfig

# Screenshots of big pages are large CDP frames; uvicorn's default limit is 16 MiB.
WS_MAX_SIZE = 1 << 30

_TOKEN_IN_PATH = re.compile(r"(/(?:cdp|live|recordings)/[^/\s]+/)[^/?\s\"]+")


class RedactTokens(logging.Filter):
    """Keep per-browser tokens out of access logs: they open a browser to whoever reads them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _TOKEN_IN_PATH.sub(r"\1***", a) if isinstance(a, str) else a for a in record.args
            )
        return True


def uvicorn_config(
    config: ServerConfig, app: FastAPI | None = None, **overrides: Any
) -> uvicorn.Config:
    logging.getLogger("uvicorn.access").addFilter(RedactTokens())
    options: dict[str, Any] = {
        "host": config.host,
        "port": config.port,
        "ws_max_size": WS_MAX_SIZE,
        "timeout_graceful_shutdown": 5,
        "log_level": "info",
        "lifespan": "on",
    }
    options.update(overrides)
    app = app or create_app(config)
    if config.cdp_relay == "splice":
        splice.install(options, app)
    return uvicorn.Config(app, **options)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket; port 0 picks a free one, read back from ``getsockname()``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def serve(config: ServerConfig) -> None:
    """Run in the foreground until SIGINT/SIGTERM; every browser is stopped on the way out."""
    uvicorn.Server(uvicorn_config(config)).run()
