"""pytest fixtures for remote browsers, shaped like pytest-playwright.

Fixtures a suite can override by name: ``remote_browser`` (a Page), ``remote_browser_handle``,
``new_remote_browser`` (a factory), ``bu_client``, ``bu_playwright``, ``remote_browser_options``
(the ``RemoteBrowser`` options of every test, the ``*_args`` of this plugin), and their async
twins ``async_remote_browser`` / ``async_remote_browser_handle`` for pytest-asyncio. Options:
``conftest_plugin.options``; what a failing test leaves behind: ``conftest_plugin.artifacts``.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from types import FrameType
from typing import TYPE_CHECKING, Any

import pytest

from bu_cdp._effects import run_async, run_sync
from conftest_plugin import artifacts, loops
from conftest_plugin.browsers import BrowserHandle, BrowserPool, begin, end, screenshot
from conftest_plugin.options import (
    OptionError,
    Settings,
    add_options,
    keyword_options,
    marker_options,
    read_settings,
)

if TYPE_CHECKING:
    from playwright.async_api import Page as AsyncPage
    from playwright.sync_api import Page, Playwright

    from bu_cdp.client import BrowserUse
    from bu_cdp.remote import RemoteBrowser


def async_fixture(function: Callable[..., Any]) -> Any:
    """A pytest-asyncio fixture; the rest of the plugin works without pytest-asyncio."""
    try:
        from pytest_asyncio import fixture
    except ImportError:  # pragma: no cover - the async fixtures cannot be used then anyway
        return pytest.fixture(function)
    return fixture(function)


SETTINGS = pytest.StashKey[Settings]()
HANDLES = pytest.StashKey[list[BrowserHandle]]()  # the browsers a test uses, in order
FAILED = pytest.StashKey[bool]()  # its setup or call failed
CALLED = pytest.StashKey[bool]()  # its call ran to a report (not cut short by Ctrl-C)
SIGTERM_INSTALLED = pytest.StashKey[bool]()
WHERE_FROM = {"base_url", "api_key", "client"}  # options that choose the server themselves

MARKER_HELP = (
    "remote_browser(profile=..., proxy_country_code=..., screen=(w, h), timeout=..., "
    "enable_recording=...): options of this test's remote browser"
)


# -- configuration ---------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    config.stash[SETTINGS] = read_settings(config)
    config.addinivalue_line("markers", MARKER_HELP)
    _install_sigterm(config)


def pytest_unconfigure(config: pytest.Config) -> None:
    if config.stash.get(SIGTERM_INSTALLED, False) and signal.getsignal(signal.SIGTERM) in (
        _on_sigterm,
        signal.SIG_IGN,
    ):
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist starts its workers
def pytest_sessionstart(session: pytest.Session) -> None:
    if not hasattr(session.config, "workerinput"):  # the controller, never an xdist worker
        artifacts.clear_output(session.config.stash[SETTINGS].output)


class Terminated(KeyboardInterrupt):
    """SIGTERM (what a CI cancel sends) ends the run like Ctrl-C: fixtures tear down, so every
    browser is stopped. pytest itself would die on SIGTERM without any teardown."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second one must not cut the cleanup short
    raise Terminated("SIGTERM received: stopping remote browsers")


