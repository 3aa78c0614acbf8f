"""The local server's ASGI app: the v3 API under /api/v3 and the CDP relay under /cdp."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI
from fastapi.exceptions import RequestValidationError

from bu_cdp.server.api.hardening import Guard
from bu_cdp.server.api.routes import (
    billing,
    browsers,
    health,
    hosted,
    live,
    metrics,
    profiles,
    sessions,
    workspaces,
)
from bu_cdp.server.browsers.hooks import BrowserHooks
from bu_cdp.server.browsers.manager import BrowserManager
from bu_cdp.server.config import ServerConfig
from bu_cdp.server.persistence import Persistence
from bu_cdp.server.proxies.selection import ProxyHooks
from bu_cdp.server.recording.recorder import RecordingHooks
from bu_cdp.server.relay import endpoints
from bu_cdp.server.screen.live_view import LiveViewHooks
from bu_cdp.server.screen.screencast import ScreencastHub
from bu_cdp.server.sessions.agent.llm import resolve_llm
from bu_cdp.server.shared.auth import require_api_key
from bu_cdp.server.shared.problems import ApiProblem, handle_problem, handle_storage_error
from bu_cdp.server.shared.schemas import handle_invalid_request
from bu_cdp.wire import VERSION as __version__

API_PREFIX = "/api/v3"


def create_app(config: ServerConfig) -> FastAPI:
    # What checks the settings comes first: a bad one must not leave the store open.
    proxies = ProxyHooks(config.proxies, config.proxy_connect_timeout)
    agent_llm = resolve_llm(config.agent_base_url, config.agent_model, config.agent_api_key)
    persistence = Persistence.open(config)
    screencasts = ScreencastHub()
    recordings = persistence.recordings
    recorder = RecordingHooks(screencasts, recordings)
    # The ledger's row is written by the last ``started``: a browser that another hook
    # failed to start (a recording that could not begin) is never billed.
    hooks: list[BrowserHooks] = [
        *persistence.hooks,
        proxies,
        LiveViewHooks(),
        persistence.sessions,  # a session ends with its browser, after its video (finished)
        recorder,
        persistence.records,
    ]
    manager = BrowserManager(config, hooks)
    persistence.sessions.bind(manager, agent_llm, persistence.workspaces.files_root)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await persistence.start()
        try:
            await manager.start()
            yield
        finally:
            try:
                await persistence.sessions.shutdown()
                await manager.shutdown()
            finally:
                await persistence.stop()

    app = FastAPI(title="bu-cdp local server", version=__version__, lifespan=lifespan)
    app.state.config = config
    app.state.manager = manager
    app.state.persistence = persistence
    app.state.screencasts = screencasts
    app.state.recordings = recordings
    app.state.recorder = recorder
    # Outside the routes: the key is checked and the body bounded before FastAPI reads it.
    app.add_middleware(Guard, api_key=config.api_key, prefixes=(API_PREFIX, hosted.PREFIX))
    app.add_exception_handler(ApiProblem, handle_problem)
    app.add_exception_handler(sqlite3.Error, handle_storage_error)
    app.add_exception_handler(OSError, handle_storage_error)
    app.add_exception_handler(RequestValidationError, handle_invalid_request)

    api = APIRouter(dependencies=[Depends(require_api_key)])
    api.include_router(browsers.router)
    for feature in (profiles, workspaces, billing, sessions, metrics):
        api.include_router(feature.router)
    app.include_router(api, prefix=API_PREFIX)
    hosted.mount(app)  # the hosted dialect, on a base path of its own
    app.include_router(endpoints.router)
    app.include_router(health.router)
    app.include_router(live.router)
    return app
