"""pytest fixtures for remote browsers, shaped like pytest-playwright.

Fixtures a suite can override by name: ``remote_browser`` (a Page), ``remote_browser_handle``,
``new_remote_browser`` (a factory), ``bu_client``, ``bu_playwright``, ``remote_browser_options``
(the ``RemoteBrowser`` options of every test, the ``*_args`` of this plugin), and their async
twins ``async_remote_browser`` / ``async_remote_browser_handle`` for pytest-asyncio. Settings
and the marker: ``conftest_plugin.options``; a test's handle: ``conftest_plugin.browsers``;
context options: ``conftest_plugin.contexts``; reports: ``conftest_plugin.reports``;
pytest-playwright's own fixtures on remote browsers (``--bu-remote``):
``conftest_plugin.remote_mode``.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import re
import sys
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from bu_cdp.effects import run_async, run_sync
from conftest_plugin import (
    artifacts,
    contexts,
    early_start,
    lifetimes,
    loops,
    remote_fixtures,
    remote_mode,
    reports,
)
from conftest_plugin.browsers import BrowserHandle, begin, end
from conftest_plugin.options import (
    SETTINGS,
    add_options,
    options_for,
    read_settings,
    server_of,
)

if TYPE_CHECKING:
    from playwright.async_api import Page as AsyncPage
    from playwright.sync_api import Page, Playwright

    from bu_cdp.client import BrowserUse
    from bu_cdp.remote import RemoteBrowser

HANDLES = pytest.StashKey[list[BrowserHandle]]()  # the browsers a test uses, in order
REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()  # a test's reports, by phase

MARKER_HELP = (
    "remote_browser(**options): RemoteBrowser options of this test's browsers, "
    "for example screen=(390, 844), proxy_country_code='de', timeout=5"
)
ASYNC_FROM_SYNC = (
    "{test} is a sync test: the async remote-browser fixtures are for async def tests; "
    "use remote_browser or remote_browser_handle here"
)
# pytest-asyncio warns on every run of a project that has not set it; the plugin's async
# fixtures are function-scoped, so the default is no question for a project that uses them.
LOOP_SCOPE_UNSET = 'The configuration option "asyncio_default_fixture_loop_scope" is unset'
NEEDS_PYTEST_ASYNCIO = (
    "the async remote-browser fixtures need pytest-asyncio: "
    "install pytest-asyncio (pip install 'bu-cdp[pytest]')"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)
    # The first moment pytest calls a plugin, while it still loads the others: the embedded
    # default boots meanwhile when the command line asks for remote browsers.
    early_start.start_if_asked(sys.argv[1:])


@pytest.hookimpl(tryfirst=True)  # before pytest-asyncio's, which warns
def pytest_configure(config: pytest.Config) -> None:
    warnings.filterwarnings("ignore", message=re.escape(LOOP_SCOPE_UNSET))
    config.stash[SETTINGS] = settings = read_settings(config)
    config.addinivalue_line("markers", MARKER_HELP)
    if (settings.remote_scope if settings.remote else settings.scope) == "session":
        # One browser for the run: the embedded default starts it ahead and keeps no other.
        from bu_cdp.embedded import expect_one_browser

        expect_one_browser()
    if settings.remote:
        remote_mode.check_usage(config)
        # Registered after pytest-playwright (an entry point), so these definitions win; a
        # conftest's overrides still win over both.
        config.pluginmanager.register(remote_fixtures, "bu_cdp_remote")
    # SIGTERM (what a CI cancel sends) unwinds the run like Ctrl-C, so fixtures stop their
    # browsers: only over the default action, and the default is back when pytest ends.
    from bu_cdp.remote import unwind_on_sigterm

    undo = unwind_on_sigterm()
    if undo is not None:
        config.add_cleanup(undo)


def pytest_keyboard_interrupt() -> None:
    loops.wake_sync_loop()  # the fixtures' teardown, next, talks to Playwright


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist starts its workers
def pytest_sessionstart(session: pytest.Session) -> None:
    if not hasattr(session.config, "workerinput"):  # the controller, never an xdist worker
        artifacts.clear_output(session.config.stash[SETTINGS].output)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Any:
    asyncio_test = item.get_closest_marker("asyncio") is not None
    with loops.asyncio_allowed() if asyncio_test else contextlib.nullcontext():
        return (yield)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # pytest-rerunfailures runs a test again: each attempt has its own browsers and reports.
    item.stash[HANDLES], item.stash[REPORTS] = [], {}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report: pytest.TestReport = yield
    item.stash.setdefault(REPORTS, {})[report.when] = report
    settings = item.config.stash[SETTINGS]
    reports.add_to_report(item, report, item.stash.get(HANDLES, []), settings, _failed(item))
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    reports.write_summary(terminalreporter)


# -- fixtures --------------------------------------------------------------------------------


def _failed(item: pytest.Item) -> bool:
    """The test failed, or never ran its call to the end (a failing fixture, Ctrl-C)."""
    reports = item.stash.get(REPORTS, {})
    return "call" not in reports or any(report.failed for report in reports.values())


def _context_args(
    request: pytest.FixtureRequest, context_options: dict[str, Any], playwright: Any
) -> dict[str, Any]:
    """The test's ``new_context()`` keywords: its device's, the ``base_url`` fixture (of
    pytest-playwright or pytest-base-url, when installed), then the test's own options."""
    try:
        base_url = request.getfixturevalue("base_url")
    except pytest.FixtureLookupError:
        base_url = None
    try:
        # Playwright copies its ~150 device descriptors at every .devices: only for a device.
        devices = playwright.devices if context_options.get(contexts.DEVICE) else {}
        return contexts.context_args(devices, base_url, context_options)
    except ValueError as exc:
        pytest.fail(f"bu-cdp: {exc}", pytrace=False)


