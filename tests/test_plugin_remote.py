"""``--bu-remote``: an ordinary pytest-playwright suite, unchanged, on the browsers of a real
``bu-cdp serve``, and the same suite run locally by pytest-playwright as the control.

The suite uses pytest-playwright's fixtures (``page``, ``context``, ``new_context``, ``browser``,
``launch_browser``, ``browser_context_args`` overridden and as a marker, ``base_url``,
``browser_name``), its markers and its artifact options, under ``-n 2``. Its conftest points
pytest-playwright at this machine's Chromium (``playwright install`` cannot download here),
as a team's conftest would; remotely that launch option means nothing and is ignored.
"""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bu_cdp.server.thread import ServerThread
from tests.support.pages import PageServer
from tests.support.processes import live_chromiums, with_marker
from tests.support.serving import ServedProcess, serve_process

CHROMIUM = "/usr/bin/chromium"

CONFTEST = f"""
import pytest

@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {{**browser_type_launch_args, "executable_path": "{CHROMIUM}"}}

@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {{**browser_context_args, "locale": "de-DE"}}
"""

# Two files, so that with --dist loadfile each of the two workers runs one.
FIRST_FILE = """
import pytest
from playwright.sync_api import expect

def test_goto_click_assert(page):
    page.goto("/")  # base_url from the ini file
    page.click("text=About")
    expect(page).to_have_title("About us")
    assert page.evaluate("navigator.language") == "de-DE"  # the conftest's context args

def test_device_from_the_command_line(page, browser_name, is_chromium):
    assert browser_name == "chromium" and is_chromium
    assert "Pixel 5" in page.evaluate("navigator.userAgent")  # --device "Pixel 5"
    assert page.evaluate("screen.width") == 393

@pytest.mark.browser_context_args(timezone_id="Asia/Tokyo")
def test_context_args_marker(page):
    assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == "Asia/Tokyo"

def test_fails_and_keeps_its_artifacts(page):
    page.goto("/about")
    assert page.title() == "a title it does not have"

def test_launch_browser(launch_browser):
    other = launch_browser()
    page = other.new_page()
    page.goto("{url}/about")
    assert page.title() == "About us"
    other.close()
"""

SECOND_FILE = """
import pytest

def test_fresh_context_per_test_first(page):
    page.goto("/login?user=ann")
    page.evaluate("localStorage.setItem('seen', 'yes')")

def test_fresh_context_per_test_second(page, context, browser):
    page.goto("/whoami")
    assert page.title() == "anonymous"  # the cookie of the test before is not here
    assert page.evaluate("localStorage.getItem('seen')") is None
    assert page.context is context and context in browser.contexts

def test_new_context(new_context):
    dark = new_context(color_scheme="dark").new_page()
    assert dark.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")

@pytest.mark.skip_browser("firefox")
@pytest.mark.only_browser("chromium")
def test_browser_markers(page):
    assert page.evaluate("1 + 1") == 2
"""

# Not a pytest-playwright test: the plugin's own fixture, in the same remote run.
THIRD_FILE = """
def test_the_plugins_own_fixture_too(remote_browser, page):
    remote_browser.goto("{url}/about")
    assert remote_browser.title() == "About us"
    assert remote_browser.context.browser is not page.context.browser
"""

ARGS = (
    "-p", "no:cacheprovider", "-n", "2", "--dist", "loadfile", "--device", "Pixel 5",
    "--tracing", "retain-on-failure", "--screenshot", "only-on-failure",
)  # fmt: skip
FAILED_FOLDER = "test-first-py-test-fails-and-keeps-its-artifacts-chromium"


@pytest.fixture
def served() -> Iterator[tuple[ServedProcess, Path]]:
    # A short TMPDIR of its own: Chromium puts a unix socket in it, and its browsers are then
    # told apart from every other test's.
    with tempfile.TemporaryDirectory(prefix="bu-r-") as tmp:
        with serve_process(tmpdir=Path(tmp)) as running:
            yield running, Path(tmp)


def billed_browsers(served: ServedProcess) -> int:
    answer = httpx.get(served.api_url + "/billing/usage", headers=served.headers, timeout=30)
    answer.raise_for_status()
    usage: dict[str, Any] = answer.json()
    return int(usage["browsers"])


def write_suite(pytester: pytest.Pytester, pages: PageServer) -> None:
    pytester.makeini(f"[pytest]\nbase_url = {pages.url}\n")
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        test_first=FIRST_FILE.replace("{url}", pages.url),
        test_second=SECOND_FILE,
        test_third=THIRD_FILE.replace("{url}", pages.url),
    )


