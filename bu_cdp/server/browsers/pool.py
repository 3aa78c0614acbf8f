"""The warm pool: plain Chromiums started ahead of time, handed out by creates that fit.

A pooled Chromium is launched with the plain plan (no profile, no proxy, default window),
sized, and kept with an open CDP connection so that handing it out costs one resize. It
belongs to no one, has no token and bills nothing until a create takes it. A create that
takes one may still be refused by a hook's ``prepare``: it then gives the Chromium back,
unused, to the front of the pool; once the create keeps it, it becomes that browser's
Chromium, its work folder becomes the browser's, and the pool starts another one in the
background. One pool launch at a time, backing off after failures, so a broken
Chromium does not spin the machine; and no more launches in all than ``launches`` says, if it
says (a program that reuses one browser wants it early, and no other).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from bu_cdp.server.chromium import launch as chromium
from bu_cdp.server.chromium import workdirs
from bu_cdp.server.chromium.cdp import CdpConnection, set_content_size

log = logging.getLogger("bu_cdp.server")

MAX_BACKOFF = 60.0


@dataclass
class WarmChromium:
    workdir: Path
    process: chromium.ChromiumProcess
    cdp: CdpConnection  # open while it waits, to resize it at once when handed out
    window_id: int
    window: tuple[int, int]
    niceness: int = 0  # what its launch was lowered to (0: not lowered), raised at hand-out
    _watcher: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def alive(self) -> bool:
        return self.process.process.returncode is None and not self.cdp.closed

    async def resize(self, window: tuple[int, int]) -> None:
        if window != self.window:
            await set_content_size(self.cdp, *window, window_id=self.window_id, timeout=10)
            self.window = window

    async def release_cdp(self) -> None:
        with contextlib.suppress(Exception):
            await self.cdp.close()

    async def discard_process(self) -> None:
        """Kill this Chromium; its work folder is left to whoever owns it now."""
        await self.release_cdp()
        await self.process.kill()

    async def discard(self) -> None:
        """Kill this Chromium and remove its work folder (off the event loop)."""
        await self.discard_process()
        await asyncio.to_thread(workdirs.remove, self.workdir)


Launcher = Callable[[], Awaitable[WarmChromium]]


class WarmPool:
    def __init__(self, size: int, launch: Launcher, launches: int | None = None) -> None:
        self.size = max(0, size)
        self._launches_left = launches  # None: no end
        self._launch = launch
        self._ready: collections.deque[WarmChromium] = collections.deque()
        self._filler: asyncio.Task[None] | None = None
        self._closed = False
        self._lent = 0  # taken by creates that have not said yet whether they keep them
        self.launching = False
        self._discarding: set[asyncio.Task[None]] = set()
        self._launch_ended: asyncio.Event | None = None  # set when the launch under way ends
        self._waiting = False  # a create waits for the launch under way

    @property
    def ready(self) -> int:
        return len(self._ready)

    def waiting(self) -> tuple[WarmChromium, ...]:
        """The pooled Chromiums ready to be handed out, oldest first."""
        return tuple(self._ready)

    def start(self) -> None:
        self._refill()

    def take(self) -> WarmChromium | None:
        """A live pooled Chromium, lent to the caller until ``keep`` or ``give_back``; or None."""
        taken = None
        while self._ready and taken is None:
            candidate = self._ready.popleft()
            if candidate._watcher is not None:
                candidate._watcher.cancel()
            if candidate.alive:
                taken = candidate
            else:
                task = asyncio.get_running_loop().create_task(candidate.discard())
                self._discarding.add(task)
                task.add_done_callback(self._discarding.discard)
        if taken is not None:
            self._lent += 1
        self._refill()  # for the dead ones dropped; a lent one is replaced once kept
        return taken

    async def take_soon(self) -> WarmChromium | None:
        """``take()``; but with none ready and one being launched, first wait for that one,
        which is ready sooner than a launch started now (and two launches at once slow both).
        One create waits so; another at the same time does not wait for a Chromium it would
        not get."""
        if not self._ready and self.launching and not self._waiting and not self._closed:
            self._waiting = True
            try:
                self._launch_ended = self._launch_ended or asyncio.Event()
                await self._launch_ended.wait()
            finally:
                self._waiting = False
        return self.take()

    def keep(self, warm: WarmChromium) -> None:
        """The caller keeps a Chromium it took: the pool launches a replacement."""
        self._lent -= 1
        self._refill()

    def give_back(self, warm: WarmChromium) -> bool:
        """Put a Chromium taken but not used back in front, still warm.

        False if the pool will not have it (it is closed, or the Chromium died): then it
        is still the caller's, to discard.
        """
        self._lent -= 1
        if self._closed or not warm.alive:
            self._refill()
            return False
        warm._watcher = asyncio.get_running_loop().create_task(self._watch(warm))
        self._ready.appendleft(warm)
        return True

    def _refill(self) -> None:
        if self._closed or self.size == 0 or self._launches_left == 0:
            return
        if self._filler is None or self._filler.done():
            self._filler = asyncio.get_running_loop().create_task(self._fill())

    async def _fill(self) -> None:
        failures = 0
        while not self._closed and len(self._ready) + self._lent < self.size:
            if self._launches_left == 0:
                return
            if self._launches_left is not None:
                self._launches_left -= 1  # a failed launch counts too: no retry past it
            self.launching = True
            try:
                warm = await self._launch()
            except Exception as exc:
                failures += 1
                backoff = min(MAX_BACKOFF, 2.0 ** (failures - 1))
                log.warning("warm pool: Chromium did not start (%s); retrying in %gs", exc, backoff)
                self.launching = False
                await asyncio.sleep(backoff)
                continue
            finally:
                self.launching = False
                # Woken waiters run after this task's next await: the Chromium is in by then.
                if self._launch_ended is not None:
                    self._launch_ended.set()
                    self._launch_ended = None
            failures = 0
            if self._closed:
                await warm.discard()
                return
            warm._watcher = asyncio.get_running_loop().create_task(self._watch(warm))
            self._ready.append(warm)

    async def _watch(self, warm: WarmChromium) -> None:
        """A pooled Chromium that dies while waiting is replaced, not handed out."""
        code = await warm.process.process.wait()
        if warm in self._ready:
            self._ready.remove(warm)
            log.warning("warm pool: an idle Chromium exited (code %s); replacing it", code)
            await warm.discard()
            self._refill()

    async def close(self) -> None:
        """Kill every pooled Chromium and stop refilling: the server is going away."""
        self._closed = True
        if self._filler is not None:
            self._filler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._filler
        while self._ready:
            warm = self._ready.popleft()
            if warm._watcher is not None:
                warm._watcher.cancel()
            await warm.discard()
        await asyncio.gather(*self._discarding, return_exceptions=True)
