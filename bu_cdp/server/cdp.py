"""A small CDP client the server uses on its own browsers (window size, screencasts)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections.abc import Callable
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

log = logging.getLogger("bu_cdp.server")

EventHandler = Callable[[dict[str, Any]], None]


class CdpError(Exception):
    pass


class CdpConnection:
    """One websocket to a browser's DevTools endpoint, with flat-mode sessions."""

    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._handlers: list[EventHandler] = []
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, ws_url: str, timeout: float = 10.0) -> CdpConnection:
        ws = await websockets.connect(
            ws_url, max_size=None, compression=None, ping_interval=None, open_timeout=timeout
        )
        return cls(ws)

    def on_event(self, handler: EventHandler) -> None:
        self._handlers.append(handler)

    async def send(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        session_id: str | None = None,
        timeout: float = 30.0,
    ) -> dict[str, Any]:
        message_id = next(self._ids)
        message: dict[str, Any] = {"id": message_id, "method": method, "params": params or {}}
        if session_id:
            message["sessionId"] = session_id
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[message_id] = future
        try:
            try:
                await self._ws.send(json.dumps(message))
            except websockets.ConnectionClosed as exc:
                raise CdpError("CDP connection closed") from exc
            return await asyncio.wait_for(future, timeout)
        finally:
            self._pending.pop(message_id, None)

    async def _read(self) -> None:
        try:
            async for raw in self._ws:
                message = json.loads(raw)
                if "id" in message:
                    future = self._pending.get(message["id"])
                    if future is None or future.done():
                        continue
                    if "error" in message:
                        future.set_exception(CdpError(message["error"].get("message", "error")))
                    else:
                        future.set_result(message.get("result", {}))
                else:
                    for handler in list(self._handlers):
                        try:
                            handler(message)
                        except Exception:  # one faulty listener must not end the connection
                            log.exception("CDP event handler failed on %s", message.get("method"))
        except websockets.ConnectionClosed:
            pass
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(CdpError("CDP connection closed"))

    @property
    def closed(self) -> bool:
        return self._reader.done()

    async def wait_closed(self) -> None:
        """Return once the connection has ended (the browser went away, or ``close()``)."""
        await asyncio.shield(self._reader)

    async def close(self) -> None:
        await self._ws.close()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


async def first_page_target(cdp: CdpConnection) -> str | None:
    targets = await cdp.send("Target.getTargets")
    for info in targets.get("targetInfos", []):
        if info.get("type") == "page":
            return str(info["targetId"])
    return None


async def page_window(cdp: CdpConnection) -> int | None:
    """The window id of the browser's first tab (the page a client finds on connecting)."""
    target = await first_page_target(cdp)
    if target is None:
        return None
    window = await cdp.send("Browser.getWindowForTarget", {"targetId": target})
    return int(window["windowId"])


async def set_content_size(
    cdp: CdpConnection,
    width: int,
    height: int,
    window_id: int | None = None,
    timeout: float = 30.0,
) -> None:
    """Make the first tab's viewport (``innerWidth`` x ``innerHeight``) exactly this size.

    ``--window-size`` sets the outer window, and headless Chromium reserves room for a
    toolbar it does not draw; ``Browser.setContentsSize`` sizes the page area itself.
    """
    if window_id is None:
        window_id = await page_window(cdp)
        if window_id is None:
            return
    await cdp.send(
        "Browser.setContentsSize",
        {"windowId": window_id, "width": width, "height": height},
        timeout=timeout,
    )


async def close_browser(ws_url: str, timeout: float = 5.0) -> None:
    """Ask Chromium to quit by itself (``Browser.close``): it writes cookies and storage first."""
    cdp = await CdpConnection.connect(ws_url, timeout=timeout)
    try:
        with contextlib.suppress(CdpError):  # it may go before it answers
            await cdp.send("Browser.close", timeout=timeout)
    finally:
        await cdp.close()