def _new_handle(
    request: pytest.FixtureRequest, remote: Any, options: dict[str, Any], **extra: Any
) -> BrowserHandle:
    item, settings = request.node, request.config.stash[SETTINGS]
    handles = item.stash.setdefault(HANDLES, [])
    retry = getattr(item, "execution_count", 1) - 1  # pytest-rerunfailures' attempt
    folder = artifacts.folder_for(settings.output, item.nodeid, retry)
    handle = BrowserHandle(remote, options, folder, len(handles), **extra)
    handles.append(handle)
    return handle


@contextlib.contextmanager
def _lent(
    request: pytest.FixtureRequest,
    remote: RemoteBrowser,
    options: dict[str, Any],
    reused: bool,
    context_args: dict[str, Any],
) -> Iterator[BrowserHandle]:
    """``remote`` as this test's browser: its context and page, tracing, the trace after."""
    settings = request.config.stash[SETTINGS]
    handle = _new_handle(request, remote, options, reused=reused, context_args=context_args)
    run_sync(begin(handle, settings.tracing))
    try:
        yield handle
    finally:
        _warn(request, run_sync(end(handle, settings, _failed(request.node))))


def _warn(request: pytest.FixtureRequest, problems: list[str]) -> None:
    for problem in problems:
        request.node.warn(pytest.PytestWarning(problem))


@pytest.fixture(scope="session")
def bu_client(pytestconfig: pytest.Config) -> Iterator[BrowserUse]:
    """The API client of the session (base URL from the options, key from the environment)."""
    from bu_cdp.client import BrowserUse

    settings = pytestconfig.stash[SETTINGS]
    with BrowserUse(base_url=settings.base_url, dialect=settings.api_dialect) as client:
        yield client


@pytest.fixture(scope="session")
def bu_playwright() -> Iterator[Playwright]:
    """The thread's sync Playwright (the one ``RemoteBrowser`` blocks share), for the session."""
    from bu_cdp.remote import thread_playwright

    shared = thread_playwright()
    playwright = shared.__enter__()
    loops.remember_sync_loop()
    yield playwright
    with loops.sync_playwright_allowed():
        shared.__exit__(None, None, None)


@pytest.fixture
def remote_browser_options(pytestconfig: pytest.Config) -> dict[str, Any]:
    """``RemoteBrowser`` options of every test's browser, and context options (``new_context()``
    keywords, ``device``); override to add your own."""
    settings = pytestconfig.stash[SETTINGS]
    device = {contexts.DEVICE: settings.device} if settings.device else {}
    return {**settings.browser_options, **device}


def _scope(fixture_name: str, config: pytest.Config) -> Any:
    return config.stash[SETTINGS].scope


