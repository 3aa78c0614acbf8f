"""pytest fixtures for remote browsers, shaped like pytest-playwright.

Fixtures a suite can override by name: ``remote_browser`` (a Page), ``remote_browser_handle``,
``new_remote_browser`` (a factory), ``bu_client``, ``bu_playwright``, ``remote_browser_options``
(the ``RemoteBrowser`` options of every test, the ``*_args`` of this plugin), and their async
twins ``async_remote_browser`` / ``async_remote_browser_handle`` for pytest-asyncio. Settings
and the marker: ``conftest_plugin.options``; a test's handle: ``conftest_plugin.browsers``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

from bu_cdp import _exits
from bu_cdp._effects import run_async, run_sync
from conftest_plugin import artifacts, loops
from conftest_plugin.browsers import BrowserHandle, begin, end, screenshot
from conftest_plugin.options import Settings, add_options, options_for, read_settings, server_of

if TYPE_CHECKING:
    from playwright.async_api import Page as AsyncPage
    from playwright.sync_api import Page, Playwright

    from bu_cdp.client import BrowserUse
    from bu_cdp.remote import AsyncRemoteBrowser, RemoteBrowser

SETTINGS = pytest.StashKey[Settings]()
HANDLES = pytest.StashKey[list[BrowserHandle]]()  # the browsers a test uses, in order
REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()  # a test's reports, by phase

MARKER_HELP = (
    "remote_browser(**options): RemoteBrowser options of this test's browsers, "
    "for example screen=(390, 844), proxy_country_code='de', timeout=5"
)
NEEDS_PYTEST_ASYNCIO = (
    "the async remote-browser fixtures need pytest-asyncio: "
    "install pytest-asyncio (pip install 'bu-cdp[pytest]')"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    config.stash[SETTINGS] = read_settings(config)
    config.addinivalue_line("markers", MARKER_HELP)
    # SIGTERM (what a CI cancel sends) unwinds the run like Ctrl-C, so fixtures stop their
    # browsers: only over the default action, and the default is back when pytest ends.
    undo = _exits.unwind_on_sigterm()
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


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report: pytest.TestReport = yield
    item.stash.setdefault(REPORTS, {})[report.when] = report
    settings = item.config.stash[SETTINGS]
    handles = item.stash.get(HANDLES, [])
    wanted = report.failed or (report.when == "call" and settings.screenshot == "on")
    if wanted and report.when != "teardown" and settings.screenshot != "off":
        # The test's fixtures are not torn down yet: the page still shows the failure.
        for handle in handles:
            if handle.page is not None and (problem := screenshot(handle, settings.output)):
                item.warn(pytest.PytestWarning(problem))
    for handle in handles:
        new = [prop for prop in handle.properties() if prop not in report.user_properties]
        report.user_properties.extend(new)
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    stats = terminalreporter.stats
    failed: dict[str, dict[tuple[str, str], None]] = {
        report.nodeid: {} for report in stats.get("failed", []) + stats.get("error", [])
    }
    # Every report of a failed test counts: the recording URL comes with the teardown's.
    for report in (report for reports in stats.values() for report in reports):
        if getattr(report, "nodeid", None) in failed:
            props = getattr(report, "user_properties", ())
            failed[report.nodeid].update((p, None) for p in props if p[0].startswith("bu_"))
    if any(failed.values()):
        terminalreporter.write_sep("-", "remote browsers of failed tests")
    for nodeid, props in failed.items():
        if props:
            terminalreporter.write_line(nodeid)
            for name, value in props:
                terminalreporter.write_line(f"    {name.removeprefix('bu_')}: {value}")


# -- fixtures --------------------------------------------------------------------------------


def _failed(item: pytest.Item) -> bool:
    """The test failed, or never ran its call to the end (a failing fixture, Ctrl-C)."""
    reports = item.stash.get(REPORTS, {})
    return "call" not in reports or any(report.failed for report in reports.values())


def _new_handle(
    request: pytest.FixtureRequest, remote: Any, options: dict[str, Any], **extra: Any
) -> BrowserHandle:
    item, settings = request.node, request.config.stash[SETTINGS]
    handles = item.stash.setdefault(HANDLES, [])
    folder = artifacts.folder_for(settings.output, item.nodeid)
    handle = BrowserHandle(remote, options, folder, len(handles), **extra)
    handles.append(handle)
    return handle


@contextlib.contextmanager
def _lent(
    request: pytest.FixtureRequest, remote: RemoteBrowser, options: dict[str, Any], reused: bool
) -> Iterator[BrowserHandle]:
    """``remote`` as this test's browser: its context and page, tracing, the trace after."""
    settings = request.config.stash[SETTINGS]
    handle = _new_handle(request, remote, options, reused=reused)
    run_sync(begin(handle, settings.tracing))
    try:
        yield handle
    finally:
        _warn(request, run_sync(end(handle, settings, _failed(request.node))))


