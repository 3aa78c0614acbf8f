"""The embedded default started while pytest loads its plugins, when the command line asks
for remote browsers (``conftest_plugin.early_start``)."""

from __future__ import annotations

import pytest

from conftest_plugin.early_start import plan
from tests.support.pages import PageServer


@pytest.mark.parametrize(
    ("argv", "environ", "scope"),
    [
        (["--bu-scope", "session"], {}, "session"),
        (["--bu-scope=module", "tests"], {}, "module"),
        (["--bu-remote"], {}, "session"),  # its one browser
        (["--bu-remote", "--bu-scope", "function"], {}, "function"),
        ([], {"PYTEST_ADDOPTS": "--bu-remote -q"}, "session"),
        (["--bu-remote", "-n0"], {}, "session"),  # xdist there, no workers
        (["--bu-remote", "-n", "0"], {}, "session"),
        (["tests", "-q"], {}, None),  # nothing asks for remote browsers
        (["--bu-remote", "-n", "2"], {}, None),  # an xdist controller: its workers serve
        (["--bu-remote", "-nauto"], {}, None),
        (["--bu-remote", "--numprocesses=2"], {}, None),
        (["--bu-remote", "--bu-base-url", "http://elsewhere/api/v3"], {}, None),
        (["--bu-remote"], {"BROWSER_USE_API_KEY": "bu_x"}, None),  # the hosted service
        (["--bu-remote"], {"BU_CDP_BASE_URL": "http://elsewhere/api/v3"}, None),
        (["--bu-remote", "--collect-only"], {}, None),  # lists, runs nothing
        (["--bu-scope", "session", "--help"], {}, None),
        (["--bu-scope", "session"], {"PYTEST_XDIST_WORKER": "gw0"}, None),  # a worker
    ],
)
def test_only_a_run_that_asks_for_remote_browsers_starts_the_server_early(
    argv: list[str], environ: dict[str, str], scope: str | None
) -> None:
    assert plan(argv, environ) == scope


CONFTEST = """
import os
import pathlib

def pytest_configure(config):
    children = []
    for entry in pathlib.Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == os.getpid() and b"bu_cdp.embedded.child" in command:
            children.append(entry.name)
    pathlib.Path("at_configure.txt").write_text(" ".join(children))
"""

TESTS = """
def test_first(remote_browser):
    remote_browser.goto(URL)
"""


@pytest.mark.parametrize(("args", "early"), [(["--bu-scope", "session"], True), ([], False)])
def test_the_server_is_starting_before_pytest_configures_only_when_asked(
    pytester: pytest.Pytester,
    pages: PageServer,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    early: bool,
) -> None:
    """Seen from the run itself: its embedded server is a child process of pytest by the
    time pytest configures its plugins, and then serves the run's browser."""
    monkeypatch.delenv("BU_CDP_BASE_URL", raising=False)
    monkeypatch.delenv("BROWSER_USE_API_KEY", raising=False)
    pytester.makeini("[pytest]\n")
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(f"URL = {pages.url!r}\n{TESTS}")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)
    result.assert_outcomes(passed=1)
    assert bool((pytester.path / "at_configure.txt").read_text().split()) is early


def test_a_bad_setting_seen_early_is_still_the_tests_named_error(
    pytester: pytest.Pytester, pages: PageServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Started early, the server's start fails as it would later: not as a crash of pytest
    while it loads its plugins, but as the error of the test that asks for a browser."""
    monkeypatch.delenv("BU_CDP_BASE_URL", raising=False)
    monkeypatch.delenv("BROWSER_USE_API_KEY", raising=False)
    monkeypatch.setenv("BU_CDP_WARM", "two")
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(f"URL = {pages.url!r}\n{TESTS}")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--bu-scope", "session")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*BU_CDP_WARM must be a whole number, 0 or more: 'two'*"])
