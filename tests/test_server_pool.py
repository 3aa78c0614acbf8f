"""The warm pool, the screen size the page sees, and hooks on pooled browsers."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import sync_playwright

from bu_cdp import BrowserUse
from bu_cdp.server.browsers.hooks import BrowserHooks
from bu_cdp.server.browsers.record import ManagedBrowser
from bu_cdp.server.chromium.launch import LaunchPlan
from bu_cdp.server.chromium.priority import POOL_NICENESS, can_raise_priority, restore
from bu_cdp.server.shared.schemas import BrowserCreateRequest
from bu_cdp.server.thread import ServerThread
from tests.support import processes
from tests.support.pages import PageServer
from tests.support.processes import live_chromiums
from tests.support.waiting import wait_until


def client_for(server: ServerThread) -> BrowserUse:
    return BrowserUse(base_url=server.base_url, api_key=server.config.api_key)


def pool_ready(server: ServerThread) -> int:
    return server.manager.pool.ready


def pooled_pids(server: ServerThread) -> list[int]:
    return [warm.process.pid for warm in server.manager.pool.waiting()]


def page_size(cdp_url: str, pages: PageServer) -> tuple[list[int], str]:
    """What the default page measures, before and after loading a page that reports it."""
    with sync_playwright() as pw:
        remote = pw.chromium.connect_over_cdp(cdp_url)
        page = remote.contexts[0].pages[0]
        inner = page.evaluate("[innerWidth, innerHeight]")
        page.goto(pages.url + "/size")
        title = page.title()
        remote.close()
    return inner, title


def test_the_pool_hands_out_a_browser_of_the_asked_size_and_refills(
    make_server: Callable[..., ServerThread], pages: PageServer
) -> None:
    server = make_server(warm=1)
    wait_until(lambda: pool_ready(server) == 1, 30, "the pool to fill")
    [warm_pid] = pooled_pids(server)
    with client_for(server) as client:
        browser = client.browsers.create(
            browser_screen_width=1024, browser_screen_height=700, timeout=5
        )
        managed = server.manager.get(browser.id or "")
        assert managed.from_pool
        assert managed.process is not None and managed.process.pid == warm_pid

        assert page_size(browser.cdp_url or "", pages) == ([1024, 700], "1024x700")

        wait_until(lambda: pool_ready(server) == 1, 30, "the pool to refill")
        assert pooled_pids(server) != [warm_pid]
        metrics = server.manager.snapshot()
        assert (metrics["creates_from_pool"], metrics["pool_target"]) == (1, 1)
        client.browsers.stop(browser.id or "")

    # A profile or a proxy is part of a Chromium's launch: such creates never take from it.
    for fields in (
        {"profile_id": "p"},
        {"proxy_country_code": "us"},
        {"custom_proxy": {"host": "proxy.local", "port": 8080}},
    ):
        assert not server.manager.fits_pool(BrowserCreateRequest.model_validate(fields))
    assert server.manager.fits_pool(BrowserCreateRequest(enable_recording=True))

    refilled = pooled_pids(server)
    workdirs = [warm.workdir for warm in server.manager.pool.waiting()]
    server.stop()
    assert not set(refilled) & set(live_chromiums())  # the pool dies with the server
    assert not any(path.exists() for path in workdirs)


def test_the_screen_size_is_what_a_cold_page_sees(api: dict[str, str], pages: PageServer) -> None:
    with BrowserUse(**api) as client:
        browser = client.browsers.create(
            browser_screen_width=900, browser_screen_height=650, timeout=5
        )
        try:
            assert page_size(browser.cdp_url or "", pages) == ([900, 650], "900x650")
        finally:
            client.browsers.stop(browser.id or "")


class RecordingHooks(BrowserHooks):
    """A feature plugged into browsers' lives, as profiles, proxies and billing are."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def needs_cold_launch(self, request: BrowserCreateRequest) -> bool:
        return request.timeout == 7  # stands for "this request needs launch flags"

    async def prepare(self, browser: ManagedBrowser, plan: LaunchPlan) -> None:
        self.calls.append(("prepare", browser.id))
        if browser.request.timeout == 8:  # changes the launch without having said so
            plan.extra_args.append("--user-agent=changed-by-a-hook")

    async def started(self, browser: ManagedBrowser) -> None:
        self.calls.append(("started", browser.id, browser.from_pool))

    async def finished(self, browser: ManagedBrowser) -> None:
        self.calls.append(("finished", browser.id, browser.status.value))


