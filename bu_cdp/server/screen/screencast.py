"""The browser's screen as a stream of JPEG frames, following whichever tab is in use.

One ``Screencast`` per browser, shared by everyone who wants the picture (live viewers, the
recorder) through the ``ScreencastHub``: it starts with the first user and stops with the last,
so a browser nobody watches or records pays nothing.

Which tab: the page target created or navigated most recently (``Target.setDiscoverTargets``
tells of both); when it closes, the one used before it. Frames come from ``Page.startScreencast``
on a flat-mode session attached to that tab.

What it costs the user's page: while a screencast runs, Chromium captures every frame the page
draws (up to 60 a second, or more in headless) and throws away those it cannot send; holding
back acknowledgements caps the frames sent but not the captures. So on a page that keeps
changing the screencast is paused for one interval after each frame it delivers (stop, wait,
start again: a restart sends the current picture), which caps the captures at ``fps`` a second.
Once a few restarts in a row bring the same picture, the page has settled and the screencast is
left running: a still page costs nothing, and the next change arrives at once.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from bu_cdp.server.chromium.cdp import CdpConnection, CdpError
from bu_cdp.server.chromium.pipe import CdpPipe

log = logging.getLogger("bu_cdp.server")

JPEG_QUALITY = 60
SETTLED_AFTER = 3  # restarts that bring the same picture before the screencast is left running
# A tab that navigated and sent no picture within this many seconds has its capture restarted:
# a capture restarted while the page's document was being swapped can stay silent for good.
PICTURE_AFTER_NAVIGATION = 1.0


@dataclass(frozen=True)
class Frame:
    jpeg: bytes
    timestamp: float  # wall-clock seconds (time.time()) when Chromium drew it
    width: int  # the tab's viewport in CSS pixels, for mapping clicks back
    height: int


@dataclass(frozen=True)
class Tab:
    target_id: str
    url: str
    title: str


FrameListener = Callable[[Frame], None]
TabListener = Callable[[Tab], None]


class Screencast:
    """A CDP session of its own on one browser, streaming the followed tab's frames."""

    def __init__(self, pipe: CdpPipe, max_size: tuple[int, int], fps: float) -> None:
        self._pipe = pipe
        self._max_size = max_size  # of the pictures, in pixels
        self.fps = fps  # pictures a second, at most, while the page keeps changing
        self._cdp: CdpConnection | None = None
        self._tabs: dict[str, Tab] = {}  # page targets, least recently used first
        self._wanted: str | None = None
        self._target: str | None = None
        self._session: str | None = None
        self._switching: asyncio.Task[None] | None = None
        self._pausing: str | None = None  # the session whose screencast is paused for a while
        self._same_pictures = 0
        self._frames = 0  # frames received, to tell whether a navigation brought one
        self._background: set[asyncio.Task[Any]] = set()
        self._frame_listeners: set[FrameListener] = set()
        self._tab_listeners: set[TabListener] = set()
        self.last_frame: Frame | None = None

    # -- listeners -----------------------------------------------------------------------

    def add_listener(self, frames: FrameListener, tabs: TabListener | None = None) -> None:
        self._frame_listeners.add(frames)
        if tabs is not None:
            self._tab_listeners.add(tabs)

    def remove_listener(self, frames: FrameListener, tabs: TabListener | None = None) -> None:
        self._frame_listeners.discard(frames)
        if tabs is not None:
            self._tab_listeners.discard(tabs)

    @property
    def tab(self) -> Tab | None:
        return self._tabs.get(self._target) if self._target else None

    async def configure(self, fps: float, max_size: tuple[int, int]) -> None:
        """New limits; a new picture size starts with the next capture."""
        self.fps = fps
        if max_size == self._max_size:
            return
        self._max_size = max_size
        session = self._session
        if self._cdp is not None and session is not None and self._pausing != session:
            with contextlib.suppress(CdpError, TimeoutError):  # a settled page: restart now
                await self._cdp.send("Page.stopScreencast", session_id=session)
                await self._start_capture(session)

    @property
    def closed(self) -> bool:
        return self._cdp is None or self._cdp.closed

    async def wait_closed(self) -> None:
        if self._cdp is not None:
            await self._cdp.wait_closed()

    # -- start, stop ---------------------------------------------------------------------

    async def start(self) -> None:
        self._cdp = await CdpConnection.open(self._pipe)
        self._cdp.on_event(self._on_event)
        await self._cdp.send("Target.setDiscoverTargets", {"discover": True})
        if self._wanted is None:  # discovery announces existing tabs; in case it did not
            for info in (await self._cdp.send("Target.getTargets")).get("targetInfos", []):
                self._remember(info, created=True)
        if self._switching is not None:
            await asyncio.shield(self._switching)  # the first frame is on its way

    async def close(self) -> None:
        cdp, self._cdp = self._cdp, None
        for task in [*self._background, *([self._switching] if self._switching else [])]:
            task.cancel()
        if cdp is not None:
            if self._session is not None and not cdp.closed:
                with contextlib.suppress(CdpError, TimeoutError):
                    await cdp.send("Page.stopScreencast", session_id=self._session, timeout=2)
            await cdp.close()
        self._frame_listeners.clear()
        self._tab_listeners.clear()

    async def send_to_tab(self, method: str, params: dict[str, Any]) -> None:
        """A command for the followed tab (input from a live viewer); lost if it is gone."""
        if self._cdp is None or self._session is None:
            return
        with contextlib.suppress(CdpError, TimeoutError):
            await self._cdp.send(method, params, session_id=self._session, timeout=5)

    # -- following the tab in use --------------------------------------------------------

    def _remember(self, info: dict[str, Any], created: bool) -> None:
        if info.get("type") != "page":
            return
        target_id = str(info["targetId"])
        tab = Tab(target_id, str(info.get("url", "")), str(info.get("title", "")))
        old = self._tabs.get(target_id)
        in_use = created or old is None or old.url != tab.url  # new, or navigated
        if in_use:
            self._tabs.pop(target_id, None)  # to the end: the most recently used
        self._tabs[target_id] = tab
        if in_use and target_id != self._wanted:
            self._follow(target_id)
        if target_id == self._target and old != tab:
            self._tell_tab(tab)
        if target_id == self._target and old is not None and old.url != tab.url and self._session:
            self._in_background(self._picture_after_navigation(self._session, self._frames))

    def _forget(self, target_id: str) -> None:
        self._tabs.pop(target_id, None)
        if target_id == self._target:
            self._target = self._session = None
        if target_id == self._wanted:
            self._follow(next(reversed(self._tabs), None))  # back to the one used before

    def _follow(self, target_id: str | None) -> None:
        self._wanted = target_id
        if self._switching is None or self._switching.done():
            self._switching = asyncio.create_task(self._switch())

    async def _switch(self) -> None:
        while self._cdp is not None and self._wanted != self._target:
            wanted = self._wanted
            await self._detach()
            if wanted is None:
                return
            try:
                await self._attach(wanted)
            except (CdpError, TimeoutError) as exc:  # closed before we got there
                log.debug("screencast could not follow tab %s: %s", wanted, exc)
                self._tabs.pop(wanted, None)
                if self._wanted == wanted:
                    self._wanted = next(reversed(self._tabs), None)

    async def _attach(self, target_id: str) -> None:
        assert self._cdp is not None
        answer = await self._cdp.send(
            "Target.attachToTarget", {"targetId": target_id, "flatten": True}
        )
        self._session, self._target = str(answer["sessionId"]), target_id
        self._same_pictures = 0
        await self._start_capture(self._session)
        tab = self._tabs.get(target_id)
        if tab is not None:
            self._tell_tab(tab)

    async def _start_capture(self, session: str) -> None:
        assert self._cdp is not None
        width, height = self._max_size
        await self._cdp.send(
            "Page.startScreencast",
            {"format": "jpeg", "quality": JPEG_QUALITY, "maxWidth": width, "maxHeight": height},
            session_id=session,
        )

    async def _detach(self) -> None:
        session, self._session, self._target = self._session, None, None
        if session is None or self._cdp is None or self._cdp.closed:
            return
        with contextlib.suppress(CdpError, TimeoutError):
            await self._cdp.send("Target.detachFromTarget", {"sessionId": session}, timeout=5)

    # -- events --------------------------------------------------------------------------

    def _on_event(self, message: dict[str, Any]) -> None:
        method = message.get("method")
        params: dict[str, Any] = message.get("params", {})
        if method == "Page.screencastFrame":
            if message.get("sessionId") == self._session:
                self._on_frame(params)
        elif method == "Target.targetCreated":
            self._remember(params["targetInfo"], created=True)
        elif method == "Target.targetInfoChanged":
            self._remember(params["targetInfo"], created=False)
        elif method in ("Target.targetDestroyed", "Target.targetCrashed"):
            self._forget(str(params.get("targetId")))
        elif method == "Target.detachedFromTarget" and params.get("sessionId") == self._session:
            lost, self._session, self._target = self._target, None, None
            if lost == self._wanted:  # detached under us: attach again if it still exists
                self._follow(lost if lost in self._tabs else next(reversed(self._tabs), None))

    def _on_frame(self, params: dict[str, Any]) -> None:
        session = self._session
        assert session is not None
        self._frames += 1
        meta = params.get("metadata", {})
        frame = Frame(
            jpeg=base64.b64decode(params["data"]),
            timestamp=float(meta.get("timestamp") or time.time()),
            width=int(meta.get("deviceWidth") or 0),
            height=int(meta.get("deviceHeight") or 0),
        )
        same = self.last_frame is not None and frame.jpeg == self.last_frame.jpeg
        self._same_pictures = self._same_pictures + 1 if same else 0
        if not same:
            self._deliver(frame)
        number = int(params["sessionId"])
        if self._pausing == session or self._same_pictures >= SETTLED_AFTER:
            self._in_background(self._ack(session, number))  # settled: leave it running
        else:
            self._pausing = session
            self._in_background(self._pause(session, number))

    async def _ack(self, session: str, number: int) -> None:
        if self._cdp is not None and session == self._session:
            with contextlib.suppress(CdpError, TimeoutError):
                await self._cdp.send(
                    "Page.screencastFrameAck", {"sessionId": number}, session_id=session
                )

    async def _pause(self, session: str, number: int) -> None:
        """No captures for one interval: a page that keeps changing costs ``fps`` a second."""
        try:
            await self._ack(session, number)
            if self._cdp is None or session != self._session:
                return
            with contextlib.suppress(CdpError, TimeoutError):
                await self._cdp.send("Page.stopScreencast", session_id=session)
                await asyncio.sleep(1.0 / self.fps)
                if self._cdp is not None and session == self._session:
                    await self._start_capture(session)
        finally:
            if self._pausing == session:
                self._pausing = None

    async def _picture_after_navigation(self, session: str, frames: int) -> None:
        """A tab whose navigation brought no picture in time: take one, and restart its
        capture (a restarted capture sends nothing until the page draws again)."""
        await asyncio.sleep(PICTURE_AFTER_NAVIGATION)
        if self._frames != frames or self._cdp is None or session != self._session:
            return
        log.debug("screencast: no picture since the tab navigated; taking one")
        with contextlib.suppress(CdpError, TimeoutError, KeyError, ValueError):
            await self._cdp.send("Page.stopScreencast", session_id=session)
            await self._start_capture(session)
            metrics = await self._cdp.send("Page.getLayoutMetrics", session_id=session)
            viewport = metrics["cssLayoutViewport"]
            width, height = int(viewport["clientWidth"]), int(viewport["clientHeight"])
            scale = min(1.0, self._max_size[0] / width, self._max_size[1] / height)
            clip = {"x": 0, "y": 0, "width": width, "height": height, "scale": scale}
            shot = await self._cdp.send(
                "Page.captureScreenshot",
                {"format": "jpeg", "quality": JPEG_QUALITY, "clip": clip},
                session_id=session,
            )
            if self._frames == frames and session == self._session:  # none came meanwhile
                self._deliver(Frame(base64.b64decode(shot["data"]), time.time(), width, height))

    def _deliver(self, frame: Frame) -> None:
        self.last_frame = frame
        for listener in list(self._frame_listeners):
            listener(frame)

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _tell_tab(self, tab: Tab) -> None:
        for listener in list(self._tab_listeners):
            listener(tab)


