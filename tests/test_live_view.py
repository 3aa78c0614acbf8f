"""The live view: a real second Chromium opens ``live_url`` and watches the remote browser."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest
import websockets.sync.client
from playwright.sync_api import Browser as PwBrowser
from playwright.sync_api import Page, Playwright, expect, sync_playwright

from bu_cdp import BrowserUse
from bu_cdp.models import Browser
from bu_cdp.server.chromium.launch import find_chromium
from bu_cdp.server.screen.live_view import input_command
from bu_cdp.server.screen.screencast import SETTLED_AFTER
from bu_cdp.server.thread import ServerThread
from tests.support.pages import PageServer
from tests.support.waiting import wait_until

CLOSED_NETWORK = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]


@pytest.fixture
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture
def viewer(playwright: Playwright) -> Iterator[PwBrowser]:
    """The person watching: a second, local headless Chromium."""
    browser = playwright.chromium.launch(executable_path=find_chromium(), args=CLOSED_NETWORK)
    yield browser
    browser.close()


@pytest.fixture
def remote(api: dict[str, str]) -> Iterator[Browser]:
    with BrowserUse(**api) as client:
        browser = client.browsers.create(timeout=5)
        try:
            yield browser
        finally:
            client.browsers.stop(browser.id or "")


def _screen(live: Page) -> bytes:
    return live.locator("#screen").screenshot()


def _changes_from(live: Page, before: bytes) -> bytes:
    """The live picture once it differs from ``before``."""
    shots: list[bytes] = []
    wait_until(
        lambda: shots.append(_screen(live)) or shots[-1] != before, 15, "the picture changed"
    )
    return shots[-1]


def _click_in_live_view(live: Page, remote_page: Page, selector: str) -> None:
    """Click, in the live picture, where ``selector`` is on the remote tab."""
    target = remote_page.locator(selector).bounding_box()
    picture = live.locator("#screen").bounding_box()
    assert target is not None and picture is not None
    width, height = remote_page.evaluate("[innerWidth, innerHeight]")
    live.mouse.click(
        picture["x"] + (target["x"] + target["width"] / 2) * picture["width"] / width,
        picture["y"] + (target["y"] + target["height"] / 2) * picture["height"] / height,
    )


def test_live_view_follows_the_browser_and_drives_it(
    remote: Browser,
    playwright: Playwright,
    viewer: PwBrowser,
    pages: PageServer,
    api: dict[str, str],
) -> None:
    assert remote.live_url == api["base_url"].removesuffix("/api/v3") + (
        f"/live/{remote.id}/" + (remote.cdp_url or "").rsplit("/", 1)[1]
    )
    cdp = playwright.chromium.connect_over_cdp(remote.cdp_url or "")
    context = cdp.contexts[0]
    page = context.pages[0]
    page.goto(pages.url + "/")

    live = viewer.new_page(viewport={"width": 1400, "height": 900})
    live.goto(remote.live_url or "")
    expect(live.locator("#status")).to_have_text("active")
    expect(live.locator("#browser")).to_have_text(remote.id or "")
    expect(live.locator("#url")).to_have_text(pages.url + "/")
    live.wait_for_function("Number(document.body.dataset.frames) > 0")
    home = _screen(live)

    # The remote tab navigates: the picture and the header follow.
    page.goto(pages.url + "/about")
    expect(live.locator("#url")).to_have_text(pages.url + "/about")
    about = _changes_from(live, home)

    # The user's code opens a new tab: the live view switches to it ...
    tab = context.new_page()
    tab.goto(pages.url + "/size")
    expect(live.locator("#url")).to_have_text(pages.url + "/size")
    _changes_from(live, about)
    # ... and back to the tab before when it closes.
    tab.close()
    expect(live.locator("#url")).to_have_text(pages.url + "/about")

    # Clicks and keys in the live view reach the browser.
    page.goto(pages.url + "/")
    expect(live.locator("#url")).to_have_text(pages.url + "/")
    _changes_from(live, about)
    _click_in_live_view(live, page, "a")
    page.wait_for_url(pages.url + "/about")
    page.set_content("<input id=q style='font-size:40px'>")
    _click_in_live_view(live, page, "#q")
    wait_until(
        lambda: page.evaluate("document.activeElement.id") == "q", 15, "the click focused the input"
    )
    live.keyboard.type("hi")
    wait_until(lambda: page.locator("#q").input_value() == "hi", 15, "typing reached the input")
    cdp.close()

    # When the browser stops, the page says so.
    with BrowserUse(**api) as client:
        client.browsers.stop(remote.id or "")
    expect(live.locator("#status")).to_have_text("stopped")
    live.reload()  # and still says so when opened again
    expect(live.locator("#status")).to_have_text("stopped")


def test_live_view_refuses_a_wrong_token(remote: Browser, server: ServerThread) -> None:
    good = remote.live_url or ""
    answer = httpx.get(good)
    assert answer.status_code == 200 and "<img" in answer.text
    assert answer.headers["referrer-policy"] == "no-referrer"

    wrong = good.rsplit("/", 1)[0] + "/not-the-token"
    for address in (wrong, good.replace(remote.id or "", "no-such-browser")):
        refused = httpx.get(address)
        assert refused.status_code == 404
        assert "<img" not in refused.text and "<script" not in refused.text

    ws_wrong = "ws" + wrong[len("http") :] + "/ws"
    with pytest.raises(websockets.InvalidStatus, match="403"):
        websockets.sync.client.connect(ws_wrong, open_timeout=5)
    # The right one opens, says the browser is active and sends its picture.
    with websockets.sync.client.connect("ws" + good[len("http") :] + "/ws") as socket:
        assert '"active"' in str(socket.recv(timeout=10))
        messages = [socket.recv(timeout=10) for _ in range(3)]  # tab, size, picture
        assert any(isinstance(m, bytes) and m.startswith(b"\xff\xd8") for m in messages)  # JPEG
    hub = server.app.state.screencasts
    wait_until(
        lambda: not hub.running(remote.id), 15, "the screencast stopped with its last viewer"
    )


def _command(data: dict[str, object]) -> tuple[str, dict[str, object]]:
    command = input_command(data)
    assert command is not None, data
    return command


def test_viewer_input_is_limited_to_mouse_and_keys() -> None:
    assert input_command({"type": "cdp", "method": "Browser.close"}) is None
    assert input_command({"type": "mouse", "event": "mousePressed", "x": "1", "y": 2}) is None
    assert input_command({"type": "mouse", "event": "dragIntercepted", "x": 1, "y": 2}) is None

    method, params = _command(
        {"type": "mouse", "event": "mousePressed", "x": 1e12, "y": 5, "button": "evil"}
    )
    assert method == "Input.dispatchMouseEvent"
    assert (params["x"], params["button"], params["clickCount"]) == (100_000.0, "none", 0)

    method, params = _command({"type": "key", "event": "keyDown", "key": "a", "text": "a"})
    assert (method, params["type"], params["text"]) == ("Input.dispatchKeyEvent", "keyDown", "a")
    assert _command({"type": "key", "event": "keyDown", "key": "Enter"})[1]["type"] == "rawKeyDown"
    assert _command({"type": "wheel", "x": 1, "y": 1, "deltaY": 120})[1]["deltaY"] == 120.0


def test_a_capture_gone_silent_is_restarted_when_its_tab_navigates(
    remote: Browser,
    playwright: Playwright,
    viewer: PwBrowser,
    pages: PageServer,
    server: ServerThread,
) -> None:
    """Stands in for a race no test can time: Chromium's capture of the tab stops behind the
    server's back (seen when a capture restarts while the page's document is being swapped).
    The tab's next navigation still brings its picture."""
    page = playwright.chromium.connect_over_cdp(remote.cdp_url or "").contexts[0].pages[0]
    page.goto(pages.url + "/")
    live = viewer.new_page(viewport={"width": 1400, "height": 900})
    live.goto(remote.live_url or "")
    live.wait_for_function("Number(document.body.dataset.frames) > 0")
    starting = server.app.state.screencasts._casts[remote.id]
    cast = starting.result()
    # The still page's capture at rest: settled, or paused and restarted with nothing to send
    # (a restarted capture of a page that has drawn sends nothing): no restart under way and
    # no picture for a second, so nothing of the server's own restarts the capture it stops.
    seen = {"frames": cast._frames, "since": time.monotonic()}

    def at_rest() -> bool:
        if cast._frames != seen["frames"]:
            seen.update(frames=cast._frames, since=time.monotonic())
        quiet = time.monotonic() - seen["since"] > 1.0
        return cast._pausing is None and (cast._same_pictures >= SETTLED_AFTER or quiet)

    wait_until(at_rest, 15, "the still page's capture to be at rest")
    home = _screen(live)
    silence = cast._cdp.send("Page.stopScreencast", session_id=cast._session)
    asyncio.run_coroutine_threadsafe(silence, starting.get_loop()).result(10)

    page.goto(pages.url + "/about")
    expect(live.locator("#url")).to_have_text(pages.url + "/about")
    _changes_from(live, home)