def _install_sigterm(config: pytest.Config) -> None:
    """Only over the default action: a handler someone else installed stays theirs."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _on_sigterm)
        config.stash[SIGTERM_INSTALLED] = True


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Any:
    if item.get_closest_marker("asyncio") is None:
        return (yield)
    with loops.asyncio_allowed():
        return (yield)


# -- reports ---------------------------------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report: pytest.TestReport = yield
    settings = item.config.stash[SETTINGS]
    handles = [h for h in item.stash.get(HANDLES, []) if h.page is not None]
    if report.when == "call":
        item.stash[CALLED] = True
    if report.failed and report.when in ("setup", "call"):
        item.stash[FAILED] = True
    # Here the test's fixtures have not been torn down yet: the page still shows the failure.
    wanted = report.failed or (settings.screenshot == "on" and report.when == "call")
    if settings.screenshot != "off" and wanted and report.when != "teardown":
        for handle in handles:
            problem = screenshot(handle, settings)
            if problem:
                item.warn(pytest.PytestWarning(problem))
    for handle in item.stash.get(HANDLES, []):
        for prop in handle.properties():
            if prop not in report.user_properties:
                report.user_properties.append(prop)
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    stats = terminalreporter.stats
    failed = {r.nodeid for key in ("failed", "error") for r in stats.get(key, [])}
    found: dict[str, list[tuple[str, str]]] = {}
    for reports in stats.values():
        for report in reports:
            if getattr(report, "nodeid", None) not in failed:
                continue
            props = found.setdefault(report.nodeid, [])
            for name, value in getattr(report, "user_properties", ()):
                if name.startswith("bu_") and (name, value) not in props:
                    props.append((name, value))
    found = {nodeid: props for nodeid, props in found.items() if props}
    if found:
        terminalreporter.write_sep("-", "remote browsers of failed tests")
        for nodeid, props in found.items():
            terminalreporter.write_line(nodeid)
            for name, value in props:
                terminalreporter.write_line(f"    {name.removeprefix('bu_')}: {value}")


# -- fixtures --------------------------------------------------------------------------------


def _settings(config: pytest.Config) -> Settings:
    return config.stash[SETTINGS]


def _options_for(request: pytest.FixtureRequest, base: dict[str, Any]) -> dict[str, Any]:
    """The suite's options with the test's markers on top; a bad marker fails this test."""
    try:
        marked = marker_options(request.node.iter_markers("remote_browser"))
    except OptionError as exc:
        problem = str(exc)
    else:
        merged = {**base, **marked}
        return {key: value for key, value in merged.items() if value is not None}
    pytest.fail(problem, pytrace=False)


def _new_handle(
    request: pytest.FixtureRequest, remote: Any, options: dict[str, Any], **extra: Any
) -> BrowserHandle:
    item = request.node
    handles = item.stash.setdefault(HANDLES, [])
    output = _settings(item.config).output
    folder = artifacts.folder_for(output, item.nodeid)
    handle = BrowserHandle(remote, options, folder, len(handles), **extra)
    handles.append(handle)
    return handle


def _lend(
    request: pytest.FixtureRequest, pool: BrowserPool, options: dict[str, Any]
) -> BrowserHandle:
    handle = _new_handle(request, pool.get(options), options, reused=pool.reuse)
    run_sync(begin(handle, _settings(request.config)))
    return handle


def _give_back(request: pytest.FixtureRequest, handle: BrowserHandle) -> None:
    _warn(request, run_sync(end(handle, _settings(request.config), _failed(request.node))))


def _failed(item: pytest.Item) -> bool:
    return item.stash.get(FAILED, False) or not item.stash.get(CALLED, False)


def _warn(request: pytest.FixtureRequest, problems: list[str]) -> None:
    for problem in problems:
        request.node.warn(pytest.PytestWarning(problem))


def _fail_on(problems: list[str]) -> None:
    """A browser that could not be stopped fails the teardown with a clear message."""
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture(scope="session")
def bu_client(pytestconfig: pytest.Config) -> Iterator[BrowserUse]:
    """The API client of the session (base URL from the options, key from the environment)."""
    from bu_cdp.client import BrowserUse

    with BrowserUse(base_url=_settings(pytestconfig).base_url) as client:
        yield client


@pytest.fixture(scope="session")
def bu_playwright() -> Iterator[Playwright]:
    """One sync Playwright for the session: two of them cannot run in one thread."""
    from playwright.sync_api import sync_playwright

    manager = sync_playwright()
    playwright = manager.__enter__()
    loops.remember_sync_loop()
    yield playwright
    with loops.sync_playwright_allowed():
        manager.__exit__(None, None, None)


@pytest.fixture
def remote_browser_options(pytestconfig: pytest.Config) -> dict[str, Any]:
    """``RemoteBrowser`` options of every test's browser; override to add your own."""
    return _settings(pytestconfig).browser_options()


