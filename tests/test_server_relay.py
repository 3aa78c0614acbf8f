"""CDP through the server's own port: tokens, two kinds of client, large frames."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets
from playwright.sync_api import sync_playwright
from websockets.sync.client import connect

from bu_cdp.models import Browser
from bu_cdp.server.thread import ServerThread
from tests.support.local_api import client_for


def cdp_call(url: str, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """One CDP command over a plain websocket: a client that is not Playwright."""
    with connect(url, max_size=None, open_timeout=10) as ws:
        ws.send(json.dumps({"id": 1, "method": method, "params": params or {}}))
        while True:
            message = json.loads(ws.recv(timeout=30))
            if message.get("id") == 1:
                assert "error" not in message, message
                result: dict[str, Any] = message["result"]
                return result


@pytest.fixture(scope="module")
def browser(server: ServerThread) -> Iterator[Browser]:
    """One browser on the shared server for the relay tests below."""
    with client_for(server) as client:
        created = client.browsers.create(timeout=5)
        yield created
        client.browsers.stop(created.id or "")


def test_a_wrong_or_missing_token_is_refused(browser: Browser, server: ServerThread) -> None:
    opened_before = server.manager.snapshot()["cdp_connections"]
    good = browser.cdp_url or ""
    without_token = good.rsplit("/", 1)[0]
    for bad in (without_token + "/wrong-token", without_token + "/", without_token):
        with pytest.raises(websockets.InvalidStatus) as refused:
            connect(bad, open_timeout=5)
        assert refused.value.response.status_code in (403, 404)
    other_browser = good.replace(browser.id or "", "00000000-0000-0000-0000-000000000000")
    with pytest.raises(websockets.InvalidStatus, match="403"):
        connect(other_browser, open_timeout=5)
    http_form = "http" + without_token[len("ws") :] + "/wrong-token/json/version"
    assert httpx.get(http_form).status_code == 403
    # None of these opened a socket to Chromium; the right token does.
    assert server.manager.snapshot()["cdp_connections"] == opened_before
    with connect(good, open_timeout=10):
        assert server.manager.snapshot()["cdp_connections"] == opened_before + 1


def test_playwright_and_a_plain_websocket_client_work_side_by_side(browser: Browser) -> None:
    url = browser.cdp_url or ""
    with sync_playwright() as pw:
        remote = pw.chromium.connect_over_cdp(url)
        page = remote.contexts[0].pages[0]
        page.set_content("<title>seen by both</title>")
        # A second, independent client on the same browser while Playwright is connected.
        version = cdp_call(url, "Browser.getVersion")
        assert version["product"].startswith(("HeadlessChrome/", "Chrome/"))
        targets = cdp_call(url, "Target.getTargets")["targetInfos"]
        assert "seen by both" in [t["title"] for t in targets]
        assert page.evaluate("1 + 1") == 2
        remote.close()
        # The HTTP form of the address (/json/version/ first) leads Playwright there too.
        by_http = pw.chromium.connect_over_cdp("http" + url[len("ws") :])
        assert by_http.contexts[0].pages[0].evaluate("1 + 1") == 2
        by_http.close()
    # The HTTP form of the address, as connect_over_cdp("http://...") uses it.
    info = httpx.get("http" + url[len("ws") :] + "/json/version").json()
    assert info["webSocketDebuggerUrl"] == url


# Random pixels do not compress: 1280 x 3400 of them make a PNG whose base64 is > 16 MiB.
NOISE_PAGE = """<body style="margin:0"><canvas id=c width=1280 height=3400></canvas><script>
const c = document.getElementById('c').getContext('2d');
const img = c.createImageData(1280, 3400);
const words = new Uint32Array(img.data.buffer);
let x = 2463534242;
for (let i = 0; i < words.length; i++) {
  x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
  words[i] = (x | 0xff000000) >>> 0;
}
c.putImageData(img, 0, 0);
</script>"""


def test_a_full_page_screenshot_larger_than_16_mib_passes(browser: Browser) -> None:
    with sync_playwright() as pw:
        remote = pw.chromium.connect_over_cdp(browser.cdp_url or "")
        page = remote.contexts[0].pages[0]
        page.set_viewport_size({"width": 1280, "height": 720})
        page.set_content(NOISE_PAGE)
        png = page.screenshot(full_page=True, timeout=60_000)
        remote.close()
    base64_size = (len(png) + 2) // 3 * 4
    assert base64_size > 16 * 2**20, f"the frame was only {base64_size} bytes"
    assert png.startswith(b"\x89PNG")
