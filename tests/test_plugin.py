"""The pytest plugin, run with pytester in a subprocess against the real server and Chromium.

Each inner run writes the ids of the browsers its tests used to ``ids.txt``; the outer test
then asks the API whether every one of them was stopped.
"""

from __future__ import annotations

import secrets
import signal
import subprocess
import sys
import time
import uuid
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from bu_cdp import BrowserUse
from bu_cdp.server.thread import ServerThread
from tests.support.local_api import configure_environment
from tests.support.pages import PageServer
from tests.support.proxy import AuthProxy
from tests.support.waiting import wait_until

INI = """
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
{extra}
"""

# Inner tests call record(handle) to write down the browsers they used.
RECORD = """
import os, pathlib
import pytest

URL = "{url}"

def record(handle, note=""):
    worker = os.environ.get("PYTEST_XDIST_WORKER", "-")
    with pathlib.Path("ids.txt").open("a") as ids:
        ids.write(f"{{handle.id}} {{worker}} {{note}}\\n")
"""


def point_at(server: ServerThread, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    configure_environment(server, monkeypatch)
    return {"base_url": server.base_url, "api_key": server.config.api_key}


def inner(pytester: pytest.Pytester, pages: PageServer, tests: str, ini: str = "") -> None:
    pytester.makeini(INI.format(extra=ini))
    pytester.makepyfile(RECORD.format(url=pages.url) + tests)


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)


def recorded(pytester: pytest.Pytester) -> list[list[str]]:
    return [line.split() for line in (pytester.path / "ids.txt").read_text().splitlines()]


def assert_all_stopped(api: dict[str, str], ids: list[str]) -> None:
    assert ids
    with BrowserUse(**api) as client:
        states = {browser_id: client.browsers.get(browser_id).status for browser_id in ids}
    assert set(states.values()) == {"stopped"}, states


def is_png(path: Path) -> bool:
    return path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def is_trace(path: Path) -> bool:
    with zipfile.ZipFile(path) as trace:
        return any(name.endswith(".trace") for name in trace.namelist())


FIXTURES_AND_FAILURES = """
def test_fixtures(remote_browser, remote_browser_handle, bu_client, new_remote_browser):
    handle = remote_browser_handle
    record(handle)
    remote_browser.goto(URL + "/about")
    assert remote_browser.title() == "About us"
    assert handle.page is remote_browser and handle.context is remote_browser.context
    assert handle.cdp_url.startswith("ws://") and f"/live/{handle.id}/" in handle.live_url
    assert handle.context in handle.browser.contexts
    assert bu_client.browsers.get(handle.id).status == "active"
    # A second browser for the same test, with options of its own.
    other = new_remote_browser(screen=(800, 600))
    record(other)
    assert other.id != handle.id
    other.page.goto(URL + "/size")
    assert other.page.title() == "800x600"

def test_sync_failure(remote_browser_handle):
    record(remote_browser_handle, "sync-failure")
    remote_browser_handle.page.goto(URL + "/about")
    # pytest prints the handle's repr here: its options (an API key) must not show.
    assert remote_browser_handle.page.title() == "sync failure on purpose"

async def test_async_failure(async_remote_browser_handle, async_remote_browser):
    record(async_remote_browser_handle)
    await async_remote_browser.goto(URL + "/about")
    assert await async_remote_browser.title() == "About us"
    assert False, "async failure on purpose"

@pytest.fixture
def broken(remote_browser_handle):
    record(remote_browser_handle)
    raise RuntimeError("fixture broken on purpose")

def test_with_a_broken_fixture(broken):
    pass
"""

# The docs tell users to put an API key into the options: it must never reach a report.
OPTIONS_WITH_A_KEY = """
import os
import pytest

@pytest.fixture
def remote_browser_options(remote_browser_options):
    return {**remote_browser_options, "api_key": os.environ["BROWSER_USE_API_KEY"]}
"""


