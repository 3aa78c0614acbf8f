"""The embedded default seen from inside the test process: its child, its pool, its errors."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import sync_playwright

from bu_cdp import RemoteBrowser, remote_browser
from bu_cdp.embedded import embedded_server, stop_embedded_server
from bu_cdp.embedded.sizing import ONE_BROWSER_ENV, warm_browsers, warm_launches
from bu_cdp.errors import ConfigurationError
from bu_cdp.server.config import ServerConfig
from bu_cdp.server.thread import ServerThread
from tests.support import processes
from tests.support.pages import PageServer


def test_the_server_is_a_child_process_with_its_key_out_of_sight(pages: PageServer) -> None:
    """Not on any command line (every local user reads those), not in Chromium's environment;
    uvloop runs its event loop, as under `bu-cdp serve`."""
    server = embedded_server()
    with remote_browser() as page:
        page.goto(pages.url)
        assert server.process is not None
        child = processes.read(server.process.pid)
        assert child is not None and b"bu_cdp.embedded.child" in child.cmdline
        groups = {c.pid for c in processes.children_of(server.process.pid)}  # each Chromium's
        chromiums = [p for p in processes.scan(environ=True) if p.pgid in groups]
        assert chromiums
        for process in [child, *chromiums]:
            assert server.api_key.encode() not in process.cmdline
        for process in chromiums:
            assert server.api_key.encode() not in process.environ
    maps = Path(f"/proc/{server.process.pid}/maps").read_text()
    assert "uvloop" in maps


def test_under_pytest_the_server_keeps_a_warm_browser(pages: PageServer) -> None:
    server = embedded_server()
    headers = {"X-Browser-Use-API-Key": server.api_key}
    metrics = httpx.get(server.base_url + "/metrics", headers=headers, timeout=30).json()
    assert metrics["pool_target"] == 1


@pytest.mark.parametrize(
    ("environ", "max_browsers", "warm"),
    [
        ({}, 8, 0),  # a script: one browser, nothing to gain
        ({"PYTEST_VERSION": "9"}, 8, 1),
        ({"PYTEST_VERSION": "9", "PYTEST_XDIST_WORKER_COUNT": "4"}, 8, 1),
        ({"PYTEST_XDIST_WORKER": "gw0", "PYTEST_XDIST_WORKER_COUNT": "8"}, 8, 0),  # no room
        ({"BU_CDP_WARM": "3"}, 8, 3),
        ({"BU_CDP_WARM": "0", "PYTEST_VERSION": "9"}, 8, 0),
        ({"BU_CDP_WARM": "30"}, 8, 8),
    ],
)
def test_the_pool_is_sized_from_the_environment(
    environ: dict[str, str], max_browsers: int, warm: int
) -> None:
    assert warm_browsers(environ, max_browsers) == warm


@pytest.mark.parametrize(
    ("environ", "cpus", "launches"),
    [
        ({"PYTEST_VERSION": "9"}, 2, 1),  # no core to spare: only the first, started ahead
        ({"PYTEST_VERSION": "9"}, 4, None),  # a refill runs on a core of its own
        ({"PYTEST_XDIST_WORKER": "gw0", "PYTEST_XDIST_WORKER_COUNT": "2"}, 4, 1),
        ({"PYTEST_XDIST_WORKER": "gw0", "PYTEST_XDIST_WORKER_COUNT": "2"}, 6, None),
        ({"PYTEST_VERSION": "9", "BU_CDP_WARM": "1"}, 2, None),  # the user's word wins
        ({ONE_BROWSER_ENV: "1"}, 64, 1),
    ],
)
def test_the_pool_refills_where_a_core_is_free_for_it(
    environ: dict[str, str], cpus: int, launches: int | None
) -> None:
    assert warm_launches(environ, cpus) == launches


@pytest.mark.parametrize(
    ("environ", "warm", "launches"),
    [
        ({ONE_BROWSER_ENV: "1", "PYTEST_VERSION": "9"}, 1, 1),  # started ahead, then none
        ({ONE_BROWSER_ENV: "1"}, 1, 1),
        ({ONE_BROWSER_ENV: "1", "BU_CDP_WARM": "2"}, 2, None),  # the user's word wins
        ({ONE_BROWSER_ENV: "1", "BU_CDP_WARM": "0"}, 0, None),
    ],
)
def test_a_program_that_reuses_one_browser_gets_it_ahead_and_no_other(
    environ: dict[str, str], warm: int, launches: int | None
) -> None:
    assert warm_browsers(environ, 8) == warm
    assert warm_launches(environ, 2) == launches


@pytest.mark.parametrize("text", ["-1", "two"])
def test_a_bad_warm_count_is_named(text: str) -> None:
    with pytest.raises(ConfigurationError, match=f"BU_CDP_WARM must be .*{text!r}"):
        warm_browsers({"BU_CDP_WARM": text}, ServerConfig(api_key="k").max_browsers)


def _creates(server: ServerThread) -> int:
    return server.manager.metrics.creates


def test_entered_inside_the_programs_own_sync_playwright_names_the_fix(
    server: ServerThread, api: dict[str, str], pages: PageServer
) -> None:
    before = _creates(server)
    with sync_playwright() as pw:
        with pytest.raises(RuntimeError, match=r"remote_browser\(playwright=pw\)"):
            with remote_browser(**api):
                pass
        with RemoteBrowser(playwright=pw, **api) as rb:  # the fix works
            rb.page.goto(pages.url)
            assert rb.page.title() == "Home"
    assert _creates(server) == before + 1  # none made for the refusal


def test_the_sync_face_inside_async_code_names_the_async_one(api: dict[str, str]) -> None:
    async def program() -> None:
        with RemoteBrowser(**api):
            pass

    with pytest.raises(RuntimeError, match="async_remote_browser"):
        asyncio.run(program())


@pytest.mark.parametrize(
    ("name", "value", "named"),
    [("BU_CDP_WARM", "many", "BU_CDP_WARM"), ("BU_CDP_PROXIES", "us=ftp://x:1", "BU_CDP_PROXIES")],
)
def test_a_bad_setting_in_the_environment_is_the_first_calls_error(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, named: str
) -> None:
    """Said by the call that would start the server, not by a child that ends at its start."""
    stop_embedded_server()  # the next use starts a new one, reading the environment
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=named):
        with remote_browser():
            pass
