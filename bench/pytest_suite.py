"""What a pytest suite costs on remote browsers, against pytest-playwright on the same Chromium.

    .venv/bin/python bench/pytest_suite.py [--rounds 3] [--tests 20] [--server serve --warm 2]

A generated suite of ``--tests`` tests (each: goto a local page, click, assert the result) is
run whole, as a user runs it (``python -m pytest``, the embedded default server, no
configuration), in these ways, alternating, one subprocess per run, timed from start to exit:

- ``fresh``: the plugin's ``remote_browser``, a fresh browser per test (``--bu-scope function``);
- ``shared``: the plugin's ``remote_browser`` with ``--bu-scope session`` (one browser, a fresh
  context per test);
- ``remote-pw``: the same suite as the baseline's, pytest-playwright's ``page``, with
  ``--bu-remote`` (one remote browser, a fresh context per test);
- ``pytest-playwright`` (the baseline): pytest-playwright's own ``page`` fixture, launching the
  same Chromium locally (``executable_path``, since ``playwright install`` cannot download here);
- ``pw-fresh`` (a reference, no target): the same, with a browser Playwright launches for each
  test (its ``browser`` fixture overridden per test): what a fresh browser per test costs
  without any server, for ``fresh`` to be read against.

``--server serve`` runs the remote sides against ``bu-cdp serve`` in a process of its own
(``--warm N`` browsers launched ahead) instead of the embedded default: what the relay costs
when it does not share the pytest process.

Prints each round, the medians and the ratios to the baseline. Targets: fresh <= 1.5x,
shared and remote-pw <= 1.1x (issue 14); ``fresh`` is also put against ``pw-fresh``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _harness import (
    interleave,
    load_line,
    median_ms,
    page_server,
    ratio_line,
    serve_subprocess,
)

from bu_cdp.server.chromium.launch import find_chromium

TARGETS = {"fresh": 1.5, "shared": 1.1, "remote-pw": 1.1}
PAGE = b"""<!doctype html><title>start</title>
<button onclick="document.title = 'clicked ' + location.search">go</button>"""

PLUGIN_TEST = """
def test_{n}(remote_browser):
    remote_browser.goto(URL + "/page?{n}")
    remote_browser.click("button")
    assert remote_browser.title() == "clicked ?{n}"
"""
PLAYWRIGHT_TEST = """
def test_{n}(page):
    page.goto(URL + "/page?{n}")
    page.click("button")
    assert page.title() == "clicked ?{n}"
"""
CONFTEST = """
import pytest

@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {{**browser_type_launch_args, "executable_path": {chromium!r}}}
"""
FRESH_CONFTEST = """
import pytest

@pytest.fixture
def browser(launch_browser):  # pytest-playwright's is one per session: here one per test
    browser = launch_browser()
    yield browser
    browser.close()
"""


def write_suite(folder: Path, url: str, tests: int) -> None:
    (folder / "pytest.ini").write_text("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    (folder / "conftest.py").write_text(CONFTEST.format(chromium=str(find_chromium())))
    for name, test in (("test_plugin.py", PLUGIN_TEST), ("test_pw.py", PLAYWRIGHT_TEST)):
        body = "".join(test.format(n=n) for n in range(tests))
        (folder / name).write_text(f"URL = {url!r}\n{body}")
    fresh = folder / "pw_fresh"
    fresh.mkdir()
    (fresh / "conftest.py").write_text(FRESH_CONFTEST)
    (fresh / "test_pw_fresh.py").write_text((folder / "test_pw.py").read_text())


def runner(
    folder: Path, tests: int, *args: str, server: dict[str, str] | None = None
) -> Callable[[], float]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("BROWSER_USE_API_KEY", "BU_CDP_BASE_URL")  # the embedded default...
    } | (server or {})  # ... or the server given
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args]

    def run() -> float:
        started = time.perf_counter()
        with (folder / "out.txt").open("w") as out:
            code = subprocess.call(command, cwd=folder, env=environment, stdout=out, stderr=out)
        seconds = time.perf_counter() - started
        said = (folder / "out.txt").read_text()
        if code != 0 or f"{tests} passed" not in said:
            raise SystemExit(f"{' '.join(args)}: the suite did not pass:\n{said[-3000:]}")
        return seconds

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tests", type=int, default=20)
    parser.add_argument("--server", choices=("embedded", "serve"), default="embedded")
    parser.add_argument("--warm", type=int, default=0, help="with --server serve")
    args = parser.parse_args()
    if args.rounds < 1 or args.tests < 1 or args.warm < 0:
        parser.error("--rounds and --tests must be at least 1, --warm at least 0")
    print(__doc__.split("\n")[0])
    print(load_line("before"))
    print(
        f"remote browsers from: {args.server}"
        + (f", --warm {args.warm}" * (args.server == "serve"))
    )
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(page_server({"/page": PAGE}))
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bu-cdp-bench-")))
        server = None
        if args.server == "serve":
            running = stack.enter_context(serve_subprocess("--warm", str(args.warm)))
            server = {"BU_CDP_BASE_URL": running.base_url, "BROWSER_USE_API_KEY": running.api_key}
        write_suite(folder, url, args.tests)
        sides = {
            "pytest-playwright": runner(folder, args.tests, "test_pw.py"),
            "fresh": runner(folder, args.tests, "test_plugin.py", "--bu-scope", "function",
                            server=server),
            "shared": runner(folder, args.tests, "test_plugin.py", "--bu-scope", "session",
                             server=server),
            "remote-pw": runner(folder, args.tests, "test_pw.py", "--bu-remote", server=server),
            "pw-fresh": runner(folder, args.tests, "pw_fresh"),
        }  # fmt: skip
        results = interleave(sides, args.rounds)
    print(load_line("after"))
    baseline = results["pytest-playwright"]
    for name, values in results.items():
        print(f"{name}: median {median_ms(values) / 1000:.2f}s for {args.tests} tests")
    for name, target in TARGETS.items():
        print(ratio_line(f"{name} / pytest-playwright", results[name], baseline, target))
    fresh_ratio = median_ms(results["fresh"]) / median_ms(results["pw-fresh"])
    print(f"fresh / pw-fresh (Playwright's own launch per test, no target): {fresh_ratio:.3f}x")


if __name__ == "__main__":
    main()