def _opener(client: BrowserUse, playwright: Playwright) -> Callable[..., RemoteBrowser]:
    """Start browsers through the session's client and Playwright, unless the options name
    their own server."""

    def open_browser(options: dict[str, Any]) -> RemoteBrowser:
        from bu_cdp.remote import RemoteBrowser

        shared: dict[str, Any] = {} if WHERE_FROM & options.keys() else {"client": client}
        return RemoteBrowser(playwright=playwright, **shared, **options).__enter__()

    return open_browser


def _pool_scope(fixture_name: str, config: pytest.Config) -> Any:
    return _settings(config).scope


@pytest.fixture(scope=_pool_scope)
def _bu_browsers(
    pytestconfig: pytest.Config, bu_client: BrowserUse, bu_playwright: Playwright
) -> Iterator[BrowserPool]:
    """The browsers of the configured scope, stopped when it ends."""
    reuse = _settings(pytestconfig).scope != "function"
    pool = BrowserPool(_opener(bu_client, bu_playwright), reuse=reuse)
    yield pool
    with loops.sync_playwright_allowed():
        problems = pool.close()
    _fail_on(problems)


@pytest.fixture
def remote_browser_handle(
    request: pytest.FixtureRequest,
    remote_browser_options: dict[str, Any],
    _bu_browsers: BrowserPool,
) -> Iterator[BrowserHandle]:
    """This test's browser: id, cdp_url, live_url, browser, and its own context and page."""
    handle = _lend(request, _bu_browsers, _options_for(request, remote_browser_options))
    yield handle
    _give_back(request, handle)


@pytest.fixture
def remote_browser(remote_browser_handle: BrowserHandle) -> Page:
    """A Playwright Page on a remote browser for this test."""
    page: Page = remote_browser_handle.page
    return page


@pytest.fixture
def new_remote_browser(
    request: pytest.FixtureRequest,
    remote_browser_options: dict[str, Any],
    bu_client: BrowserUse,
    bu_playwright: Playwright,
) -> Iterator[Callable[..., BrowserHandle]]:
    """``new_remote_browser(screen=(800, 600))``: one more fresh browser (the marker's
    keywords); every one is stopped after the test."""
    base = _options_for(request, remote_browser_options)
    pool = BrowserPool(_opener(bu_client, bu_playwright), reuse=False)
    handles: list[BrowserHandle] = []

    def new(**keywords: Any) -> BrowserHandle:
        merged = {**base, **keyword_options(keywords, "new_remote_browser()")}
        options = {key: value for key, value in merged.items() if value is not None}
        handles.append(_lend(request, pool, options))
        return handles[-1]

    try:
        yield new
        for handle in handles:
            _give_back(request, handle)
    finally:
        _fail_on(pool.close())


@async_fixture
async def async_remote_browser_handle(
    request: pytest.FixtureRequest, remote_browser_options: dict[str, Any]
) -> AsyncIterator[BrowserHandle]:
    """The async twin of ``remote_browser_handle``: always a fresh browser for the test
    (pytest-asyncio gives each test its own event loop, and a connection belongs to one)."""
    from bu_cdp.remote import AsyncRemoteBrowser

    settings = _settings(request.config)
    options = _options_for(request, remote_browser_options)
    where: dict[str, Any] = {} if WHERE_FROM & options.keys() else {"base_url": settings.base_url}
    remote = await AsyncRemoteBrowser(**where, **options).__aenter__()
    try:
        handle = _new_handle(request, remote, options, loop=asyncio.get_running_loop())
        await run_async(begin(handle, settings))
        yield handle
        _warn(request, await run_async(end(handle, settings, _failed(request.node))))
    finally:
        try:
            await remote.__aexit__(None, None, None)
        except Exception as exc:
            pytest.fail(f"could not stop remote browser {remote.id}: {exc}", pytrace=False)


@pytest.fixture
def async_remote_browser(async_remote_browser_handle: BrowserHandle) -> AsyncPage:
    """An async Playwright Page on a remote browser for this test (pytest-asyncio)."""
    page: AsyncPage = async_remote_browser_handle.page
    return page
