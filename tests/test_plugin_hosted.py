"""The plugin in the hosted dialect (``--bu-api-dialect hosted``), run with pytester in a
subprocess against the real server's hosted face: its browsers, sync and async, are made and
stopped in the hosted words (the face has no ``POST .../stop``: a seed stop would fail)."""

from __future__ import annotations

import httpx
import pytest

from bu_cdp import BrowserUse
from bu_cdp.server.api.routes.hosted import PREFIX as HOSTED_PREFIX
from bu_cdp.server.thread import ServerThread
from tests.support.pages import PageServer
from tests.test_plugin import inner, recorded, run

TESTS = """
def test_sync(remote_browser, remote_browser_handle, bu_client):
    record(remote_browser_handle)
    assert bu_client.dialect == "hosted"
    remote_browser.goto(URL + "/about")
    assert remote_browser.title() == "About us"

async def test_async(async_remote_browser_handle, async_remote_browser):
    record(async_remote_browser_handle)
    await async_remote_browser.goto(URL + "/about")
    assert await async_remote_browser.title() == "About us"
"""


def test_the_plugin_speaks_the_dialect_it_is_told(
    pytester: pytest.Pytester,
    server: ServerThread,
    pages: PageServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    face = str(httpx.URL(server.base_url).copy_with(path="")) + HOSTED_PREFIX
    monkeypatch.setenv("BROWSER_USE_API_KEY", server.config.api_key)
    monkeypatch.delenv("BU_CDP_API_DIALECT", raising=False)
    inner(pytester, pages, TESTS, ini="bu_api_dialect = hosted")
    result = run(pytester, "--bu-base-url", face)
    result.assert_outcomes(passed=2)
    ids = [line[0] for line in recorded(pytester)]
    assert len(ids) == 2
    with BrowserUse(base_url=face, api_key=server.config.api_key, dialect="hosted") as client:
        assert {client.browsers.get(i).status for i in ids} == {"stopped"}