@pytest.fixture(scope=_scope)
def _bu_browsers(
    pytestconfig: pytest.Config, bu_client: BrowserUse, bu_playwright: Playwright
) -> Iterator[Callable[[dict[str, Any]], RemoteBrowser]]:
    """Browsers of the configured scope, all stopped when it ends: a fresh one per test, or in
    the module and session scopes one per distinct options, reused."""
    reuse = pytestconfig.stash[SETTINGS].scope != "function"
    by_options: dict[str, RemoteBrowser] = {}
    with contextlib.ExitStack() as stack:

        def browser_for(options: dict[str, Any]) -> RemoteBrowser:
            key = repr(sorted(options.items()))
            if key not in by_options or not reuse:
                by_options[key] = lifetimes.start(stack, bu_client, bu_playwright, options)
            return by_options[key]

        yield browser_for


@pytest.fixture
def remote_browser_handle(
    request: pytest.FixtureRequest,
    remote_browser_options: dict[str, Any],
    bu_playwright: Playwright,
    _bu_browsers: Callable[[dict[str, Any]], RemoteBrowser],
) -> Iterator[BrowserHandle]:
    """This test's browser: id, cdp_url, live_url, browser, and its own context and page."""
    options, context_options = contexts.split(options_for(request.node, remote_browser_options))
    context_args = _context_args(request, context_options, bu_playwright)
    reused = request.config.stash[SETTINGS].scope != "function"
    with _lent(request, _bu_browsers(options), options, reused, context_args) as handle:
        yield handle


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
    """``new_remote_browser(screen=(800, 600))``: one more fresh browser, with the marker's
    keywords; every one is stopped after the test."""
    with contextlib.ExitStack() as stack:

        def new(**keywords: Any) -> BrowserHandle:
            asked = options_for(request.node, remote_browser_options, keywords)
            options, context_options = contexts.split(asked)
            context_args = _context_args(request, context_options, bu_playwright)
            remote = lifetimes.start(stack, bu_client, bu_playwright, options)
            return stack.enter_context(_lent(request, remote, options, False, context_args))

        yield new


@pytest.fixture
def _bu_pytest_asyncio(request: pytest.FixtureRequest) -> None:
    """Asked for first by the async fixtures, before any browser is made: without
    pytest-asyncio, or from a sync test, say so plainly."""
    if not request.config.pluginmanager.has_plugin("asyncio"):
        pytest.fail(NEEDS_PYTEST_ASYNCIO, pytrace=False)
    if not inspect.iscoroutinefunction(getattr(request.node, "function", None)):
        pytest.fail(ASYNC_FROM_SYNC.format(test=request.node.name), pytrace=False)


def _async_fixture(function: Callable[..., Any]) -> Any:
    try:
        from pytest_asyncio import fixture
    except ImportError:  # then _bu_pytest_asyncio fails the tests asking for it, clearly
        return pytest.fixture(function)
    return fixture(function)


@_async_fixture
async def async_remote_browser_handle(
    _bu_pytest_asyncio: None, request: pytest.FixtureRequest, remote_browser_options: dict[str, Any]
) -> AsyncIterator[BrowserHandle]:
    """The async twin of ``remote_browser_handle``: always a fresh browser for the test
    (pytest-asyncio gives each test its own event loop, and a connection belongs to one)."""
    from bu_cdp.remote import AsyncRemoteBrowser

    settings = request.config.stash[SETTINGS]
    options, context_options = contexts.split(options_for(request.node, remote_browser_options))
    where = server_of(options, base_url=settings.base_url, dialect=settings.api_dialect)
    remote = AsyncRemoteBrowser(**where, **options)
    await remote.__aenter__()
    try:
        context_args = _context_args(request, context_options, remote._playwright)
        loop = asyncio.get_running_loop()
        handle = _new_handle(request, remote, options, loop=loop, context_args=context_args)
        await run_async(begin(handle, settings.tracing))
        yield handle
        _warn(request, await run_async(end(handle, settings, _failed(request.node))))
    finally:
        try:
            await remote.__aexit__(None, None, None)
        except Exception as exc:
            lifetimes.not_stopped(remote, exc)


@pytest.fixture
def async_remote_browser(async_remote_browser_handle: BrowserHandle) -> AsyncPage:
    """An async Playwright Page on a remote browser for this test (pytest-asyncio)."""
    page: AsyncPage = async_remote_browser_handle.page
    return page
