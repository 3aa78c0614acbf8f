"""CDP through the server's own port: each browser's socket behind its own token.

Chromium's DevTools port listens on 127.0.0.1 only and is never handed out. A client connects
to ``/cdp/{browser_id}/{token}`` on the server; a wrong token or a browser that is not active
is refused before anything reaches Chromium, and frames are relayed unchanged both ways.

Under ``bu-cdp serve`` and the embedded server these websockets never reach the route below:
``splice.py`` takes them over at the socket level, which is faster. The route is the same
relay done frame by frame in ASGI, used when the app runs under another ASGI server or with
``cdp_relay="asgi"``. The ``/json/version`` route serves both.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import httpx
import websockets
from fastapi import APIRouter, Request, WebSocket
from starlette.requests import HTTPConnection
from starlette.websockets import WebSocketDisconnect

from bu_cdp.server.addresses import websocket_base
from bu_cdp.server.browsers import BrowserManager, ManagedBrowser
from bu_cdp.server.problems import ApiProblem

log = logging.getLogger("bu_cdp.server")
router = APIRouter()

# Websocket close codes. Closed before the accept, POLICY_VIOLATION reaches the client as 403.
POLICY_VIOLATION = 1008
INTERNAL_ERROR = 1011


def cdp_path(browser: ManagedBrowser) -> str:
    return f"/cdp/{browser.id}/{browser.token}"


def cdp_url(connection: HTTPConnection, browser: ManagedBrowser) -> str:
    """The browser's ``cdp_url``, as clients of this request reach the server."""
    return websocket_base(connection) + cdp_path(browser)


@router.websocket("/cdp/{browser_id}/{token}")
async def relay(websocket: WebSocket, browser_id: str, token: str) -> None:
    manager: BrowserManager = websocket.app.state.manager
    browser = manager.authorize(browser_id, token)
    if browser is None or browser.process is None:
        await websocket.close(code=POLICY_VIOLATION)  # before accept: the client sees 403
        return
    try:
        upstream = await websockets.connect(
            browser.process.ws_url,
            max_size=None,
            compression=None,
            ping_interval=None,
            open_timeout=10,
            close_timeout=1,
        )
    except (OSError, websockets.WebSocketException, TimeoutError) as exc:
        log.warning("relay for browser %s could not reach Chromium: %s", browser.id, exc)
        await websocket.close(code=INTERNAL_ERROR)
        return
    manager.metrics.cdp_connections += 1
    await websocket.accept()

    async def close() -> None:
        await upstream.close()

    browser.closers.add(close)
    try:
        await _pump(websocket, upstream)
    finally:
        browser.closers.discard(close)
        await upstream.close()
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close()


async def _pump(websocket: WebSocket, upstream: websockets.ClientConnection) -> None:
    async def client_to_chromium() -> None:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            await upstream.send(text if text is not None else message["bytes"])

    async def chromium_to_client() -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for data in upstream:
                if isinstance(data, str):
                    await websocket.send_text(data)
                else:
                    await websocket.send_bytes(data)

    tasks = [asyncio.create_task(client_to_chromium()), asyncio.create_task(chromium_to_client())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@router.get("/cdp/{browser_id}/{token}/json/version")
@router.get("/cdp/{browser_id}/{token}/json/version/", include_in_schema=False)
async def json_version(request: Request, browser_id: str, token: str) -> dict[str, object]:
    """The DevTools HTTP form, so ``connect_over_cdp("http://...")`` works too."""
    manager: BrowserManager = request.app.state.manager
    browser = manager.authorize(browser_id, token)
    if browser is None or browser.process is None:
        raise ApiProblem(403, "Not a valid CDP address for an active browser")
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            answer = await http.get(f"{browser.process.http_url}/json/version")
            answer.raise_for_status()
        info: dict[str, object] = answer.json()
    except (httpx.HTTPError, ValueError) as exc:  # it ended, or is ending, since the check
        log.warning("relay for browser %s could not reach Chromium: %s", browser.id, exc)
        raise ApiProblem(502, "Chromium could not be reached: the browser may have ended") from exc
    info["webSocketDebuggerUrl"] = cdp_url(request, browser)
    return info