def test_hooks_see_pooled_browsers_and_decide_which_need_a_cold_launch(
    make_server: Callable[..., ServerThread],
) -> None:
    server = make_server(warm=1)
    hooks = RecordingHooks()
    server.manager.hooks.append(hooks)
    # A hook's needs_cold_launch keeps a request away from the pool, like a profile does.
    assert not server.manager.fits_pool(BrowserCreateRequest(timeout=7))
    assert server.manager.fits_pool(BrowserCreateRequest(timeout=9))

    wait_until(lambda: pool_ready(server) == 1, 30, "the pool to fill")
    with client_for(server) as client:
        # A hook that changes the launch of a pooled browser gets a Chromium launched for it.
        changed = client.browsers.create(timeout=8)
        assert not server.manager.get(changed.id or "").from_pool
        with sync_playwright() as pw:
            remote = pw.chromium.connect_over_cdp(changed.cdp_url or "")
            agent = remote.contexts[0].pages[0].evaluate("navigator.userAgent")
            remote.close()
        assert agent == "changed-by-a-hook"
        client.browsers.stop(changed.id or "")

        wait_until(lambda: pool_ready(server) == 1, 30, "the pool to refill")
        pooled = client.browsers.create(timeout=5)
        assert server.manager.get(pooled.id or "").from_pool
        client.browsers.stop(pooled.id or "")
    assert hooks.calls == [
        ("prepare", changed.id),
        ("started", changed.id, False),
        ("finished", changed.id, "stopped"),
        ("prepare", pooled.id),
        ("started", pooled.id, True),
        ("finished", pooled.id, "stopped"),
    ]


def test_a_create_while_the_pool_launches_takes_that_chromium(
    make_server: Callable[..., ServerThread],
) -> None:
    """Sent as the server starts (a test suite's first browser), a create waits for the warm
    Chromium under way instead of launching a second one beside it."""
    server = make_server(warm=1)
    assert server.manager.pool.launching  # the pool starts filling with the server
    with client_for(server) as client:
        browser = client.browsers.create(timeout=5)
        try:
            assert server.manager.get(browser.id or "").from_pool
        finally:
            client.browsers.stop(browser.id or "")


def test_a_pooled_chromium_starts_yielding_the_cpu_and_has_full_priority_once_handed_out(
    make_server: Callable[..., ServerThread],
) -> None:
    """A refill runs while tests run: it takes only the CPU they leave idle. Where the server
    may give the priority back (CAP_SYS_NICE), it lowers the launch; elsewhere it lowers
    nothing. Handed out, what is still lowered comes back to 0: seen on its zygotes, which
    Chromium leaves as started and which start every renderer to come."""
    lowered = POOL_NICENESS if can_raise_priority() else 0
    server = make_server(warm=1)
    wait_until(lambda: pool_ready(server) == 1, 30, "the pool to fill")
    [warm_pid] = pooled_pids(server)
    zygotes = [p for p in processes.group_of(warm_pid) if "--type=zygote" in p.command]
    assert zygotes and {p.niceness for p in zygotes} == {lowered}
    with client_for(server) as client:
        browser = client.browsers.create(timeout=5)
        managed = server.manager.get(browser.id or "")
        assert managed.process is not None and managed.process.pid == warm_pid
        now = [processes.read(p.pid) for p in zygotes]
        assert {p.niceness for p in now if p is not None} == {0}
        client.browsers.stop(browser.id or "")


@pytest.mark.skipif(not can_raise_priority(), reason="needs CAP_SYS_NICE to raise threads")
def test_restoring_a_lowered_group_leaves_the_threads_it_raised_itself_raised() -> None:
    """Thread by thread: a setpriority on the whole group would also undo what Chromium
    raised (its compositor and I/O at -8). Stood in for by a Python process whose one
    thread raises itself, as Chromium's do."""
    program = (
        "import os, threading, time\n"
        "def raise_me():\n"
        "    os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), -8)\n"
        "    time.sleep(60)\n"
        "threading.Thread(target=raise_me, daemon=True).start()\n"
        "threading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    child = subprocess.Popen(
        ["nice", "-n", str(POOL_NICENESS), sys.executable, "-c", program],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == b"ready\n"
        before = processes.threads_niceness(child.pid)
        assert sorted(before.values()) == [-8, POOL_NICENESS, POOL_NICENESS]
        restore(child.pid)
        after = processes.threads_niceness(child.pid)
        assert {tid: (before[tid], after[tid]) for tid in before} == {
            tid: (was, -8 if was == -8 else 0) for tid, was in before.items()
        }
    finally:
        child.kill()
        child.wait()


def test_a_pool_with_a_launch_budget_hands_out_its_chromium_and_launches_no_other(
    make_server: Callable[..., ServerThread],
) -> None:
    """The embedded default of a run that reuses one browser: that one is started ahead, and
    no replacement takes CPU from the tests once it is handed out."""
    server = make_server(warm=1, warm_launches=1)
    with client_for(server) as client:
        browser = client.browsers.create(timeout=5)
        assert server.manager.get(browser.id or "").from_pool
        client.browsers.stop(browser.id or "")
        second = client.browsers.create(timeout=5)  # launched for it, not taken ready
        assert not server.manager.get(second.id or "").from_pool
        client.browsers.stop(second.id or "")
    assert server.manager.metrics.launches == 2
    assert server.manager.pool.ready == 0 and not server.manager.pool.launching
