"""The local server's browser paths, over real HTTP, with real Chromium."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import httpx
import pytest
import yaml
from playwright.sync_api import sync_playwright

from bu_cdp import BrowserUse, errors
from bu_cdp.server.thread import ServerThread
from tests.support.local_api import create_browser
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
    answer = create_browser(server, fields, timeout=5)
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


def test_every_operation_of_the_spec_has_a_route(server: ServerThread) -> None:
    spec = yaml.safe_load(resources.files("bu_cdp").joinpath("openapi.yaml").read_text())
    wanted = {
        (method.upper(), "/api/v3" + path)
        for path, item in spec["paths"].items()
        for method in item
        if method in ("get", "put", "post", "delete", "patch")
    }
    served = {
        (method.upper(), path)
        for path, item in server.app.openapi()["paths"].items()
        for method in item
    }
    assert wanted  # the spec was read
    assert sorted(wanted - served) == []
