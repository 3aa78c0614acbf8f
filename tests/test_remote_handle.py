"""The RemoteBrowser handle end to end: what it shows, the screen, keep_alive and attach, a
connect that never comes up, reconnecting, and logs without secrets.

Real Chromium through the real local server over real HTTP and WebSocket.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from playwright.async_api import async_playwright
from playwright.sync_api import Browser as PwBrowser
from playwright.sync_api import BrowserContext, Page, Playwright, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from bu_cdp import AsyncBrowserUse, AsyncRemoteBrowser, BrowserUse, RemoteBrowser
from bu_cdp.errors import BrowserConnectError
from bu_cdp.server.thread import ServerThread
from tests.support.forwarder import TcpForwarder
from tests.support.pages import PageServer

SIZE = "[innerWidth, innerHeight]"


def drop_cdp_sockets(server: ServerThread, browser_id: str) -> None:
    """Close the browser's CDP relay sockets from the server side; the browser stays active."""
    managed = server.manager.get(browser_id)
    loop = managed._tasks[0].get_loop()
    for close in list(managed.closers):
        asyncio.run_coroutine_threadsafe(close(), loop).result(10)


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A real local socket that accepts connections and never says a word."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield sock.getsockname()[1]
    sock.close()


def test_the_handle_shows_the_browser_and_the_viewport_equals_the_screen(
    api: dict[str, str], pages: PageServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    with RemoteBrowser(screen=(800, 600), **api) as rb:
        assert isinstance(rb.page, Page)
        assert isinstance(rb.context, BrowserContext)
        assert isinstance(rb.browser, PwBrowser)
        assert rb.id and rb.status == "active"
        assert rb.cdp_url and rb.cdp_url.startswith("ws://")
        assert rb.cdp_url not in repr(rb)

        rb.page.goto(pages.url + "/size")
        assert rb.page.evaluate(SIZE) == [800, 600]
        assert rb.page.title() == "800x600"
        # A tab the program opens itself gets the screen too, not Chromium's default.
        tab = rb.context.new_page()
        tab.goto(pages.url + "/size")
        assert tab.evaluate(SIZE) == [800, 600]
        # Popups that close at once, before they could be sized: no error, not even an
        # "unhandled error in an event listener".
        for _ in range(3):
            with rb.context.expect_page():
                tab.evaluate("window.open('about:blank').close()")
        tab.wait_for_timeout(200)  # the listener's call on the closed popups comes back
        assert tab.evaluate("1 + 1") == 2
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert rb.status == "stopped"
    # A handle is one browser's life: using it again is a clear mistake, not a second browser.
    with pytest.raises(RuntimeError, match=r"already used.*RemoteBrowser\.attach"):
        with rb:
            pass


@pytest.fixture
def playwright() -> Iterator[Playwright]:
    """One Playwright for a test's several blocks (each block would start its own driver)."""
    with sync_playwright() as pw:
        yield pw


def test_keep_alive_then_attach_by_id(
    api: dict[str, str], pages: PageServer, caplog: pytest.LogCaptureFixture, playwright: Playwright
) -> None:
    shared: dict[str, Any] = {**api, "playwright": playwright}
    with caplog.at_level(logging.INFO, logger="bu_cdp"):
        with RemoteBrowser(keep_alive=True, **shared) as rb:
            rb.page.goto(pages.url + "/about")
            browser_id, cdp_url = rb.id, rb.cdp_url
    assert browser_id and cdp_url
    client = BrowserUse(**api)
    assert client.browsers.get(browser_id).status == "active"
    assert f"RemoteBrowser.attach('{browser_id}')" in caplog.text  # how to reach it again

    with RemoteBrowser.attach(browser_id, **shared) as again:
        assert again.id == browser_id
        assert again.page.url == pages.url + "/about"  # the same tab, as it was left
    assert client.browsers.get(browser_id).status == "active"  # attached: not stopped

    with RemoteBrowser.attach(cdp_url, playwright=playwright) as by_address:  # no API at all
        assert by_address.page.title() == "About us"

    with RemoteBrowser.attach(browser_id, stop=True, **shared) as last:
        assert last.page.title() == "About us"
    assert client.browsers.get(browser_id).status == "stopped"

    with pytest.raises(BrowserConnectError, match=f"browser {browser_id} is stopped"):
        RemoteBrowser.attach(browser_id, **shared).__enter__()
    client.close()


# The hang guard: Playwright's own connect timeout is 30 s, so a bound that was not applied
# would overrun this; the bound applied ends it in a few seconds even on a loaded machine.
@pytest.mark.timeout(30)
def test_a_connect_to_a_browser_that_never_comes_up_fails_within_the_bound(
    make_server: Callable[..., ServerThread], silent_port: int
) -> None:
    # The server hands out CDP addresses on a socket that accepts and never answers.
    server = make_server(public_url=f"http://127.0.0.1:{silent_port}")
    api = {"base_url": server.base_url, "api_key": server.config.api_key}
    handle = RemoteBrowser(connect_timeout=1.5, **api)
    with pytest.raises(BrowserConnectError) as caught:
        handle.__enter__()
    message = str(caught.value)
    browser_id = handle.id
    assert browser_id is not None
    assert f"could not connect to browser {browser_id} at 127.0.0.1:{silent_port}" in message
    assert "within 1.5s" in message
    token = server.manager.get(browser_id).token
    assert token not in message and server.config.api_key not in message
    assert caught.value.__cause__ is None  # no chained error carrying the address either
    with BrowserUse(**api) as client:  # and the browser nobody could use is stopped
        assert client.browsers.get(browser_id).status == "stopped"


class OpenOnFirstRetry(logging.Handler):
    """Opens the forwarder a while after the first "retrying" line, so the connect is
    certainly refused at first (however slow the create) and then refused again for a while."""

    def __init__(self, forwarder: TcpForwarder, seconds: float) -> None:
        super().__init__(logging.DEBUG)
        self.forwarder, self.seconds = forwarder, seconds

    def emit(self, record: logging.LogRecord) -> None:
        if "retrying" in record.getMessage():
            self.forwarder.open_after(self.seconds)  # the first call starts the one timer


@pytest.mark.timeout(60)
def test_a_connect_retries_with_backoff_until_the_browser_is_reachable(
    make_server: Callable[..., ServerThread], pages: PageServer, caplog: pytest.LogCaptureFixture
) -> None:
    # The server hands out CDP addresses on the forwarder's port, which refuses connections
    # (as a browser still coming up does) until it opens, 1.5 s after the first refusal.
    with TcpForwarder() as forwarder:
        server = make_server(public_url=f"http://127.0.0.1:{forwarder.port}")
        forwarder.target_port = server.config.port
        opener = OpenOnFirstRetry(forwarder, 1.5)
        logger = logging.getLogger("bu_cdp")
        logger.addHandler(opener)
        try:
            with caplog.at_level(logging.DEBUG, logger="bu_cdp"):
                with RemoteBrowser(
                    connect_timeout=30, base_url=server.base_url, api_key=server.config.api_key
                ) as rb:
                    rb.page.goto(pages.url + "/about")
                    assert rb.page.title() == "About us"
                    assert rb.cdp_url and f"127.0.0.1:{forwarder.port}/" in rb.cdp_url
        finally:
            logger.removeHandler(opener)
        assert forwarder.opened_at is not None and forwarder.accepted >= 1
    ours = [r for r in caplog.records if r.name == "bu_cdp"]
    retries = [r.created for r in ours if "failed, retrying" in r.getMessage()]
    connected = [r.created for r in ours if r.getMessage().startswith("connected to browser")]
    assert len(retries) >= 2, f"refused for 1.5 s, yet retried only {len(retries)} time(s)"
    assert len(connected) == 1 and connected[0] > retries[-1]
    # Backoff: between attempts a pause of 0.2 s, then 0.4 s, 0.8 s... (the lines come from
    # time.time(), the pauses from the monotonic clock: a little slack).
    gaps = [later - earlier for earlier, later in itertools.pairwise(retries)]
    for n, gap in enumerate(gaps):
        assert gap >= 0.2 * 2**n - 0.02, f"retry gaps {gaps}: no backoff"


def test_reconnects_once_when_the_cdp_socket_drops(
    server: ServerThread, api: dict[str, str], pages: PageServer
) -> None:
    with RemoteBrowser(reconnect=True, **api) as rb:
        rb.page.goto(pages.url + "/about")
        before = rb.page
        drop_cdp_sockets(server, rb.id or "")
        with pytest.raises(PlaywrightError):
            before.evaluate("1")  # the call in flight when the socket went away fails
        assert rb.page is not before
        assert rb.page.title() == "About us"  # the same tab, on a new connection
        browser_id = rb.id
    with BrowserUse(**api) as client:
        assert client.browsers.get(browser_id or "").status == "stopped"


def test_no_log_line_contains_the_api_key_or_a_token(
    server: ServerThread, api: dict[str, str], pages: PageServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):  # every logger, every level
        with RemoteBrowser(
            reconnect=True, enable_recording=True, recording_timeout=0.3, **api
        ) as rb:
            rb.page.goto(pages.url)
            browser_id, cdp_url = rb.id or "", rb.cdp_url or ""
            token = server.manager.get(browser_id).token
            before = rb.page
            drop_cdp_sockets(server, browser_id)
            with pytest.raises(PlaywrightError):
                before.evaluate("1")
            rb.page.evaluate("1")  # reconnects
    assert rb.recording_url is not None  # the stop waited for the recording (local: at once)
    lines = [record.getMessage() for record in caplog.records]
    secrets = {"API key": api["api_key"], "token": token, "cdp_url": cdp_url}
    for name, secret in secrets.items():
        # The one deliberate exception: with recording (or keep_alive) the live-view URL is
        # logged so a person can watch, and on the local server it carries the token.
        allowed = "live at" if name == "token" else None
        leaked = [line for line in lines if secret in line and not (allowed and allowed in line)]
        assert not leaked, f"{name} in log lines: {leaked}"
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name == "bu_cdp")
    for said in ("created browser", "connected to browser", "dropped", "reconnected", "stopped"):
        assert f"{said}" in ours
    assert browser_id in ours
    # Asked to record, so a person may want to watch: the one address logged.
    assert f"watch browser {browser_id} live at http" in ours