def assert_failure_kept_trace_and_screenshot(output: Path) -> None:
    assert sorted(p.name for p in output.iterdir() if p.is_dir()) == [FAILED_FOLDER]
    folder = output / FAILED_FOLDER
    with zipfile.ZipFile(folder / "trace.zip") as trace:
        assert any(name.endswith(".trace") for name in trace.namelist())
    assert (folder / "test-failed-1.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def local_chromiums() -> list[int]:
    """Chromium processes pytest-playwright launched in this test run (their profile folders
    are in the run's TMPDIR)."""
    marker = str(Path(tempfile.gettempdir(), "playwright_chromiumdev_profile"))
    return [process.pid for process in with_marker(marker)]


@pytest.mark.timeout(300)
def test_a_pytest_playwright_suite_runs_unchanged_on_remote_browsers(
    pytester: pytest.Pytester,
    pages: PageServer,
    served: tuple[ServedProcess, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, server_tmp = served
    monkeypatch.setenv("BU_CDP_BASE_URL", server.api_url)
    monkeypatch.setenv("BROWSER_USE_API_KEY", server.api_key)
    write_suite(pytester, pages)
    before = billed_browsers(server)

    remote = pytester.runpytest_subprocess(*ARGS, "--bu-remote", "--output", "remote-results")
    remote.assert_outcomes(passed=9, failed=1)
    # The server's browsers: one per worker, the one launch_browser() made, and
    # remote_browser's.
    assert billed_browsers(server) - before == 4
    assert_failure_kept_trace_and_screenshot(pytester.path / "remote-results")
    remote.stdout.fnmatch_lines(
        ["*remote browsers of failed tests*", f"*{FAILED_FOLDER}/trace.zip"]
    )
    assert live_chromiums(str(server_tmp)) == []  # every remote browser stopped
    remote.stdout.fnmatch_lines(["*launch options executable_path describe a local browser*"])


# Two whole suites under -n 2 on a shared 2-core machine: more than the usual bound.
@pytest.mark.timeout(300)
def test_the_same_suite_runs_locally_with_pytest_playwright_as_the_control(
    pytester: pytest.Pytester, pages: PageServer
) -> None:
    """No --bu-remote: pytest-playwright launches the machine's Chromium itself."""
    write_suite(pytester, pages)
    local = pytester.runpytest_subprocess(*ARGS, "--output", "local-results", "test_first.py",
                                          "test_second.py")  # fmt: skip
    local.assert_outcomes(passed=8, failed=1)
    assert_failure_kept_trace_and_screenshot(pytester.path / "local-results")
    assert local_chromiums() == []


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--headed"], "*--headed: a remote browser has no window here*"),
        (["--browser", "firefox"], "*--browser firefox: remote browsers are Chromium*"),
        (["--browser-channel", "chrome"], "*--browser-channel: the server chooses*"),
        (["--slowmo", "100"], "*--slowmo: not supported on remote browsers*"),
        (["-p", "no:playwright"], "*pytest-playwright is not installed: pip install*"),
    ],
)
def test_options_without_a_meaning_remotely_are_usage_errors(
    pytester: pytest.Pytester, args: list[str], said: str
) -> None:
    pytester.makepyfile("def test_page(page): pass")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--bu-remote", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: bu-cdp*--bu-remote*" + said.lstrip("*")])


VIDEO_SUITE = """
def test_passes(page):
    page.set_content("<h1>fine</h1>")

def test_fails(page):
    page.set_content("<h1>broken</h1>")
    assert page.inner_text("h1") == "fixed"
"""


def test_video_comes_from_the_servers_recording(
    pytester: pytest.Pytester, on_server: ServerThread
) -> None:
    """Playwright's own video needs an ffmpeg this machine cannot download: --video keeps the
    server's recording of each test's browser instead (a browser per test here)."""
    pytester.makepyfile(VIDEO_SUITE)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--bu-remote", "--bu-scope", "function",
        "--video", "retain-on-failure",
    )  # fmt: skip
    result.assert_outcomes(passed=1, failed=1)
    video = (
        pytester.path
        / "test-results"
        / "test-video-comes-from-the-servers-recording-py-test-fails-chromium"
        / "video.webm"
    )
    assert video.read_bytes().startswith(b"\x1a\x45\xdf\xa3")  # a WebM (EBML) file
    assert [p.name for p in (pytester.path / "test-results").glob("*/video.webm")] == ["video.webm"]
    result.stdout.fnmatch_lines(["*remote browsers of failed tests*", f"*video: {video}"])
