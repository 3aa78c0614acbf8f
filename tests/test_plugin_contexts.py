"""What pytest-playwright users expect, on the plugin's own fixtures: context options from
``remote_browser_options`` and the marker, ``--bu-device``, ``base_url``; a fresh context per
test on a shared browser that keeps nothing from the test before; per-retry artifact folders
(pytest-rerunfailures), pytest-html links; the recording of a failed test copied beside it; the
async fixtures' example and their error from a sync test. Run with pytester against the real
server and Chromium."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bu_cdp import BrowserUse
from bu_cdp.server.thread import ServerThread
from tests.support.pages import PageServer
from tests.test_plugin import (
    RECORD,
    assert_all_stopped,
    inner,
    is_png,
    point_at,
    recorded,
    run,
)

SUITE_CONTEXT = """
import pytest

@pytest.fixture
def remote_browser_options(remote_browser_options):
    return {**remote_browser_options, "locale": "fr-FR", "timezone_id": "Europe/Paris"}
"""

SHARED = """
def test_suite_context_options_and_device(remote_browser_handle):
    record(remote_browser_handle)
    page = remote_browser_handle.page
    assert page.evaluate("navigator.language") == "fr-FR"
    assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == "Europe/Paris"
    assert "iPhone" in page.evaluate("navigator.userAgent")  # --bu-device "iPhone 13"
    assert page.viewport_size == {"width": 390, "height": 664}

COOKIE = {"name": "user", "value": "zoe", "url": URL}

@pytest.mark.remote_browser(
    device=None,
    color_scheme="dark",
    geolocation={"latitude": 48.5, "longitude": 2.25},
    permissions=["geolocation"],
    storage_state={"cookies": [COOKIE], "origins": []},
)
def test_marker_context_options_and_base_url(remote_browser_handle):
    record(remote_browser_handle)
    page = remote_browser_handle.page
    page.goto("/whoami")  # --base-url
    assert page.title() == "zoe"  # the storage state's cookie
    assert "iPhone" not in page.evaluate("navigator.userAgent")
    assert page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")
    where = page.evaluate(
        "new Promise(done => navigator.geolocation.getCurrentPosition("
        "p => done([p.coords.latitude, p.coords.longitude])))"
    )
    assert where == [48.5, 2.25]

def test_leaves_state_behind(remote_browser_handle):
    record(remote_browser_handle)
    page = remote_browser_handle.page
    page.goto(URL + "/login?user=ann")
    page.evaluate("localStorage.setItem('seen', 'yes')")
    remote_browser_handle.context.grant_permissions(["geolocation"], origin=URL)
    remote_browser_handle.context.new_page().goto(URL + "/about")
    page.bring_to_front()  # a tab behind another draws nothing: no screenshot to take

def test_finds_none_of_it(remote_browser_handle):
    record(remote_browser_handle)
    page = remote_browser_handle.page
    page.goto(URL + "/whoami")
    assert page.title() == "anonymous"
    assert page.evaluate("localStorage.getItem('seen')") is None
    state = page.evaluate("navigator.permissions.query({name: 'geolocation'}).then(p => p.state)")
    assert state == "prompt"
    assert remote_browser_handle.context.pages == [page]
    assert len(remote_browser_handle.browser.contexts) == 2  # the default one and this test's
    pages = [p for c in remote_browser_handle.browser.contexts for p in c.pages]
    assert URL + "/about" not in [p.url for p in pages]

@pytest.mark.flaky(reruns=1)
def test_flaky(remote_browser_handle):
    record(remote_browser_handle)
    attempts = pathlib.Path("attempts.txt")
    attempts.write_text(attempts.read_text() + "x" if attempts.exists() else "x")
    assert attempts.read_text() == "xx", "the first attempt fails"
"""


def test_context_options_device_base_url_and_no_leaks_on_a_shared_browser(
    pytester: pytest.Pytester,
    pages: PageServer,
    server: ServerThread,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    api = point_at(server, monkeypatch)
    inner(pytester, pages, SHARED, "bu_scope = session")
    pytester.makeconftest(SUITE_CONTEXT)
    result = run(
        pytester,
        "--bu-device",
        "iPhone 13",
        "--base-url",
        pages.url,
        "--bu-screenshot",
        "on",
        "--html",
        "report.html",
    )
    result.assert_outcomes(passed=5)
    assert result.parseoutcomes()["rerun"] == 1
    ids = [line[0] for line in recorded(pytester)]
    assert len(ids) == 6 and len(set(ids)) == 1, ids  # one browser, a context per test
    assert_all_stopped(api, ids)
    # Artifacts per test, and per attempt of the retried one.
    output = pytester.path / "test-results"
    stem = "test_context_options_device_base_url_and_no_leaks_on_a_shared_browser.py-test_"
    names = ["suite_context_options_and_device", "marker_context_options_and_base_url",
             "leaves_state_behind", "finds_none_of_it", "flaky", "flaky-retry1"]  # fmt: skip
    for name in names:
        assert is_png(output / f"{stem}{name}" / "screenshot.png"), name
    report = (pytester.path / "report.html").read_text()
    assert "Live view" in report and "Screenshot" in report


FUNCTION_SCOPE = """
def test_fails_with_a_recording(remote_browser_handle):
    record(remote_browser_handle)
    remote_browser_handle.page.goto(URL + "/about")
    assert False, "recorded failure"

@pytest.mark.asyncio
async def test_async_example(async_remote_browser_handle, async_remote_browser):
    record(async_remote_browser_handle)
    await async_remote_browser.goto(URL + "/about")
    assert await async_remote_browser.title() == "About us"

def test_sync_test_asking_for_an_async_fixture(async_remote_browser):
    pass
"""


def test_a_failed_tests_recording_is_kept_and_async_fixtures_need_async_tests(
    pytester: pytest.Pytester, pages: PageServer, make_server: Callable[..., ServerThread],
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:  # fmt: skip
    own = make_server(data_dir=tmp_path / "data")  # its billing counts this run's browsers only
    api = point_at(own, monkeypatch)
    pytester.makeini("[pytest]\n")  # a fresh project: pytest-asyncio's settings unset
    pytester.makepyfile(RECORD.format(url=pages.url) + FUNCTION_SCOPE)
    result = run(pytester, "--bu-recording", "on")
    result.assert_outcomes(passed=1, failed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_sync_test_asking_for_an_async_fixture*",
            "test_sync_test_asking_for_an_async_fixture is a sync test: the async remote-browser"
            " fixtures are for async def tests; use remote_browser or remote_browser_handle here",
        ]
    )
    output = result.stdout.str() + result.stderr.str()
    assert 'asyncio_default_fixture_loop_scope" is unset' not in output
    assert "cannot be called from a running event loop" not in output
    ids = [line[0] for line in recorded(pytester)]
    with BrowserUse(**api) as client:
        assert client.billing.usage().model_extra["browsers"] == 2  # none for the sync test
    assert_all_stopped(api, ids)
    folder = (
        pytester.path
        / "test-results"
        / (
            "test_a_failed_tests_recording_is_kept_and_async_fixtures_need_async_tests.py-"
            "test_fails_with_a_recording"
        )
    )
    recording = folder / "recording.webm"
    assert recording.read_bytes().startswith(b"\x1a\x45\xdf\xa3")  # a WebM (EBML) file
    result.stdout.fnmatch_lines(["*remote browsers of failed tests*", f"*recording: {recording}"])
