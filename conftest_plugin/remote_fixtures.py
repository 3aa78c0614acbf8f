"""The fixtures ``--bu-remote`` puts over pytest-playwright's (``conftest_plugin.remote_mode``
registers this module as a plugin, after pytest-playwright's, so these win)."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from conftest_plugin import lifetimes, loops
from conftest_plugin.options import SETTINGS, Settings
from conftest_plugin.remote_mode import Launcher, closed_by_stop, remote_options, without_video

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright

    from bu_cdp.client import BrowserUse
    from bu_cdp.remote import RemoteBrowser

VIDEOS = pytest.StashKey[list[str]]()  # a test's kept videos


def _settings(config: pytest.Config) -> Settings:
    return config.stash[SETTINGS]


def _scope(fixture_name: str, config: pytest.Config) -> Any:
    return _settings(config).remote_scope


@pytest.fixture(scope="session")
def bu_playwright(playwright: Playwright) -> Playwright:
    """pytest-playwright's Playwright: a thread runs one sync Playwright."""
    loops.remember_sync_loop()
    return playwright


@pytest.fixture(scope="session")
def launch_browser(
    pytestconfig: pytest.Config,
    browser_type_launch_args: dict[str, Any],
    connect_options: dict[str, Any] | None,
    playwright: Playwright,
    bu_client: BrowserUse,
) -> Iterator[Launcher]:
    """``launch_browser(**launch_options)``: a remote browser, stopped by ``close()`` or at the
    end of the session."""
    if connect_options:
        pytest.fail(
            "bu-cdp --bu-remote: connect_options connects to a Playwright server of your "
            "own; --bu-remote makes browsers through the API: use one or the other",
            pytrace=False,
        )
    settings = _settings(pytestconfig)
    record = pytestconfig.getoption("--video") != "off"
    with contextlib.ExitStack() as stack:

        def make(launch_options: dict[str, Any]) -> RemoteBrowser:
            options = remote_options(settings, {**browser_type_launch_args, **launch_options})
            if record:
                options["enable_recording"] = True
            remote = lifetimes.start(stack, bu_client, playwright, options)
            stack.callback(closed_by_stop(remote))  # undone before the stop, which disconnects
            without_video(remote.browser)
            return remote

        yield Launcher(make)


@pytest.fixture(scope=_scope)
def browser(launch_browser: Launcher, request: pytest.FixtureRequest) -> Iterator[Browser]:
    """A remote browser for the worker (or the module, or the test: ``--bu-scope``)."""
    video = request.config.getoption("--video")
    per_test = request.scope == "function" and video != "off"
    folder = Path(request.getfixturevalue("output_path")) if per_test else None
    browser = launch_browser()
    yield browser
    browser.close()  # stops it: the recording is ready now
    if folder is not None:
        _keep_video(request, launch_browser.remote_of(browser), folder, video)


def _keep_video(
    request: pytest.FixtureRequest, remote: RemoteBrowser, folder: Path, video: str
) -> None:
    from conftest_plugin.browsers import BrowserHandle
    from conftest_plugin.reports import keep_recording

    node = request.node
    failed = not hasattr(node, "rep_call") or any(  # pytest-playwright's reports of the test
        getattr(getattr(node, f"rep_{when}", None), "failed", False) for when in ("setup", "call")
    )
    if not remote.recording_url or not (video == "on" or (failed and video == "retain-on-failure")):
        return
    handle = BrowserHandle(remote, {}, folder, 0)
    problem = keep_recording(handle, folder.parent, name="video.webm")
    if problem:
        warnings.warn(pytest.PytestWarning(problem), stacklevel=1)
    node.stash.setdefault(VIDEOS, []).extend(path for _, path in handle.saved)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Any:
    report: pytest.TestReport = yield
    if report.when == "teardown":
        report.user_properties.extend(("bu_video", path) for path in item.stash.get(VIDEOS, []))
    return report
