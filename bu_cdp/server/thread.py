"""The server in a background thread of this process, with its own event loop.

For tests and benchmarks that reach into the server (its manager, its hooks). Programs get
the embedded default, a child process (``bu_cdp.embedded``), whose relay never waits for the
program's GIL; run one of these only where nothing else fits.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import uvicorn
from fastapi import FastAPI

from bu_cdp.errors import ConfigurationError
from bu_cdp.server.app import create_app
from bu_cdp.server.browsers.manager import BrowserManager
from bu_cdp.server.config import ServerConfig
from bu_cdp.server.serve import api_url, listen, uvicorn_config


class ServerThread:
    """Start with ``start()``, stop with ``stop()``: every browser it launched is stopped."""

    def __init__(self, config: ServerConfig, **uvicorn_options: Any) -> None:
        """``uvicorn_options`` override uvicorn's settings (``timeout_graceful_shutdown``...)."""
        self.config = config
        self._sock = listen(config)  # port 0 becomes the real port here
        try:
            self._app = create_app(config)
            options = {"log_level": "warning", "access_log": False, **uvicorn_options}
            self._server = uvicorn.Server(uvicorn_config(config, self._app, **options))
        except BaseException:  # a bad setting: nothing may stay open, the port included
            self._sock.close()
            raise
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="bu-cdp-server", daemon=True)

    @property
    def base_url(self) -> str:
        return api_url(self.config)

    @property
    def app(self) -> FastAPI:
        return self._app

    @property
    def manager(self) -> BrowserManager:
        manager: BrowserManager = self._app.state.manager
        return manager

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        try:
            asyncio.run(self._server.serve(sockets=[self._sock]))
        except BaseException as exc:  # reported by start() to the thread that waits
            self._failure = exc
        finally:
            self._sock.close()

    def start(self, timeout: float = 30.0) -> ServerThread:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise ConfigurationError(f"the bu-cdp server did not start: {self._failure!r}")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
