"""CDP through the server's own port: each browser's pipe behind its own token.

Chromium has no DevTools port: its one DevTools connection is a pipe only this server holds
(``cdp_pipe``). A client connects to ``/cdp/{browser_id}/{token}``; a wrong token or a
browser that is not active is refused before anything reaches Chromium. An accepted client
gets a session of its own on the pipe, so it sees the browser as over a connection of its own.
Its messages pass unchanged, but for two the server answers itself (``client_rules``):
``Browser.close`` stops the browser through the manager, and a download folder outside the
browser's work folder is moved into it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re

import orjson
from fastapi import APIRouter, Request, WebSocket
from starlette.requests import HTTPConnection
from starlette.websockets import WebSocketDisconnect

from bu_cdp.server.addresses import websocket_base
from bu_cdp.server.browsers import BrowserManager, ManagedBrowser
from bu_cdp.server.cdp_pipe import CdpError, PipeSession
from bu_cdp.server.client_rules import ClientRules
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
    outbox: asyncio.Queue[bytes | None] = asyncio.Queue()  # None: the session has ended
    session = browser.process.pipe.session(
        lambda message, raw: outbox.put_nowait(orjson.dumps(message) if raw is None else raw),
        lambda: outbox.put_nowait(None),
    )
    try:
        await session.attach()
    except (CdpError, TimeoutError) as exc:
        log.warning("relay for browser %s could not reach Chromium: %s", browser.id, exc)
        await websocket.close(code=INTERNAL_ERROR)
        return
    manager.metrics.cdp_connections += 1
    await websocket.accept()
    browser.closers.add(session.detach)
    try:
        await _pump(websocket, session, ClientRules(manager, browser, session), outbox)
    finally:
        browser.closers.discard(session.detach)
        await session.detach()
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close()


async def _pump(
    websocket: WebSocket,
    session: PipeSession,
    rules: ClientRules,
    outbox: asyncio.Queue[bytes | None],
) -> None:
    async def client_to_chromium() -> None:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            rules.handle(text if text is not None else message.get("bytes") or b"")

    async def chromium_to_client() -> None:
        while (data := await outbox.get()) is not None:
            await websocket.send_text(data.decode())

    tasks = [asyncio.create_task(client_to_chromium()), asyncio.create_task(chromium_to_client())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


_WEBKIT = re.compile(r"AppleWebKit/([\d.]+)")


@router.get("/cdp/{browser_id}/{token}/json/version")
@router.get("/cdp/{browser_id}/{token}/json/version/", include_in_schema=False)
async def json_version(request: Request, browser_id: str, token: str) -> dict[str, object]:
    """The DevTools HTTP form, so ``connect_over_cdp("http://...")`` works too.

    Chromium serves no HTTP here (it has no port): the same fields are made from its
    ``Browser.getVersion``.
    """
    manager: BrowserManager = request.app.state.manager
    browser = manager.authorize(browser_id, token)
    if browser is None or browser.process is None:
        raise ApiProblem(403, "Not a valid CDP address for an active browser")
    try:
        version = await browser.process.pipe.call("Browser.getVersion", timeout=10)
    except (CdpError, TimeoutError) as exc:  # it ended, or is ending, since the check
        log.warning("relay for browser %s could not reach Chromium: %s", browser.id, exc)
        raise ApiProblem(502, "Chromium could not be reached: the browser may have ended") from exc
    webkit = _WEBKIT.search(version.get("userAgent", ""))
    return {
        "Browser": version.get("product"),
        "Protocol-Version": version.get("protocolVersion"),
        "User-Agent": version.get("userAgent"),
        "V8-Version": version.get("jsVersion"),
        "WebKit-Version": f"{webkit[1] if webkit else ''} ({version.get('revision', '')})",
        "webSocketDebuggerUrl": cdp_url(request, browser),
    }