def _warn(request: pytest.FixtureRequest, problems: list[str]) -> None:
    for problem in problems:
        request.node.warn(pytest.PytestWarning(problem))


def _start(
    stack: contextlib.ExitStack,
    client: BrowserUse,
    playwright: Playwright,
    options: dict[str, Any],
) -> RemoteBrowser:
    """A new browser, through the session's client unless its options name their own server;
    stopped when ``stack`` closes."""
    from bu_cdp.remote import RemoteBrowser

    remote = RemoteBrowser(playwright=playwright, **server_of(options, client=client), **options)
    remote.__enter__()
    stack.callback(_stop, remote)
    return remote


def _stop(remote: RemoteBrowser) -> None:
    try:
        with loops.sync_playwright_allowed():
            remote.__exit__(None, None, None)
    except Exception as exc:
        _not_stopped(remote, exc)


def _not_stopped(remote: RemoteBrowser | AsyncRemoteBrowser, exc: Exception) -> NoReturn:
    """Fails that teardown with a clear message, never an INTERNALERROR (the server's own
    timeout ends the browser)."""
    pytest.fail(f"could not stop remote browser {remote.id}: {exc}", pytrace=False)


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
    from bu_cdp.remote import _thread_playwright

    shared = _thread_playwright()
    playwright = shared.__enter__()
    loops.remember_sync_loop()
    yield playwright
    with loops.sync_playwright_allowed():
        shared.__exit__(None, None, None)


@pytest.fixture
def remote_browser_options(pytestconfig: pytest.Config) -> dict[str, Any]:
    """``RemoteBrowser`` options of every test's browser; override to add your own."""
    return dict(pytestconfig.stash[SETTINGS].browser_options)


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
                by_options[key] = _start(stack, bu_client, bu_playwright, options)
            return by_options[key]

        yield browser_for


@pytest.fixture
def remote_browser_handle(
    request: pytest.FixtureRequest,
    remote_browser_options: dict[str, Any],
    _bu_browsers: Callable[[dict[str, Any]], RemoteBrowser],
) -> Iterator[BrowserHandle]:
    """This test's browser: id, cdp_url, live_url, browser, and its own context and page."""
    options = options_for(request.node, remote_browser_options)
    reused = request.config.stash[SETTINGS].scope != "function"
    with _lent(request, _bu_browsers(options), options, reused) as handle:
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
            options = options_for(request.node, remote_browser_options, keywords)
            remote = _start(stack, bu_client, bu_playwright, options)
            return stack.enter_context(_lent(request, remote, options, reused=False))

        yield new


@pytest.fixture
def _bu_pytest_asyncio(pytestconfig: pytest.Config) -> None:
    """Asked for first by the async fixtures: without pytest-asyncio, say so plainly."""
    if not pytestconfig.pluginmanager.has_plugin("asyncio"):
        pytest.fail(NEEDS_PYTEST_ASYNCIO, pytrace=False)


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
    options = options_for(request.node, remote_browser_options)
    where = server_of(options, base_url=settings.base_url, dialect=settings.api_dialect)
    remote = AsyncRemoteBrowser(**where, **options)
    await remote.__aenter__()
    try:
        handle = _new_handle(request, remote, options, loop=asyncio.get_running_loop())
        await run_async(begin(handle, settings.tracing))
        yield handle
        _warn(request, await run_async(end(handle, settings, _failed(request.node))))
    finally:
        try:
            await remote.__aexit__(None, None, None)
        except Exception as exc:
            _not_stopped(remote, exc)


@pytest.fixture
def async_remote_browser(async_remote_browser_handle: BrowserHandle) -> AsyncPage:
    """An async Playwright Page on a remote browser for this test (pytest-asyncio)."""
    page: AsyncPage = async_remote_browser_handle.page
    return page
