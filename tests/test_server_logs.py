"""Secrets stay out of the server's log and out of its objects' reprs."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from bu_cdp.server.browsers.record import ManagedBrowser
from bu_cdp.server.config import ServerConfig
from bu_cdp.server.shared.schemas import BrowserCreateRequest
from tests.support.serving import LOG_NAME, serve_process


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A TMPDIR for one server; short, as Chromium puts a unix socket in it (108 bytes max)."""
    path = Path(tempfile.mkdtemp(prefix="logs-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_tokens_never_reach_the_log_of_bu_cdp_serve(short_tmp: Path) -> None:
    """At INFO, uvicorn logs every request path and websocket upgrade; the per-browser
    tokens in /live, /cdp and json/version paths are masked."""
    with serve_process(tmpdir=short_tmp) as served:
        answer = httpx.post(
            served.api_url + "/browsers", json={"timeout": 5}, headers=served.headers, timeout=60
        )
        created = answer.json()
        browser_id, cdp_url, live_url = created["id"], created["cdp_url"], created["live_url"]
        assert isinstance(cdp_url, str) and isinstance(live_url, str)
        token = cdp_url.rsplit("/", 1)[1]
        try:
            assert httpx.get(live_url).status_code == 200
            with connect(live_url.replace("http", "ws", 1) + "/ws") as viewer:
                assert viewer.recv(timeout=30)  # the live view's first news
            with connect(cdp_url, max_size=None) as cdp:
                cdp.send(json.dumps({"id": 1, "method": "Browser.getVersion"}))
                assert json.loads(cdp.recv(timeout=30))["id"] == 1
            version = httpx.get(cdp_url.replace("ws", "http", 1) + "/json/version")
            assert version.status_code == 200
        finally:
            stop = f"{served.api_url}/browsers/{browser_id}/stop"
            httpx.post(stop, headers=served.headers, timeout=60)
        log = (short_tmp / LOG_NAME).read_text()
    # The requests were logged, their tokens masked.
    assert f'"WebSocket /live/{browser_id}/***/ws" [accepted]' in log
    assert f"GET /cdp/{browser_id}/***/json/version" in log
    assert f"GET /live/{browser_id}/*** " in log
    assert token not in log


def test_reprs_show_no_secret() -> None:
    config = ServerConfig(api_key="the-server-key", proxies={"us": "http://u:pw@proxy:8080"})
    assert "the-server-key" not in repr(config) and "pw@" not in repr(config)
    browser = ManagedBrowser(
        id="b1",
        token="the-browser-token",
        request=BrowserCreateRequest.model_validate(
            {"custom_proxy": {"host": "proxy", "port": 8080, "password": "proxy-password"}}
        ),
        workdir=Path("/nowhere"),
        timeout_minutes=1,
        window=(1280, 720),
        links={"live_url": "/live/b1/the-browser-token"},
    )
    shown = repr(browser)
    assert "b1" in shown
    assert "the-browser-token" not in shown and "proxy-password" not in shown
