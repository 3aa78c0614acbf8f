"""After the stop, a recording browser's handle has its recording URL, waiting for it if needed.

The first test is the real thing: real Chromium, the real local server, a video to download.

The others play a hosted API through an httpx MockTransport, for what no local part produces
on demand: a recording URL that appears only some polls after the stop (the local server
finishes its video before it answers the stop, so the handle never needs to poll it), one
that never appears (the bounded wait and its warning), and the hosted camelCase
``recordingUrl``. They drive the one closing procedure (``_BrowserLife.close``) directly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx
import pytest

from bu_cdp import AsyncBrowserUse, BrowserUse, RemoteBrowser
from bu_cdp.effects import run_async, run_sync
from bu_cdp.models import Browser
from bu_cdp.options import plan_browser
from bu_cdp.remote.life import _BrowserLife
from tests.support.pages import PageServer

KEY = "sk-test-key-for-recordings"
BASE = "https://api.test/api/v3"
RECORDING = "https://recordings.test/b1.mp4"


def test_a_recording_browser_leaves_a_video_to_download(
    api: dict[str, str], pages: PageServer
) -> None:
    with RemoteBrowser(enable_recording=True, screen=(640, 480), **api) as rb:
        assert rb.recording_url is None  # not before the stop
        rb.page.goto(pages.url + "/about")
        rb.page.wait_for_timeout(500)  # a few frames of the page
    assert rb.status == "stopped"
    assert rb.recording_url is not None
    video = httpx.get(rb.recording_url, timeout=30)
    assert video.status_code == 200
    assert video.headers["content-type"] == "video/webm"
    assert video.content.startswith(b"\x1a\x45\xdf\xa3")  # an EBML (Matroska/WebM) file
    assert len(video.content) > 1000


class RecordingApi:
    """Stop answers without a recording; the recording shows up on the ``ready_after``-th get."""

    def __init__(self, ready_after: int | None) -> None:
        self.ready_after = ready_after
        self.calls: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api/v3")
        self.calls.append(f"{request.method} {path}")
        if path == "/browsers/b1/stop":
            return httpx.Response(200, json={"id": "b1", "status": "stopped"})
        gets = sum(call == "GET /browsers/b1" for call in self.calls)
        body = {"id": "b1", "status": "stopped"}
        if self.ready_after is not None and gets >= self.ready_after:
            body["recordingUrl"] = RECORDING  # the hosted camelCase name
        return httpx.Response(200, json=body)


def _life(recording_timeout: float) -> _BrowserLife:
    life = _BrowserLife(
        plan_browser("test", {"enable_recording": True, "recording_timeout": recording_timeout})
    )
    life.record = Browser(id="b1", status="active")
    life.created = True
    return life


def _client(api: Callable[[httpx.Request], httpx.Response]) -> BrowserUse:
    return BrowserUse(api_key=KEY, base_url=BASE, transport=httpx.MockTransport(api))


def test_the_handle_waits_until_the_recording_url_is_there() -> None:
    api = RecordingApi(ready_after=2)
    life = _life(recording_timeout=30)
    with _client(api) as client:
        run_sync(life.close(client))
    assert life.record is not None and life.record.recording_url == RECORDING
    assert api.calls == ["POST /browsers/b1/stop"] + ["GET /browsers/b1"] * 2


def test_the_wait_is_bounded_and_says_where_to_look_later(
    caplog: pytest.LogCaptureFixture,
) -> None:
    api = RecordingApi(ready_after=None)
    life = _life(recording_timeout=0.6)
    with caplog.at_level(logging.WARNING, logger="bu_cdp"), _client(api) as client:
        run_sync(life.close(client))
    assert life.record is not None and life.record.recording_url is None
    assert life.record.status == "stopped"
    # Backoff: a few polls in 0.6 s, not a tight loop.
    assert 1 <= api.calls.count("GET /browsers/b1") <= 3
    assert "not ready after 0.6s" in caplog.text
    assert "client.browsers.get('b1').recording_url" in caplog.text


def test_no_wait_when_the_stop_already_carries_the_url() -> None:
    calls: list[str] = []

    def api(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(
            200, json={"id": "b1", "status": "stopped", "recording_url": RECORDING}
        )

    life = _life(recording_timeout=30)
    with _client(api) as client:
        run_sync(life.close(client))
    assert life.record is not None and life.record.recording_url == RECORDING
    assert calls == ["/api/v3/browsers/b1/stop"]


async def test_the_async_face_waits_the_same_way() -> None:
    api = RecordingApi(ready_after=2)
    life = _life(recording_timeout=30)
    async with AsyncBrowserUse(
        api_key=KEY, base_url=BASE, transport=httpx.MockTransport(api)
    ) as client:
        await run_async(life.close(client))
    assert life.record is not None and life.record.recording_url == RECORDING
    assert api.calls == ["POST /browsers/b1/stop", "GET /browsers/b1", "GET /browsers/b1"]


def test_a_hosted_browser_is_polled_while_its_recording_is_available_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The hosted API (played here) stops by PATCH, then says ``recordingAvailable``: polled
    while true, given up at once when false, long before ``recording_timeout``."""
    calls: list[str] = []

    def api(request: httpx.Request) -> httpx.Response:
        calls.append(f"{request.method} {request.url.path.removeprefix('/api/v3')}")
        available = calls.count("GET /browsers/b1") < 2
        return httpx.Response(
            200, json={"id": "b1", "status": "stopped", "recordingAvailable": available}
        )

    life = _life(recording_timeout=300)
    hosted = httpx.MockTransport(api)
    with caplog.at_level(logging.WARNING, logger="bu_cdp"):
        with BrowserUse(
            api_key=KEY, base_url="https://api.browser-use.com/api/v3", transport=hosted
        ) as client:
            run_sync(life.close(client))
    assert calls == ["PATCH /browsers/b1", "GET /browsers/b1", "GET /browsers/b1"]
    assert "browser b1 has no recording" in caplog.text
