"""The local server's browser paths, over real HTTP, with real Chromium."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import sync_playwright

from bu_cdp import BrowserUse, errors
from bu_cdp.server.thread import ServerThread
from tests.support.pages import PageServer
from tests.support.processes import live_chromiums


def _pid_of(server: ServerThread, browser_id: str) -> int:
    process = server.manager.get(browser_id).process
    assert process is not None
    return process.pid


def _workdir_of(server: ServerThread, browser_id: str) -> Path:
    return server.manager.get(browser_id).workdir


def test_requests_without_the_right_key_get_401(server: ServerThread) -> None:
    url = server.base_url + "/browsers/anything"
    assert httpx.get(url).status_code == 401
    answer = httpx.get(url, headers={"X-Browser-Use-API-Key": "nope"})
    assert answer.status_code == 401
    assert "X-Browser-Use-API-Key" in answer.json()["detail"]


def test_unknown_browser_is_404(api: dict[str, str]) -> None:
    with BrowserUse(**api) as client:
        with pytest.raises(errors.NotFoundError, match="not found"):
            client.browsers.get("no-such-browser")
        with pytest.raises(errors.NotFoundError):
            client.browsers.stop("no-such-browser")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"timeout": 241}, "timeout"),
        ({"timeout": 0}, "timeout"),
        ({"browserScreenWidth": 10}, "browserScreenWidth"),
        ({"browserScreenHeight": 100000}, "browserScreenHeight"),
    ],
)
def test_bad_fields_get_422_naming_the_field(
    server: ServerThread, fields: dict[str, int], field: str
) -> None:
    answer = httpx.post(
        server.base_url + "/browsers",
        json=fields,
        headers={"X-Browser-Use-API-Key": server.config.api_key},
    )
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"][-1] == field


def test_create_connect_stop_leaves_nothing_behind(
    api: dict[str, str], server: ServerThread, pages: PageServer
) -> None:
    with BrowserUse(**api) as client:
        browser = client.browsers.create(timeout=5)
        assert browser.status == "active"
        assert browser.cdp_url and browser.cdp_url.startswith("ws://127.0.0.1:")
        pid = _pid_of(server, browser.id or "")
        workdir = _workdir_of(server, browser.id or "")
        assert pid in live_chromiums() and workdir.is_dir()

        with sync_playwright() as pw:
            remote = pw.chromium.connect_over_cdp(browser.cdp_url)
            page = remote.contexts[0].pages[0]
            page.goto(pages.url)
            assert page.title() == "Home"
            remote.close()

        stopped = client.browsers.stop(browser.id or "")
        assert stopped.status == "stopped"
        assert client.browsers.stop(browser.id or "").status == "stopped"  # twice is fine
        assert client.browsers.get(browser.id or "").status == "stopped"
    assert pid not in live_chromiums()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not workdir.exists()


def test_cdp_url_is_refused_with_a_wrong_token(api: dict[str, str]) -> None:
    with BrowserUse(**api) as client:
        browser = client.browsers.create()
        try:
            good = browser.cdp_url or ""
            bad = good.rsplit("/", 1)[0] + "/wrong-token"
            with sync_playwright() as pw:
                with pytest.raises(Exception, match="403"):
                    pw.chromium.connect_over_cdp(bad, timeout=5000)
                http_form = "http" + good[len("ws") :]
                remote = pw.chromium.connect_over_cdp(http_form)  # the /json/version form
                assert remote.contexts[0].pages[0].evaluate("1 + 1") == 2
                remote.close()
        finally:
            client.browsers.stop(browser.id or "")


async def test_operations_not_served_yet_answer_501() -> None:
    # Every operation of the spec is served now; an app without routes shows the fallback.
    from fastapi import FastAPI

    from bu_cdp.server.problems import ApiProblem, handle_problem
    from bu_cdp.server.routes.pending import pending_router

    app = FastAPI()
    app.add_exception_handler(ApiProblem, handle_problem)
    app.include_router(pending_router(app, "/api/v3"), prefix="/api/v3")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://local") as http:
        answer = await http.get("/api/v3/billing/balance")
    assert answer.status_code == 501
    assert "not implemented" in answer.json()["detail"]
