"""The life of every browser the server runs: launch, watch, time out, stop, clean up.

Features that need a say in a browser's life (profiles, proxies, recording, billing) plug in
as ``BrowserHooks`` instead of growing this module: each may add to the launch plan, learn
that the browser started, and is told exactly once that it finished, however it finished.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import shutil
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bu_cdp.models import BrowserStatus
from bu_cdp.server import chromium
from bu_cdp.server.cdp import CdpConnection, set_content_size
from bu_cdp.server.config import ServerConfig
from bu_cdp.server.problems import ApiProblem, not_found
from bu_cdp.server.schemas import BrowserCreateRequest

log = logging.getLogger("bu_cdp.server")

DEFAULT_WINDOW = (1280, 720)


@dataclass
class ManagedBrowser:
    id: str
    token: str  # the secret in the browser's cdp_url and live_url
    request: BrowserCreateRequest
    workdir: Path  # removed when the browser finishes
    timeout_minutes: int
    window: tuple[int, int]
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    status: BrowserStatus = BrowserStatus.ACTIVE
    stopped_at: datetime | None = None
    reason: str | None = None  # why it ended, when it did not end by a stop
    # Addresses hooks publish on the Browser object, as paths on this server
    # (for example "live_url": "/live/<id>/<token>"); the routes make them absolute.
    links: dict[str, str] = field(default_factory=dict)
    process: chromium.ChromiumProcess | None = None
    # Close Chromium over CDP before killing it, so it writes its profile out (set by hooks
    # whose user data must survive the browser, such as profiles).
    graceful_close: bool = False
    # Closers of open CDP relays and live views, run when the browser ends.
    closers: set[Callable[[], Awaitable[None]]] = field(default_factory=set)
    _ending: bool = False
    _ended: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.status == BrowserStatus.ACTIVE and not self._ending

    @property
    def user_data_dir(self) -> Path:
        return self.workdir / "user-data"

    def lifetime_seconds(self) -> float:
        end = self.stopped_at or datetime.now(UTC)
        return (end - self.created_at).total_seconds()


class BrowserHooks:
    """A feature's say in a browser's life. Every method is optional."""

    async def prepare(self, browser: ManagedBrowser, plan: chromium.LaunchPlan) -> None:
        """Before launch: check the request (raise ApiProblem) and add to the plan."""

    async def started(self, browser: ManagedBrowser) -> None:
        """After Chromium is up and sized, before the create is answered."""

    async def finished(self, browser: ManagedBrowser) -> None:
        """Once, after Chromium is gone, whatever ended it (stop, timeout, crash, failure)."""


class BrowserManager:
    def __init__(self, config: ServerConfig, hooks: list[BrowserHooks] | None = None) -> None:
        self.config = config
        self.hooks = list(hooks or [])
        self._browsers: dict[str, ManagedBrowser] = {}
        self._executable: str | None = None

    # -- queries -------------------------------------------------------------------------

    def get(self, browser_id: str) -> ManagedBrowser:
        browser = self._browsers.get(browser_id)
        if browser is None:
            raise not_found("Browser", browser_id)
        return browser

    def active(self) -> list[ManagedBrowser]:
        return [b for b in self._browsers.values() if b.active]

    def authorize(self, browser_id: str, token: str) -> ManagedBrowser | None:
        """The active browser this token opens, or None; constant-time on the token."""
        from bu_cdp.server.auth import token_matches

        browser = self._browsers.get(browser_id)
        if browser is None or not token_matches(token, browser.token) or not browser.active:
            return None
        return browser

    # -- create --------------------------------------------------------------------------

    async def create(self, request: BrowserCreateRequest) -> ManagedBrowser:
        started = time.monotonic()
        browser = self._new_browser(request)
        prepared: list[BrowserHooks] = []
        try:
            plan = chromium.LaunchPlan(
                executable=self._chromium(),
                user_data_dir=browser.user_data_dir,
                log_path=browser.workdir / "chromium.log",
                window=browser.window,
            )
            for hook in self.hooks:
                await hook.prepare(browser, plan)
                prepared.append(hook)
            browser.process = await self._launch(plan)
            await self._size_window(browser)
            self._browsers[browser.id] = browser
            for hook in self.hooks:
                await hook.started(browser)
        except BaseException:
            browser.status = BrowserStatus.ERROR
            await self._finish(browser, prepared)
            self._browsers.pop(browser.id, None)
            raise
        browser._tasks.append(asyncio.create_task(self._watch_exit(browser)))
        browser._tasks.append(asyncio.create_task(self._expire(browser)))
        log.info(
            "browser %s started in %.2fs (pid %s)",
            browser.id,
            time.monotonic() - started,
            browser.process.pid,
        )
        return browser

    def _new_browser(self, request: BrowserCreateRequest) -> ManagedBrowser:
        width = request.browser_screen_width or DEFAULT_WINDOW[0]
        height = request.browser_screen_height or DEFAULT_WINDOW[1]
        return ManagedBrowser(
            id=str(uuid.uuid4()),
            token=secrets.token_urlsafe(32),
            request=request,
            workdir=Path(tempfile.mkdtemp(prefix="bu-cdp-browser-")),
            timeout_minutes=request.timeout or self.config.default_timeout_minutes,
            window=(width, height),
        )

    def _chromium(self) -> str:
        if self._executable is None:
            try:
                self._executable = chromium.find_chromium(self.config.chromium)
            except Exception as exc:
                raise ApiProblem(503, str(exc)) from exc
        return self._executable

    async def _launch(self, plan: chromium.LaunchPlan) -> chromium.ChromiumProcess:
        """Launch, and once more if the first start fails: a cold start can stumble."""
        for attempt in (1, 2):
            try:
                return await chromium.launch(plan, self.config.launch_timeout)
            except chromium.LaunchError as exc:
                tail = chromium.log_tail(plan.log_path)
                log.warning("Chromium launch attempt %d failed: %s %s", attempt, exc, tail)
                if attempt == 2:
                    detail = f"Chromium failed to start: {exc}" + (f" ({tail})" if tail else "")
                    raise ApiProblem(503, detail) from exc
        raise AssertionError("unreachable")

    async def _size_window(self, browser: ManagedBrowser) -> None:
        assert browser.process is not None
        cdp = await CdpConnection.connect(browser.process.ws_url)
        try:
            await set_content_size(cdp, *browser.window)
        except Exception as exc:  # an older Chromium without Browser.setContentsSize
            log.warning("could not size the window of browser %s: %s", browser.id, exc)
        finally:
            await cdp.close()

    # -- end -----------------------------------------------------------------------------

    async def stop(
        self,
        browser_id: str,
        status: BrowserStatus = BrowserStatus.STOPPED,
        reason: str | None = None,
    ) -> ManagedBrowser:
        """Stop a browser; stopping one that already ended changes nothing."""
        browser = self.get(browser_id)
        if browser.active:
            browser.status = status
            browser.reason = reason
            await self._finish(browser, self.hooks)
            log.info("browser %s %s after %.1fs", browser.id, status, browser.lifetime_seconds())
        else:
            await browser._ended.wait()  # a stop under way elsewhere: answer when it is done
        return browser

    async def _finish(self, browser: ManagedBrowser, hooks: list[BrowserHooks]) -> None:
        browser._ending = True
        browser.stopped_at = datetime.now(UTC)
        current = asyncio.current_task()
        for task in browser._tasks:
            if task is not current:
                task.cancel()
        for close in list(browser.closers):
            with contextlib.suppress(Exception):
                await close()
        if browser.process is not None:
            if browser.graceful_close:
                await browser.process.close_gracefully()
            await browser.process.kill()
        for hook in reversed(hooks):
            try:
                await hook.finished(browser)
            except Exception:
                log.exception("cleanup of browser %s by %s failed", browser.id, hook)
        shutil.rmtree(browser.workdir, ignore_errors=True)
        browser._ended.set()

    async def _watch_exit(self, browser: ManagedBrowser) -> None:
        assert browser.process is not None
        code = await browser.process.process.wait()
        if browser.active:
            reason = f"Chromium exited unexpectedly (exit code {code})"
            log.warning("browser %s: %s", browser.id, reason)
            await self.stop(browser.id, BrowserStatus.ERROR, reason)

    async def _expire(self, browser: ManagedBrowser) -> None:
        await asyncio.sleep(browser.timeout_minutes * self.config.minute_seconds)
        if browser.active:
            reason = f"timeout of {browser.timeout_minutes} minute(s) reached"
            await self.stop(browser.id, BrowserStatus.TIMED_OUT, reason)

    async def shutdown(self) -> None:
        """Stop every browser: the server is going away."""
        await asyncio.gather(
            *(self.stop(b.id, reason="server shut down") for b in self.active()),
            return_exceptions=True,
        )
