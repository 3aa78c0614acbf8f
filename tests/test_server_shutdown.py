"""A browser's ending is never cut short: not by a cancelled stop, not by a server shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import sync_playwright

from bu_cdp import BrowserUse
from bu_cdp.models import BrowserStatus
from bu_cdp.server.browsers import head_start
from bu_cdp.server.browsers.hooks import BrowserHooks
from bu_cdp.server.browsers.manager import BrowserManager
from bu_cdp.server.browsers.record import ManagedBrowser
from bu_cdp.server.config import ServerConfig
from bu_cdp.server.shared.problems import ApiProblem
from bu_cdp.server.shared.schemas import BrowserCreateRequest
from bu_cdp.server.thread import ServerThread
from tests.support.pages import PageServer
from tests.support.processes import live_chromiums


class SlowEnding(BrowserHooks):
    """Its ``finished`` lasts until the server is shutting down, as a long save would."""

    def __init__(self, manager: BrowserManager) -> None:
        self.manager = manager
        self.ending = threading.Event()

    async def finished(self, browser: ManagedBrowser) -> None:
        self.ending.set()
        while not self.manager.closing:
            await asyncio.sleep(0.02)


def test_a_shutdown_while_a_profile_browser_is_stopping_still_saves_the_profile(
    make_server: Callable[..., ServerThread], pages: PageServer, tmp_path: Path
) -> None:
    """The stop request is cancelled by the server's shutdown (at the end of uvicorn's grace
    period), yet the ending goes on: the login is saved in the profile before the store
    closes."""
    data = tmp_path / "data"
    config = ServerConfig(api_key=secrets.token_urlsafe(16), port=0, data_dir=data)
    with sync_playwright() as pw, ServerThread(config, timeout_graceful_shutdown=0.5) as first:
        slow = SlowEnding(first.manager)
        first.manager.hooks.append(slow)  # last, so its ``finished`` runs before the save
        with BrowserUse(base_url=first.base_url, api_key=config.api_key) as client:
            profile = client.profiles.create("shop")
            browser = client.browsers.create(profile_id=profile.id)
        remote = pw.chromium.connect_over_cdp(browser.cdp_url or "")
        page = remote.contexts[0].pages[0]
        page.goto(pages.url + "/login?user=alice")
        assert page.title() == "Logged in"
        remote.close()

        def stop() -> None:
            url = f"{first.base_url}/browsers/{browser.id}/stop"
            # The server cancels this request as it shuts down: no answer (or a 500) comes.
            with contextlib.suppress(httpx.HTTPError):
                httpx.post(url, headers={"X-Browser-Use-API-Key": config.api_key}, timeout=60)

        stopper = threading.Thread(target=stop)
        stopper.start()
        assert slow.ending.wait(30), "the stop never reached the hooks"
        first.stop()  # while the browser is still ending
        stopper.join(30)
        assert not first.running

        second = make_server(data_dir=data)
        with BrowserUse(base_url=second.base_url, api_key=second.config.api_key) as client:
            again = client.browsers.create(profile_id=profile.id)  # 409 had the lock leaked
            try:
                remote = pw.chromium.connect_over_cdp(again.cdp_url or "")
                page = remote.contexts[0].pages[0]
                page.goto(pages.url + "/whoami")
                assert page.title() == "alice"  # the cookie was saved
                remote.close()
            finally:
                client.browsers.stop(again.id or "")


class Gate:
    """An awaitable barrier the test opens, with news of who arrived at it."""

    def __init__(self) -> None:
        self.arrived = asyncio.Event()
        self.open = asyncio.Event()

    async def pass_through(self) -> None:
        self.arrived.set()
        await self.open.wait()


class Notes(BrowserHooks):
    """Notes the calls it gets in order; ``started`` may be held at a gate."""

    def __init__(self, started_gate: Gate | None = None) -> None:
        self.calls: list[str] = []
        self.started_gate = started_gate
        self.browsers: list[ManagedBrowser] = []

    async def started(self, browser: ManagedBrowser) -> None:
        self.browsers.append(browser)
        if self.started_gate is not None:
            await self.started_gate.pass_through()
        self.calls.append("started")

    async def finished(self, browser: ManagedBrowser) -> None:
        self.calls.append("finished")


def _manager(*hooks: BrowserHooks) -> BrowserManager:
    return BrowserManager(ServerConfig(api_key="k", port=0, max_browsers=1), list(hooks))


def _gone(browser: ManagedBrowser) -> bool:
    assert browser.process is not None
    return browser.process.pid not in live_chromiums() and not browser.workdir.exists()


async def test_a_cancelled_stop_still_ends_the_browser_and_shutdown_waits_for_it() -> None:
    notes = Notes()
    manager = _manager(notes)
    browser = await manager.create(BrowserCreateRequest())
    try:
        relay_closing = Gate()  # stands for a relay that is slow to close
        browser.closers.add(relay_closing.pass_through)
        stopping = asyncio.create_task(manager.stop(browser.id))
        await relay_closing.arrived.wait()
        stopping.cancel()  # what uvicorn does to a request at the end of its grace period
        with pytest.raises(asyncio.CancelledError):
            await stopping

        shutdown = asyncio.create_task(manager.shutdown())
        await asyncio.sleep(0.2)
        assert not shutdown.done(), "shutdown did not wait for the browser being stopped"
        relay_closing.open.set()
        await shutdown
    finally:
        await manager.shutdown()
    assert browser.status == BrowserStatus.STOPPED
    assert notes.calls == ["started", "finished"]
    assert _gone(browser)  # Chromium killed and the work folder removed all the same
    assert manager.admission.in_use == 0
    assert (await manager.stop(browser.id)) is browser  # a later stop answers at once


async def test_a_shutdown_during_a_create_ends_the_browser_after_its_hooks_started() -> None:
    hold = Gate()
    notes = Notes(started_gate=hold)
    manager = _manager(notes)
    creating = asyncio.create_task(manager.create(BrowserCreateRequest()))
    try:
        await hold.arrived.wait()
        shutdown = asyncio.create_task(manager.shutdown())
        await asyncio.sleep(0.2)
        assert not shutdown.done(), "shutdown did not wait for the browser being created"
        hold.open.set()
        with pytest.raises(ApiProblem) as refused:
            await creating
        assert refused.value.status_code == 503
        await shutdown
    finally:
        hold.open.set()
        await manager.shutdown()
        await asyncio.gather(creating, return_exceptions=True)
    # A hook's ``finished`` comes after its ``started``, never before (a recording started
    # after its ``finished`` would never end), and the browser is gone.
    assert notes.calls == ["started", "finished"]
    [browser] = notes.browsers
    assert browser.status == BrowserStatus.ERROR and _gone(browser)


async def test_a_chromium_started_ahead_that_no_pool_takes_ends_with_the_server() -> None:
    early = await head_start.begin()
    assert early is not None and early.process.pid in live_chromiums()
    await _manager().shutdown()  # a pool of none: nothing took it
    assert early.process.pid not in live_chromiums()
    assert not early.workdir.exists()