class ScreencastHub:
    """The screencasts of the server's browsers: one per browser, alive while it has users.

    Each user says how many pictures a second it wants and how large (a live viewer more than
    a recording); the screencast serves the most that any current user wants.
    """

    def __init__(self) -> None:
        self._casts: dict[str, asyncio.Task[Screencast]] = {}
        self._users: dict[str, list[Want]] = {}

    def running(self, browser_id: str) -> bool:
        return browser_id in self._casts

    async def acquire(self, browser_id: str, pipe: CdpPipe, want: Want) -> Screencast:
        """The browser's screencast, started for its first user; pair with ``release``."""
        users = self._users.setdefault(browser_id, [])
        users.append(want)
        starting = self._casts.get(browser_id)
        if starting is None:
            cast = Screencast(pipe, want.max_size, want.fps)
            starting = asyncio.create_task(self._start(cast))
            self._casts[browser_id] = starting
        try:
            cast = await asyncio.shield(starting)
        except BaseException:
            await self.release(browser_id, want)
            raise
        await cast.configure(*_most(users))
        return cast

    async def release(self, browser_id: str, want: Want) -> None:
        users = self._users.get(browser_id, [])
        with contextlib.suppress(ValueError):
            users.remove(want)
        starting = self._casts.get(browser_id)
        if users:
            if starting is not None and starting.done() and not starting.exception():
                await starting.result().configure(*_most(users))
            return
        self._users.pop(browser_id, None)
        self._casts.pop(browser_id, None)
        if starting is None:
            return
        with contextlib.suppress(Exception):  # a start that failed has nothing to close
            await (await asyncio.shield(starting)).close()

    @staticmethod
    async def _start(cast: Screencast) -> Screencast:
        try:
            await cast.start()
        except BaseException:
            await cast.close()
            raise
        return cast


@dataclass(frozen=True)
class Want:
    """What one user of a screencast asks of it."""

    fps: float
    max_size: tuple[int, int]


def _most(wants: list[Want]) -> tuple[float, tuple[int, int]]:
    largest = max(wants, key=lambda want: want.max_size[0] * want.max_size[1])
    return max(want.fps for want in wants), largest.max_size


def scaled_to(size: tuple[int, int], longest: int) -> tuple[int, int]:
    """``size`` made no longer than ``longest`` on either side, keeping its shape."""
    scale = min(1.0, longest / max(size))
    return max(2, round(size[0] * scale)), max(2, round(size[1] * scale))
