"""A small CDP client the server uses on its own browsers (window size, screencasts).

It is one user of the browser's DevTools pipe (``chromium.pipe``), with a browser session of its
own: its discovery and attaches never mix with a relayed client's.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Callable
from typing import Any

from bu_cdp.server.chromium.pipe import CdpError, CdpPipe

__all__ = ["CdpConnection", "CdpError", "close_browser", "page_window", "set_content_size"]

log = logging.getLogger("bu_cdp.server")

EventHandler = Callable[[dict[str, Any]], None]


class CdpConnection:
    """The server's own session on a browser's pipe, with flat-mode sessions under it."""

    def __init__(self, pipe: CdpPipe) -> None:
        self._session = pipe.session(self._receive, self._fail_pending)
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._handlers: list[EventHandler] = []

    @classmethod
    async def open(cls, pipe: CdpPipe, timeout: float = 10.0) -> CdpConnection:
        connection = cls(pipe)
        await connection._session.attach(timeout)
        return connection

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
            self._session.send(message)
            return await asyncio.wait_for(future, timeout)
        finally:
            self._pending.pop(message_id, None)

    def _receive(self, message: dict[str, Any], raw: bytes | None) -> None:
        if "id" in message:
            future = self._pending.get(message["id"])
            if future is None or future.done():
                return
            if "error" in message:
                future.set_exception(CdpError(message["error"].get("message", "error")))
            else:
                future.set_result(message.get("result", {}))
            return
        for handler in list(self._handlers):
            try:
                handler(message)
            except Exception:  # one faulty listener must not end the connection
                log.exception("CDP event handler failed on %s", message.get("method"))

    def _fail_pending(self) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(CdpError("CDP connection closed"))

    @property
    def closed(self) -> bool:
        return self._session.closed

    async def wait_closed(self) -> None:
        """Return once the connection has ended (the browser went away, or ``close()``)."""
        await self._session.wait_closed()

    async def close(self) -> None:
        await self._session.detach()


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


async def close_browser(pipe: CdpPipe, timeout: float = 5.0) -> None:
    """Ask Chromium to quit by itself (``Browser.close``): it writes cookies and storage first."""
    with contextlib.suppress(CdpError):  # it may go before it answers
        await pipe.call("Browser.close", timeout=timeout)
