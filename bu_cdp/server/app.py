"""The local server's ASGI app: the v3 API under /api/v3 and the CDP relay under /cdp."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI

from bu_cdp import __version__
from bu_cdp.server import relay
from bu_cdp.server.auth import require_api_key
from bu_cdp.server.browsers import BrowserHooks, BrowserManager
from bu_cdp.server.config import ServerConfig
from bu_cdp.server.live import LiveViewHooks
from bu_cdp.server.problems import ApiProblem, handle_problem
from bu_cdp.server.recording import RecordingHooks, RecordingStore, recordings_folder
from bu_cdp.server.routes import browsers, live
from bu_cdp.server.routes.pending import pending_router
from bu_cdp.server.screencast import ScreencastHub

API_PREFIX = "/api/v3"


def create_app(config: ServerConfig) -> FastAPI:
    hooks: list[BrowserHooks] = []
    screencasts = ScreencastHub()
    recordings = RecordingStore(recordings_folder(config))
    recorder = RecordingHooks(screencasts, recordings)
    hooks += [LiveViewHooks(), recorder]
    manager = BrowserManager(config, hooks)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await manager.shutdown()

    app = FastAPI(title="bu-cdp local server", version=__version__, lifespan=lifespan)
    app.state.config = config
    app.state.manager = manager
    app.state.screencasts = screencasts
    app.state.recordings = recordings
    app.state.recorder = recorder
    app.add_exception_handler(ApiProblem, handle_problem)

    api = APIRouter(dependencies=[Depends(require_api_key)])
    api.include_router(browsers.router)
    app.include_router(api, prefix=API_PREFIX)
    app.include_router(relay.router)
    app.include_router(live.router)
    app.include_router(
        pending_router(app, API_PREFIX),
        prefix=API_PREFIX,
        dependencies=[Depends(require_api_key)],
    )
    return app