def test_fixtures_and_what_a_failure_leaves_behind(
    pytester: pytest.Pytester,
    pages: PageServer,
    server: ServerThread,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    api = point_at(server, monkeypatch)
    inner(pytester, pages, FIXTURES_AND_FAILURES)
    pytester.makeconftest(OPTIONS_WITH_A_KEY)
    result = run(
        pytester,
        "--bu-tracing",
        "retain-on-failure",
        "--bu-recording",
        "on",
        "--junitxml",
        "junit.xml",
    )
    result.assert_outcomes(passed=1, failed=2, errors=1)
    result.stdout.fnmatch_lines(["*sync failure on purpose*", "*async failure on purpose*"])
    result.stdout.fnmatch_lines(["*BrowserHandle(id=*"])  # the repr was printed...
    assert api["api_key"] not in result.stdout.str()  # ... without the key in the options
    ids = [line[0] for line in recorded(pytester)]
    assert len(set(ids)) == 5
    assert_all_stopped(api, ids)

    # Screenshots and traces of the failures only, each under the test's own folder.
    output = pytester.path / "test-results"
    failed = ["sync_failure", "async_failure", "with_a_broken_fixture"]
    assert sorted(p.name for p in output.iterdir() if p.is_dir()) == [
        f"test_fixtures_and_what_a_failure_leaves_behind.py-test_{name}" for name in sorted(failed)
    ]
    for folder in output.iterdir():
        if folder.is_dir():
            assert is_png(folder / "screenshot.png") and is_trace(folder / "trace.zip"), folder

    # The browser's id, its real live view and recording, and the artifacts in the JUnit XML...
    failing_id = next(line[0] for line in recorded(pytester) if line[-1] == "sync-failure")
    junit = (pytester.path / "junit.xml").read_text()
    assert api["api_key"] not in junit
    case = next(
        c for c in ET.fromstring(junit).iter("testcase") if c.get("name") == "test_sync_failure"
    )
    properties = {p.get("name"): p.get("value") or "" for p in case.iter("property")}
    assert properties["bu_browser_id"] == failing_id
    with BrowserUse(**api) as client:
        browser = client.browsers.get(failing_id)
    assert properties["bu_live_url"] == browser.live_url
    assert properties["bu_recording_url"] == browser.recording_url
    root = server.base_url.removesuffix("/api/v3")
    assert properties["bu_live_url"].startswith(f"{root}/live/{failing_id}/")
    assert properties["bu_recording_url"].startswith(f"{root}/recordings/{failing_id}/")
    video = httpx.get(properties["bu_recording_url"])
    assert video.status_code == 200
    assert video.content.startswith(b"\x1a\x45\xdf\xa3")  # a WebM (EBML) file
    assert Path(properties["bu_screenshot"]).name == "screenshot.png"
    assert Path(properties["bu_trace"]).name == "trace.zip"
    # ... and in the terminal summary.
    result.stdout.fnmatch_lines(
        [
            "*remote browsers of failed tests*",
            "*::test_sync_failure",
            f"*browser_id: {failing_id}",
            f"*live_url: {browser.live_url}",
            f"*recording_url: {browser.recording_url}",
        ]
    )


OPTIONS_AND_SCOPE = """
pytestmark = pytest.mark.remote_browser(profile=None, proxy_country_code=None)

def test_suite_options(remote_browser_options):
    assert remote_browser_options == {
        "profile": "env-profile",  # only in the environment
        "proxy_country_code": "it",  # ini beats environment
        "screen": (800, 600),  # ini beats environment
        "timeout": 9,  # command line beats ini
    }

def test_first(remote_browser_handle):
    record(remote_browser_handle, "9")
    page = remote_browser_handle.page
    page.goto(URL + "/login?user=ann")
    page.evaluate("localStorage.setItem('seen', 'yes')")
    assert page.context is not remote_browser_handle.remote.context
    assert "profile" not in remote_browser_handle.options  # unset by the module's marker

def test_second_same_browser_fresh_context(remote_browser_handle):
    record(remote_browser_handle, "9")
    page = remote_browser_handle.page
    page.goto(URL + "/whoami")
    assert page.title() == "anonymous"
    assert page.evaluate("localStorage.getItem('seen')") is None
    assert len(remote_browser_handle.browser.contexts) == 2  # its own and the default one
    page.goto(URL + "/size")
    assert page.title() == "800x600"

@pytest.mark.remote_browser(screen=(640, 480), timeout=3)
def test_other_options_other_browser(remote_browser_handle):
    record(remote_browser_handle, "3")
    remote_browser_handle.page.goto(URL + "/size")
    assert remote_browser_handle.page.title() == "640x480"

@pytest.mark.remote_browser(screeen=(640, 480))
def test_misspelt_marker(remote_browser):
    pass

@pytest.mark.remote_browser(timeout="soon")
def test_bad_marker_value(remote_browser):
    pass
"""


def test_options_markers_and_module_scope(
    pytester: pytest.Pytester,
    pages: PageServer,
    server: ServerThread,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Marker > command line > ini > environment; in the module scope, tests asking for the
    same options share one browser, each with a fresh context."""
    api = point_at(server, monkeypatch)
    monkeypatch.setenv("BU_CDP_PROFILE", "env-profile")
    monkeypatch.setenv("BU_CDP_PROXY_COUNTRY", "fr")
    monkeypatch.setenv("BU_CDP_SCREEN", "1000x700")
    ini = "bu_scope = module\nbu_proxy_country = it\nbu_screen = 800x600\nbu_timeout = 7"
    inner(pytester, pages, OPTIONS_AND_SCOPE, ini)
    result = run(pytester, "--bu-timeout", "9", "--bu-screenshot", "on")
    # A bad marker fails its own test, with a message naming the mistake; the run goes on.
    result.assert_outcomes(passed=4, errors=2)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_misspelt_marker*",
            "@pytest.mark.remote_browser*unexpected keyword*'screeen'*did you mean 'screen'*",
            "*ERROR at setup of test_bad_marker_value*",
            "@pytest.mark.remote_browser: timeout*'soon'*",
        ],
        consecutive=True,
    )
    (first, _, _), (second, _, _), (other, _, _) = recorded(pytester)
    assert first == second != other
    assert server.manager.get(first).timeout_minutes == 9
    assert server.manager.get(other).timeout_minutes == 3
    assert_all_stopped(api, [first, other])
    # --bu-screenshot on: a screenshot of every test that had a browser, passed or not.
    assert len(list((pytester.path / "test-results").glob("*/screenshot.png"))) == 3


PROFILE_THROUGH_A_COUNTRY_PROXY = """
def test_logs_in(remote_browser_handle):
    record(remote_browser_handle)
    page = remote_browser_handle.page
    page.goto(URL + "/login?user=zoe")
    assert page.title() == "Logged in"

def test_still_logged_in_on_another_browser(remote_browser_handle):
    record(remote_browser_handle)
    page = remote_browser_handle.page
    page.goto(URL + "/whoami")
    assert page.title() == "zoe"  # the cookie the first browser left in the profile
"""


def test_profile_and_proxy_country_options_reach_real_browsers(
    pytester: pytest.Pytester,
    pages: PageServer,
    make_server: Callable[..., ServerThread],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The profile (ini) and the proxy country (command line) reach every browser of the run:
    a fresh browser per test, both on the profile, both through the country's real proxy."""
    with AuthProxy("plugin-user", secrets.token_urlsafe(12)) as upstream:
        proxied = make_server(proxies={"us": upstream.url()})
        api = point_at(proxied, monkeypatch)
        name = f"plugin-{uuid.uuid4().hex[:8]}"
        with BrowserUse(base_url=api["base_url"], api_key=api["api_key"]) as client:
            profile = client.profiles.create(name)  # a name must exist to be found
        inner(pytester, pages, PROFILE_THROUGH_A_COUNTRY_PROXY, f"bu_profile = {name}")
        result = run(pytester, "--bu-proxy-country", "us")
        result.assert_outcomes(passed=2)
        ids = [line[0] for line in recorded(pytester)]
        assert len(set(ids)) == 2
        for browser_id in ids:
            request = proxied.manager.get(browser_id).request
            assert (request.profile_id, request.proxy_country_code) == (profile.id, "us")
        for path in ("/login?user=zoe", "/whoami"):
            seen = upstream.saw("GET", pages.url + path)
            assert seen and all(s.authorized for s in seen), (path, upstream.seen)
        assert_all_stopped(api, ids)


SESSION_FIRST_MODULE = """
def test_in_the_first_module(remote_browser_handle):
    record(remote_browser_handle)
    remote_browser_handle.page.goto(URL + "/login?user=ann")
"""

SESSION_SECOND_MODULE = """
def test_in_the_second_module(remote_browser_handle, bu_client):
    record(remote_browser_handle)
    assert bu_client.browsers.get(remote_browser_handle.id).status == "active"
    assert len(remote_browser_handle.browser.contexts) == 2  # the first test's was closed
    remote_browser_handle.page.goto(URL + "/whoami")
    assert remote_browser_handle.page.title() == "anonymous"
"""


def test_session_scope_shares_one_browser_across_modules_and_stops_it(
    pytester: pytest.Pytester,
    pages: PageServer,
    make_server: Callable[..., ServerThread],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    own = make_server()  # a server of its own: "no active browser left" means this run's
    api = point_at(own, monkeypatch)
    pytester.makeini(INI.format(extra=""))
    record = RECORD.format(url=pages.url)
    pytester.makepyfile(
        test_first=record + SESSION_FIRST_MODULE, test_second=record + SESSION_SECOND_MODULE
    )
    result = run(pytester, "--bu-scope", "session")
    result.assert_outcomes(passed=2)
    ids = [line[0] for line in recorded(pytester)]
    assert len(ids) == 2 and len(set(ids)) == 1, ids
    assert_all_stopped(api, ids)
    assert own.manager.active() == []


XDIST = """
def test_passes(remote_browser_handle):
    record(remote_browser_handle)

def test_fails(remote_browser_handle):
    record(remote_browser_handle)
    assert False
"""


def test_xdist_workers_stop_their_browsers_and_keep_their_artifacts(
    pytester: pytest.Pytester,
    pages: PageServer,
    server: ServerThread,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    api = point_at(server, monkeypatch)
    inner(pytester, pages, XDIST)
    output = pytester.mkdir("artifacts")
    (output / ".bu-cdp-output").touch()  # made by an earlier run of the plugin...
    (output / "stale.txt").touch()  # ... whose artifacts the controller clears
    result = run(pytester, "-n", "2", "--bu-output", "artifacts")
    result.assert_outcomes(passed=1, failed=1)
    lines = recorded(pytester)
    assert sorted(worker for _, worker in lines) == ["gw0", "gw1"]
    assert_all_stopped(api, [browser_id for browser_id, _ in lines])
    assert not (output / "stale.txt").exists()
    name = "test_xdist_workers_stop_their_browsers_and_keep_their_artifacts.py-test_fails"
    assert is_png(output / name / "screenshot.png")
    result.stdout.fnmatch_lines(["*remote browsers of failed tests*", "*::test_fails"])


SLOW = """
def test_slow(remote_browser_handle, new_remote_browser):
    record(remote_browser_handle)
    record(new_remote_browser())
    pathlib.Path("started").touch()
    try:
        remote_browser_handle.page.wait_for_timeout(120_000)
    except BaseException as exc:
        pathlib.Path("interrupted").write_text(type(exc).__name__)
        raise
"""


def test_sigterm_inside_a_playwright_wait_stops_every_browser(
    pytester: pytest.Pytester,
    pages: PageServer,
    server: ServerThread,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SIGTERM is what a CI cancel sends; it ends the run like Ctrl-C, so fixtures are torn
    down, even when it lands while Playwright waits (its dispatcher must stay usable for the
    cleanup). Module scope: the shared browsers and new_remote_browser's are both stopped."""
    api = point_at(server, monkeypatch)
    inner(pytester, pages, SLOW)
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist"]
    with (pytester.path / "out.txt").open("w") as out:
        process = subprocess.Popen(
            [*command, "--bu-scope", "module"], cwd=pytester.path, stdout=out, stderr=out
        )
        try:
            started = pytester.path / "started"
            wait_until(
                lambda: started.exists() or process.poll() is not None,
                60,
                "the inner test to start",
            )
            time.sleep(0.5)  # the inner test is now inside its two-minute Playwright wait
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    output = (pytester.path / "out.txt").read_text()
    assert code == pytest.ExitCode.INTERRUPTED, output
    assert (pytester.path / "interrupted").read_text() == "Terminated", output
    assert "INTERNALERROR" not in output and "could not stop" not in output, output
    ids = [line[0] for line in recorded(pytester)]
    assert len(ids) == 2
    assert_all_stopped(api, ids)


EMBEDDED = """
def test_server_gone(remote_browser_handle, bu_client):
    from bu_cdp.embedded import embedded_server

    assert bu_client.base_url == embedded_server().base_url
    remote_browser_handle.page.goto(URL + "/about")
    assert remote_browser_handle.page.title() == "About us"
    embedded_server().stop()  # takes the browser with it: stopping it through the API fails
"""


def test_embedded_default_and_a_browser_that_cannot_be_stopped(
    pytester: pytest.Pytester, pages: PageServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without any configuration the embedded server is used. A browser that cannot be
    stopped is the test's teardown error, with a clear message: no INTERNALERROR."""
    monkeypatch.delenv("BU_CDP_BASE_URL", raising=False)
    monkeypatch.delenv("BROWSER_USE_API_KEY", raising=False)
    inner(pytester, pages, EMBEDDED)
    result = run(pytester)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["*ERROR at teardown of test_server_gone*", "could not stop remote browser *"]
    )
    result.stdout.no_fnmatch_line("*INTERNALERROR*")


ONE_BROWSER_ON_THE_EMBEDDED_DEFAULT = """
import httpx
from bu_cdp.embedded import embedded_server

def test_one({page}):
    {page}.goto(URL)

def test_two({page}):
    {page}.goto(URL)

def test_three({page}):
    server = embedded_server()
    metrics = httpx.get(
        server.base_url + "/metrics", headers={{"X-Browser-Use-API-Key": server.api_key}}
    ).json()
    assert (metrics["launches"], metrics["creates_from_pool"]) == (1, 1), metrics
"""


@pytest.mark.parametrize(
    ("page", "how"),
    [("remote_browser", ["--bu-scope", "session"]), ("page", ["--bu-remote", "-p", "no:xdist"])],
)
def test_a_run_on_one_browser_gets_it_started_ahead_and_no_other_beside_its_tests(
    pytester: pytest.Pytester,
    pages: PageServer,
    monkeypatch: pytest.MonkeyPatch,
    page: str,
    how: list[str],
) -> None:
    """The embedded default starts the run's one browser as it boots and keeps no other
    ready: a refill would only take CPU from the tests (BENCHMARKS.md)."""
    monkeypatch.delenv("BU_CDP_BASE_URL", raising=False)
    monkeypatch.delenv("BROWSER_USE_API_KEY", raising=False)
    monkeypatch.delenv("BU_CDP_WARM", raising=False)
    inner(pytester, pages, ONE_BROWSER_ON_THE_EMBEDDED_DEFAULT.format(page=page))
    result = run(pytester, *how)
    result.assert_outcomes(passed=3)


ASYNC_WITHOUT_PYTEST_ASYNCIO = """
async def test_async(async_remote_browser):
    pass

def test_sync_asking_for_the_async_handle(async_remote_browser_handle):
    pass
"""


# The plugin is registered for everyone; pytest-asyncio is an extra. Blocking its plugin stands
# in for "installed but not active"; a module that fails to import, for "not installed".
@pytest.mark.parametrize("installed", [True, False])
def test_async_fixtures_without_pytest_asyncio_say_what_to_install(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, installed: bool
) -> None:
    if not installed:
        hidden = pytester.mkdir("hidden")
        (hidden / "pytest_asyncio.py").write_text("raise ImportError('not installed')")
        monkeypatch.setenv("PYTHONPATH", str(hidden))
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(ASYNC_WITHOUT_PYTEST_ASYNCIO)
    result = run(pytester, "-p", "no:asyncio")
    result.assert_outcomes(errors=2)
    # Each error section says what to install; matched by section, since the short summary
    # repeats the message only as far as the terminal is wide.
    fix = (  # the whole line, matched as it is (its brackets are not a pattern)
        "the async remote-browser fixtures need pytest-asyncio: "
        "install pytest-asyncio (pip install 'bu-cdp[pytest]')"
    )
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_async *",
            fix,
            "*ERROR at setup of test_sync_asking_for_the_async_handle*",
            fix,
        ]
    )
    result.stdout.no_fnmatch_line("*requested an async fixture*")
