"""The life of every browser the server runs: launch, watch, time out, stop, clean up.

Features that need a say in a browser's life (profiles, proxies, recording, billing) plug in
as ``BrowserHooks`` instead of growing this module: each may add to the launch plan, learn
that the browser started, and is told exactly once that it finished, however it finished.

A create first lets every hook ``check`` the request (cheap refusals: no slot, no Chromium
spent on a request that cannot succeed), then takes a slot (``admission``: the
``max_browsers`` limit and its queue), then either takes a pre-launched Chromium from the
warm pool or launches one. Hooks see both kinds alike; a hook says a request needs its own
launch with ``needs_cold_launch``.

Ending a browser runs as a task of the manager's own, never inside the request (or timer)
that asked for it: a client that goes away, or a server that cancels its requests to shut
down, cannot cut an ending short, and shutdown waits for every ending under way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import signal
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from bu_cdp.models import BrowserStatus
from bu_cdp.server.browsers import head_start
from bu_cdp.server.browsers.admission import Admission, Slot
from bu_cdp.server.browsers.hooks import BrowserHooks
from bu_cdp.server.browsers.metrics import ServerMetrics
from bu_cdp.server.browsers.pool import WarmChromium, WarmPool
from bu_cdp.server.browsers.record import ManagedBrowser
from bu_cdp.server.chromium import isolation, priority, workdirs
from bu_cdp.server.chromium import launch as chromium
from bu_cdp.server.chromium.cdp import CdpConnection, CdpError, page_window, set_content_size
from bu_cdp.server.config import ServerConfig
from bu_cdp.server.shared.auth import token_matches
from bu_cdp.server.shared.problems import ApiProblem, not_found
from bu_cdp.server.shared.schemas import BrowserCreateRequest

log = logging.getLogger("bu_cdp.server")

DEFAULT_WINDOW = chromium.DEFAULT_WINDOW


class BrowserManager:
    def __init__(self, config: ServerConfig, hooks: list[BrowserHooks] | None = None) -> None:
        self.config = config
        self.hooks = list(hooks or [])
        self.metrics = ServerMetrics()
        self.admission = Admission(config.max_browsers, config.max_queued, config.queue_timeout)
        self.pool = WarmPool(config.warm, self._launch_warm, config.warm_launches)
        self._browsers: dict[str, ManagedBrowser] = {}
        # Every browser from its creation until its ending is complete, starting ones
        # included: what shutdown waits for before the store closes.
        self._unended: dict[str, ManagedBrowser] = {}
        self._executable: str | None = None
        self._closing = False

    async def start(self) -> None:
        """At server start: clear what a killed predecessor left, start filling the pool.

        Also looks up, in a thread, how Chromium is tied to this process's life (it runs
        setpriv once), so no chromium.launch does that on the event loop.
        """
        await asyncio.gather(
            asyncio.to_thread(workdirs.sweep_stale),
            asyncio.to_thread(chromium.parent_death_prefix),
            asyncio.to_thread(isolation.status),
        )
        self.pool.start()

    # -- queries -------------------------------------------------------------------------

    def get(self, browser_id: str) -> ManagedBrowser:
        browser = self._browsers.get(browser_id)
        if browser is None:
            raise not_found("Browser", browser_id)
        return browser

    def active(self) -> list[ManagedBrowser]:
        return [b for b in self._browsers.values() if b.active]

    @property
    def closing(self) -> bool:
        return self._closing

    def snapshot(self) -> dict[str, object]:
        """The figures of the metrics endpoint."""
        m = self.metrics
        return {
            "active_browsers": len(self.active()),
            "max_browsers": self.admission.limit,
            "queued_creates": self.admission.queued,
            "pool_ready": self.pool.ready,
            "pool_target": self.pool.size,
            "pool_launching": int(self.pool.launching),
            "launches": m.launches,
            "launch_failures": m.launch_failures,
            "crashes": m.crashes,
            "timeouts": m.timeouts,
            "creates": m.creates,
            "creates_from_pool": m.creates_from_pool,
            "creates_rejected": self.admission.rejected,
            "creates_failed": m.creates_failed,
            "cdp_connections": m.cdp_connections,
            "create_latency_ms": m.latency_ms(),
        }

    def authorize(self, browser_id: str, token: str) -> ManagedBrowser | None:
        """The active browser this token opens, or None; constant-time on the token."""
        browser = self._browsers.get(browser_id)
        if browser is None or not token_matches(token, browser.token) or not browser.active:
            return None
        return browser

    # -- create --------------------------------------------------------------------------

    async def create(self, request: BrowserCreateRequest) -> ManagedBrowser:
        started = time.monotonic()
        for hook in self.hooks:
            await hook.check(request)  # a request that cannot succeed waits for nothing
        slot = await self.admission.acquire()  # 429 past the limit and its queue
        try:
            browser = await self._start(request, slot)
        except BaseException:
            self.metrics.creates_failed += 1
            raise
        self.metrics.created(time.monotonic() - started, browser.from_pool)
        log.info(
            "browser %s started in %.2fs (pid %s%s)",
            browser.id,
            time.monotonic() - started,
            browser.process.pid if browser.process else "?",
            ", from the warm pool" if browser.from_pool else "",
        )
        return browser

    def fits_pool(self, request: BrowserCreateRequest) -> bool:
        """Can a plain pre-launched Chromium serve this request? (Not if a hook says no.)"""
        return not any(hook.needs_cold_launch(request) for hook in self.hooks)

    async def _start(self, request: BrowserCreateRequest, slot: Slot) -> ManagedBrowser:
        """Start a browser in this slot; on any failure it is ended, and the slot freed."""
        try:
            fits = self.pool.size and self.fits_pool(request)
            warm = await self.pool.take_soon() if fits else None
            browser = self._new_browser(request, warm.workdir if warm else workdirs.create())
        except BaseException:
            slot.release()
            raise
        browser._slot = slot  # given back by the browser's ending, however it ends
        self._unended[browser.id] = browser
        prepared: list[BrowserHooks] = []
        try:
            plan = self._plan(browser.workdir, browser.window)
            as_launched = _launch_identity(plan)
            try:
                for hook in self.hooks:
                    await hook.prepare(browser, plan)
                    prepared.append(hook)
            except BaseException:
                # Refused before it was used: the next create may have it, still warm.
                if warm is not None and self.pool.give_back(warm):
                    browser._keeps_workdir, warm = True, None
                raise
            if warm is not None:
                self.pool.keep(warm)  # this browser's now: the pool launches a replacement
            if warm is not None and _launch_identity(plan) != as_launched:
                log.info("a hook changed how browser %s launches: no warm Chromium", browser.id)
                await warm.discard_process()
                warm = None
            if warm is not None:
                try:
                    await warm.resize(browser.window)
                    if warm.niceness:  # in use now: full priority
                        await asyncio.to_thread(priority.restore, warm.process.pid, warm.niceness)
                    browser.process, browser.from_pool = warm.process, True
                except (CdpError, OSError, TimeoutError) as exc:
                    log.warning("a warm Chromium failed at hand-out (%s); launching one", exc)
                    await warm.discard_process()
                    warm = None
                finally:
                    if warm is not None:
                        await warm.release_cdp()
            if browser.process is None:
                browser.process = await self._launch(plan)
                await self._size_window(browser)
            if self._closing:
                raise ApiProblem(503, "The server is shutting down")
            for hook in self.hooks:
                await hook.started(browser)
            # Known by id (so stoppable) only now: a stop never runs the ``finished`` hooks
            # while ``started`` ones still run. A shutdown meanwhile is seen here instead.
            if self._closing:
                raise ApiProblem(503, "The server is shutting down")
            self._browsers[browser.id] = browser
        except BaseException:
            if warm is not None and browser.process is None:
                # Cut short while being handed out: the ending kills it with the work folder.
                browser.process = warm.process
                browser.closers.add(warm.release_cdp)
            await asyncio.shield(
                self._end(browser, prepared, BrowserStatus.ERROR, "could not start")
            )
            raise
        browser._tasks.append(asyncio.create_task(self._watch_exit(browser)))
        browser._tasks.append(asyncio.create_task(self._expire(browser)))
        return browser

    def _new_browser(self, request: BrowserCreateRequest, workdir: Path) -> ManagedBrowser:
        width = request.browser_screen_width or DEFAULT_WINDOW[0]
        height = request.browser_screen_height or DEFAULT_WINDOW[1]
        return ManagedBrowser(
            id=str(uuid.uuid4()),
            token=secrets.token_urlsafe(32),
            request=request,
            workdir=workdir,
            timeout_minutes=request.timeout or self.config.default_timeout_minutes,
            window=(width, height),
        )

    def _plan(self, workdir: Path, window: tuple[int, int]) -> chromium.LaunchPlan:
        return chromium.plan_in(workdir, self._chromium(), window, workdirs.uid_of(workdir))

    def _chromium(self) -> str:
        if self._executable is None:
            try:
                self._executable = chromium.find_chromium(self.config.chromium)
            except Exception as exc:
                self.metrics.launch_failures += 1
                raise ApiProblem(503, str(exc)) from exc
        return self._executable

    async def _launch(self, plan: chromium.LaunchPlan) -> chromium.ChromiumProcess:
        """Launch, and once more if the first start fails: a cold start can stumble."""
        for attempt in (1, 2):
            self.metrics.launches += 1
            try:
                return await chromium.launch(plan, self.config.launch_timeout)
            except chromium.LaunchError as exc:
                self.metrics.launch_failures += 1
                tail = chromium.log_tail(plan.log_path)
                log.warning("Chromium chromium.launch attempt %d failed: %s %s", attempt, exc, tail)
                if attempt == 2:
                    detail = f"Chromium failed to start: {exc}" + (f" ({tail})" if tail else "")
                    raise ApiProblem(503, detail) from exc
        raise AssertionError("unreachable")

    async def _size_window(self, browser: ManagedBrowser) -> None:
        assert browser.process is not None
        cdp = await CdpConnection.open(browser.process.pipe)
        try:
            await set_content_size(cdp, *browser.window)
        except Exception as exc:  # an older Chromium without Browser.setContentsSize
            log.warning("could not size the window of browser %s: %s", browser.id, exc)
        finally:
            await cdp.close()

    async def _launch_warm(self) -> WarmChromium:
        """One plain Chromium for the pool, sized to the default window, CDP open: the one
        started ahead of the server (``head_start``) if there is one."""
        early = await head_start.take(self.config.launch_timeout)
        workdir = early.workdir if early is not None else workdirs.create()
        process: chromium.ChromiumProcess | None = None
        cdp: CdpConnection | None = None
        niceness = 0
        try:
            if early is not None:
                self.metrics.launches += 1
                process = early.process
            else:
                plan = self._plan(workdir, DEFAULT_WINDOW)
                # A refill starts while a test runs: lowered, it takes only the CPU the
                # browsers in use leave idle, on a small machine the difference between the two.
                if priority.can_raise_priority():
                    plan.niceness = niceness = priority.POOL_NICENESS
                process = await self._launch(plan)
            cdp = await CdpConnection.open(process.pipe)
            window_id = await page_window(cdp)
            if window_id is None:
                raise chromium.LaunchError("the new Chromium has no page")
            await set_content_size(cdp, *DEFAULT_WINDOW, window_id=window_id)
            return WarmChromium(workdir, process, cdp, window_id, DEFAULT_WINDOW, niceness)
        except BaseException:
            if cdp is not None:
                with contextlib.suppress(Exception):
                    await cdp.close()
            if process is not None:
                await process.kill()
            await asyncio.to_thread(workdirs.remove, workdir)
            raise

    # -- end -----------------------------------------------------------------------------

    async def stop(
        self,
        browser_id: str,
        status: BrowserStatus = BrowserStatus.STOPPED,
        reason: str | None = None,
    ) -> ManagedBrowser:
        """Stop a browser; stopping one that already ended changes nothing.

        Returns once the browser has ended. Cancelling the caller does not cut the ending
        short: it runs in a task of the manager's own, which ``shutdown`` waits for.
        """
        browser = self.get(browser_id)
        if browser.active:
            await asyncio.shield(self._end(browser, self.hooks, status, reason))
            log.info("browser %s %s after %.1fs", browser.id, status, browser.lifetime_seconds())
        else:
            await browser._ended.wait()  # a stop under way elsewhere: answer when it is done
        return browser

    def _end(
        self,
        browser: ManagedBrowser,
        hooks: list[BrowserHooks],
        status: BrowserStatus,
        reason: str | None,
    ) -> asyncio.Task[None]:
        """The task that ends this browser, started by the first call; later calls join it."""
        if browser._ending_task is None:
            browser.stopped_at = datetime.now(UTC)
            browser._ending_task = asyncio.create_task(  # its token stops working now
                self._finish(browser, hooks, status, reason), name=f"end browser {browser.id}"
            )
        return browser._ending_task

    async def _finish(
        self,
        browser: ManagedBrowser,
        hooks: list[BrowserHooks],
        status: BrowserStatus,
        reason: str | None,
    ) -> None:
        """End a browser: its sockets, its Chromium, its slot; then its status, hooks, files.

        The status changes only once Chromium is gone, so ``stopped`` / ``timed_out`` /
        ``error`` mean no process is left.
        """
        process = browser.process
        try:
            for task in browser._tasks:
                task.cancel()
            for close in list(browser.closers):
                with contextlib.suppress(Exception):
                    await close()
            if process is not None:
                if browser.graceful_close:
                    await process.close_gracefully()
                await process.kill()
                process = None
            browser.status, browser.reason = status, reason
            if browser._slot is not None:
                browser._slot.release()
            for hook in reversed(hooks):
                try:
                    await hook.finished(browser)
                except Exception:
                    log.exception("cleanup of browser %s by %s failed", browser.id, hook)
            if not browser._keeps_workdir:
                await asyncio.to_thread(workdirs.remove, browser.workdir)
        finally:
            if process is not None:  # cut short before its Chromium was killed
                chromium.kill_group(process.pid)
            if browser._slot is not None:
                browser._slot.release()
            self._unended.pop(browser.id, None)
            browser._ended.set()

    async def _watch_exit(self, browser: ManagedBrowser) -> None:
        assert browser.process is not None
        code = await browser.process.process.wait()
        if browser.active:
            reason = f"Chromium exited unexpectedly ({_exit_cause(code)})"
            log.warning("browser %s: %s", browser.id, reason)
            self.metrics.crashes += 1
            await self.stop(browser.id, BrowserStatus.ERROR, reason)

    async def _expire(self, browser: ManagedBrowser) -> None:
        await asyncio.sleep(browser.timeout_minutes * self.config.minute_seconds)
        if browser.active:
            reason = f"timeout of {browser.timeout_minutes} minute(s) reached"
            self.metrics.timeouts += 1
            await self.stop(browser.id, BrowserStatus.TIMED_OUT, reason)

    async def shutdown(self) -> None:
        """Stop every browser and empty the pool: the server is going away.

        Returns once every browser has ended, those already ending and those still
        starting included, so their hooks (a profile's save, the ledger) run before the
        store closes.
        """
        self._closing = True
        self.admission.close()
        await asyncio.gather(
            self.pool.close(),
            head_start.discard(),  # a server that ends before its pool took it
            *(self.stop(b.id, reason="server shut down") for b in self.active()),
            return_exceptions=True,
        )
        while self._unended:
            await asyncio.gather(*(b._ended.wait() for b in list(self._unended.values())))


def _launch_identity(plan: chromium.LaunchPlan) -> tuple[object, ...]:
    """What a pooled Chromium was started with; the window is set later, so it is not here."""
    return (
        plan.executable,
        plan.user_data_dir,
        tuple(plan.extra_args),
        tuple(sorted(plan.env.items())),
        plan.start_url,
    )


def _exit_cause(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
        return f"killed by signal {-code}"
    return f"exit code {code}"
