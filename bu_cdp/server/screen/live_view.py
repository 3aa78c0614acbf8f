"""The live view: a page that shows a browser's current tab as it changes, and drives it.

``live_url`` (``/live/{id}/{token}``) serves a small page; the page opens a websocket beside it
(``.../ws``) that carries the tab's screencast frames out (binary JPEG messages, newest only: a
slow viewer skips frames rather than falling behind) and news of the tab (URL, title, size,
status) as JSON. Back come the viewer's clicks, scrolls and keys, replayed on the tab with
``Input.dispatchMouseEvent`` / ``Input.dispatchKeyEvent``. The screencast runs only while
someone watches (or the browser is recorded).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
from functools import cache
from importlib import resources
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from bu_cdp.server.browsers.hooks import BrowserHooks
from bu_cdp.server.browsers.record import ManagedBrowser
from bu_cdp.server.screen.screencast import Frame, Screencast, ScreencastHub, Tab, Want

log = logging.getLogger("bu_cdp.server")

LIVE_FPS = 10.0  # pictures a second, full size, while someone watches a page that changes


def live_path(browser: ManagedBrowser) -> str:
    return f"/live/{browser.id}/{browser.token}"


@cache
def live_page() -> str:
    return resources.files("bu_cdp.server.screen").joinpath("live.html").read_text("utf-8")


class LiveViewHooks(BrowserHooks):
    """Publishes every browser's ``live_url``; the page itself costs nothing until opened."""

    async def started(self, browser: ManagedBrowser) -> None:
        browser.links["live_url"] = live_path(browser)


async def watch(websocket: WebSocket, browser: ManagedBrowser, hub: ScreencastHub) -> None:
    """Serve one viewer until it leaves or the browser ends. The socket is accepted."""
    assert browser.process is not None
    want = Want(LIVE_FPS, browser.window)
    try:
        cast = await hub.acquire(browser.id, browser.process.pipe, want)
    except Exception as exc:  # the browser ended while the viewer was arriving
        log.info("live view of browser %s could not start: %s", browser.id, exc)
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.send_json({"type": "status", "status": browser.status.value})
            await websocket.close()
        return
    viewer = Viewer(websocket, cast)

    async def close() -> None:
        await viewer.end("stopped")

    browser.closers.add(close)
    try:
        await viewer.run()
    finally:
        browser.closers.discard(close)
        await hub.release(browser.id, want)
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close()


class Viewer:
    """One open live page: the newest frame and tab news go out, the viewer's input comes in."""

    def __init__(self, websocket: WebSocket, cast: Screencast) -> None:
        self._ws = websocket
        self._cast = cast
        self._frame: Frame | None = cast.last_frame  # something to show at once
        self._tab: Tab | None = cast.tab
        self._size: tuple[int, int] | None = None
        self._ending: str | None = None
        self._wake = asyncio.Event()
        self._done = asyncio.Event()

    async def run(self) -> None:
        self._cast.add_listener(self._on_frame, self._on_tab)
        tasks = [
            asyncio.create_task(self._send()),
            asyncio.create_task(self._receive()),
            asyncio.create_task(self._cast.wait_closed()),
        ]
        self._wake.set()
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._cast.remove_listener(self._on_frame, self._on_tab)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._done.set()

    async def end(self, status: str) -> None:
        """Tell the viewer the browser is gone, then let ``run`` finish."""
        self._ending = status
        self._wake.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._done.wait(), 2)

    def _on_frame(self, frame: Frame) -> None:
        self._frame = frame
        self._wake.set()

    def _on_tab(self, tab: Tab) -> None:
        self._tab = tab
        self._wake.set()

    async def _send(self) -> None:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            await self._ws.send_json({"type": "status", "status": "active"})
            while True:
                await self._wake.wait()
                self._wake.clear()
                if self._tab is not None:
                    tab, self._tab = self._tab, None
                    await self._ws.send_json({"type": "tab", "url": tab.url, "title": tab.title})
                if self._frame is not None:
                    frame, self._frame = self._frame, None
                    if (frame.width, frame.height) != self._size:
                        self._size = (frame.width, frame.height)
                        await self._ws.send_json(
                            {"type": "size", "width": frame.width, "height": frame.height}
                        )
                    await self._ws.send_bytes(frame.jpeg)
                if self._ending is not None:
                    await self._ws.send_json({"type": "status", "status": self._ending})
                    return

    async def _receive(self) -> None:
        while True:
            message = await self._ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            try:
                data = json.loads(message.get("text") or "")
            except ValueError:
                continue
            command = input_command(data) if isinstance(data, dict) else None
            if command is not None:
                await self._cast.send_to_tab(*command)


# -- the viewer's input, checked and turned into CDP ------------------------------------

MOUSE_EVENTS = frozenset({"mousePressed", "mouseReleased", "mouseMoved"})
MOUSE_BUTTONS = frozenset({"none", "left", "middle", "right", "back", "forward"})
KEY_EVENTS = frozenset({"keyDown", "keyUp"})
MAX_COORDINATE = 100_000.0


def input_command(data: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The CDP command for one input message from a viewer, or None if it is not one.

    Only the fields named here pass, with their values bounded: a viewer cannot send other
    CDP commands through the live view.
    """
    kind = data.get("type")
    modifiers = _integer(data.get("modifiers"), 0, 15)
    if kind in ("mouse", "wheel"):
        x, y = _number(data.get("x")), _number(data.get("y"))
        if x is None or y is None:
            return None
        params: dict[str, Any] = {"x": x, "y": y, "modifiers": modifiers}
        if kind == "wheel":
            params["type"] = "mouseWheel"
            params["deltaX"] = _number(data.get("deltaX")) or 0.0
            params["deltaY"] = _number(data.get("deltaY")) or 0.0
        elif data.get("event") in MOUSE_EVENTS:
            params["type"] = data["event"]
            button = data.get("button")
            params["button"] = button if button in MOUSE_BUTTONS else "none"
            params["clickCount"] = _integer(data.get("clickCount"), 0, 3)
        else:
            return None
        return "Input.dispatchMouseEvent", params
    if kind == "key" and data.get("event") in KEY_EVENTS:
        text = data.get("text")
        text = text if isinstance(text, str) and 0 < len(text) <= 4 else ""
        params = {
            "key": _text(data.get("key")),
            "code": _text(data.get("code")),
            "windowsVirtualKeyCode": _integer(data.get("keyCode"), 0, 255),
            "modifiers": modifiers,
        }
        if data["event"] == "keyUp":
            params["type"] = "keyUp"
        elif text:
            params.update(type="keyDown", text=text, unmodifiedText=text)
        else:
            params["type"] = "rawKeyDown"  # Enter, Backspace, arrows: no text to insert
        return "Input.dispatchKeyEvent", params
    return None


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return max(-MAX_COORDINATE, min(MAX_COORDINATE, float(value)))


def _integer(value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        return low
    return max(low, min(high, value))


def _text(value: object) -> str:
    return value[:32] if isinstance(value, str) else ""