def _pending_reconnects() -> list[asyncio.Task[object]]:
    return [
        task
        for task in asyncio.all_tasks()
        if not task.done() and task.get_coro().__qualname__ == "run_async"  # type: ignore[union-attr]
    ]


async def test_the_async_twin_keeps_alive_attaches_and_reconnects(
    server: ServerThread, api: dict[str, str], pages: PageServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    async with async_playwright() as playwright:  # one driver for every block
        shared: dict[str, Any] = {**api, "playwright": playwright}
        async with AsyncRemoteBrowser(keep_alive=True, screen=(640, 480), **shared) as rb:
            await rb.page.goto(pages.url + "/about")
            tab = await rb.context.new_page()
            await tab.goto(pages.url + "/size")
            assert await tab.evaluate(SIZE) == [640, 480]
            await tab.close()
        browser_id = rb.id or ""

        # The block ends while a reconnect is under way: it is cancelled (or it finished and
        # let go of its connection), and nothing of it outlives the block.
        async with AsyncRemoteBrowser.attach(browser_id, reconnect=True, **shared) as hasty:
            before = hasty.page
            drop_cdp_sockets(server, browser_id)
            with pytest.raises(PlaywrightError):
                await before.evaluate("1")  # the drop is seen: the reconnect starts at once
        assert _pending_reconnects() == []
        assert hasty._life.browser is None
        assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []

        attach = AsyncRemoteBrowser.attach(browser_id, stop=True, reconnect=True, **shared)
        async with attach as again:
            assert again.page.url == pages.url + "/about"
            before = again.page
            drop_cdp_sockets(server, browser_id)
            with pytest.raises(PlaywrightError):
                await before.evaluate("1")
            assert await again.reconnect()  # the reconnect under way in the background
            assert again.page is not before
            assert await again.page.title() == "About us"
        with pytest.raises(RuntimeError, match="already used"):
            async with attach:
                pass
    async with AsyncBrowserUse(**api) as client:
        assert (await client.browsers.get(browser_id)).status == "stopped"


class StallingApi(ThreadingHTTPServer):
    """A real HTTP server playing an API that hands out a browser whose CDP port refuses every
    connection, and then never answers the status check (as an overloaded API may). The local
    server never stalls, so this small one plays it."""

    daemon_threads = True

    def __init__(self, cdp_port: int) -> None:
        self.release = threading.Event()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = {"id": "b-stall", "status": "active"}
                if self.path.endswith("/browsers"):
                    body["cdp_url"] = f"ws://127.0.0.1:{cdp_port}/devtools/browser/x"
                else:
                    body["status"] = "stopped"
                self._send(body)

            def do_GET(self) -> None:
                api.release.wait(60)  # the status check: no answer
                self._send({"id": "b-stall", "status": "active"})

            def _send(self, body: dict[str, str]) -> None:
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/api/v3"

    def close(self) -> None:
        self.release.set()
        self.shutdown()
        self.server_close()


# The hang guard: the status check between connect attempts would take the client's whole
# timeout (30 s, then retries) if the bound did not cover it.
@pytest.mark.timeout(20)
def test_connect_timeout_bounds_the_status_checks_too(
    playwright: Playwright, closed_port: int
) -> None:
    api = StallingApi(closed_port)
    try:
        handle = RemoteBrowser(
            connect_timeout=1.5, base_url=api.base_url, api_key="k", playwright=playwright
        )
        with pytest.raises(BrowserConnectError, match=r"browser b-stall .* within 1\.5s"):
            with handle:
                pass
        assert handle.status == "stopped"  # and the browser nobody could use was stopped
    finally:
        api.close()
