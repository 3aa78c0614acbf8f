"""What a create costs when it cannot succeed, or when nobody is left to answer: nothing."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Callable

import httpx

from bu_cdp.models import BrowserStatus
from bu_cdp.server.browsers.hooks import BrowserHooks
from bu_cdp.server.browsers.record import ManagedBrowser
from bu_cdp.server.chromium.launch import LaunchPlan
from bu_cdp.server.shared.problems import ApiProblem, invalid
from bu_cdp.server.shared.schemas import BrowserCreateRequest
from bu_cdp.server.thread import ServerThread
from tests.support.local_api import create_browser, key_header
from tests.support.processes import live_chromiums
from tests.support.waiting import wait_until

REFUSED_BY_CHECK = 3  # request timeouts (minutes) that stand for requests a hook refuses
REFUSED_BY_PREPARE = 4


class Picky(BrowserHooks):
    """A feature that refuses some requests from the request alone, and some in ``prepare``."""

    async def check(self, request: BrowserCreateRequest) -> None:
        if request.timeout == REFUSED_BY_CHECK:
            raise invalid("timeout", "this server refuses 3-minute browsers")

    async def prepare(self, browser: ManagedBrowser, plan: LaunchPlan) -> None:
        if browser.request.timeout == REFUSED_BY_PREPARE:
            raise ApiProblem(409, "what this browser needs is taken")


def test_refusals_cost_no_slot_and_no_warm_browser(
    make_server: Callable[..., ServerThread],
) -> None:
    server = make_server(warm=1, max_browsers=1, queue_timeout=0.5)
    server.manager.hooks.append(Picky())
    manager = server.manager
    wait_until(lambda: manager.pool.ready == 1, 30, "the pool to fill")
    [warm_pid] = [warm.process.pid for warm in manager.pool.waiting()]
    launches = manager.metrics.launches

    # Refused in prepare, after taking the warm Chromium: it goes back to the pool, unused.
    refused = create_browser(server, {"timeout": REFUSED_BY_PREPARE})
    assert refused.status_code == 409, refused.text
    assert [warm.process.pid for warm in manager.pool.waiting()] == [warm_pid]
    assert manager.metrics.launches == launches  # no Chromium killed and launched again
    assert manager.admission.in_use == 0

    created = create_browser(server, {"timeout": 5})
    assert created.status_code == 200, created.text
    browser = manager.get(created.json()["id"])
    assert browser.from_pool and browser.process is not None
    assert browser.process.pid == warm_pid

    # At the limit, a request a hook refuses is told so at once: not queued, not a 429
    # (which clients retry) after the queue timeout.
    refused = create_browser(server, {"timeout": REFUSED_BY_CHECK})
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"][0]["loc"] == ["body", "timeout"]
    assert manager.admission.rejected == 0
    stopped = httpx.post(
        f"{server.base_url}/browsers/{browser.id}/stop",
        headers=key_header(server),
    )
    assert stopped.status_code == 200


class SlowLaunch(BrowserHooks):
    """Holds each create in ``prepare`` until the test lets it go."""

    def __init__(self) -> None:
        self.go = threading.Event()
        self.browsers: list[ManagedBrowser] = []

    async def prepare(self, browser: ManagedBrowser, plan: LaunchPlan) -> None:
        self.browsers.append(browser)
        while not self.go.is_set():
            await asyncio.sleep(0.02)


def test_a_browser_whose_creator_hung_up_is_stopped_at_once(
    make_server: Callable[..., ServerThread],
) -> None:
    """A client that timed out waiting for its create never learns the browser's address:
    the server stops it at once instead of letting it run (and bill) until its timeout."""
    server = make_server()
    slow = SlowLaunch()
    server.manager.hooks.append(slow)
    body = json.dumps({"timeout": 30}).encode()
    head = (
        "POST /api/v3/browsers HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{server.config.port}\r\n"
        f"X-Browser-Use-API-Key: {server.config.api_key}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", server.config.port)) as client:
        client.sendall(head.encode() + body)
        wait_until(lambda: slow.browsers, 30, "the create to reach the hooks")
    slow.go.set()  # the client is gone; the launch goes on

    [browser] = slow.browsers
    wait_until(lambda: browser.status != BrowserStatus.ACTIVE, 30, "the abandoned browser to stop")
    assert browser.status == BrowserStatus.STOPPED
    assert "went away" in (browser.reason or "")
    assert browser.process is not None and browser.process.pid not in live_chromiums()
    assert server.manager.admission.in_use == 0
