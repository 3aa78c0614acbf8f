"""Page actions (goto + click) through the embedded default against a direct CDP connection.

    python bench/page_actions.py [--actions 5] [--rounds 9]

A round is ``--actions`` times (``goto`` a local page, ``click`` its button, read the title
the click set) on one connection; each side runs a round in turn, rotating who goes first.
Sides:
- direct: Playwright connected straight to the DevTools port of a Chromium the benchmark
  starts with the server's flags (the server's Chromiums have no port, only their pipe);
- embedded: a browser of the embedded default, through its relay (its ``cdp_url``), the
  server in a child process as every program now gets it;
- thread: a browser of a server running in this process, as the embedded default ran
  before (its relay shares this process's GIL with Playwright), for comparison.
Unlike ``page.evaluate`` round trips (bench/cdp_relay.py), a goto or a click keeps the
program's own thread busy while the relay works: what a relay in the program's process pays.
Target: embedded / direct at most 1.10.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Callable, Iterator

from _harness import (
    RunningServer,
    direct_chromium,
    interleave,
    load_line,
    median_ms,
    page_server,
    ratio_line,
    serve_embedded,
    serve_thread,
)
from playwright.sync_api import Page, Playwright, sync_playwright

from bu_cdp import BrowserUse

TARGET = 1.10
PAGE = (
    b"<!doctype html><title>ready</title><button onclick=\"document.title='clicked'\">go</button>"
)


@contextlib.contextmanager
def page_of(pw: Playwright, cdp_url: str) -> Iterator[Page]:
    browser = pw.chromium.connect_over_cdp(cdp_url)
    try:
        yield browser.contexts[0].pages[0]
    finally:
        with contextlib.suppress(Exception):
            browser.close()  # a connection made over CDP: this disconnects, Chromium runs on


@contextlib.contextmanager
def browser_on(server: RunningServer) -> Iterator[str]:
    """A browser on ``server``, stopped at the end; its ``cdp_url``."""
    with BrowserUse(base_url=server.base_url, api_key=server.api_key) as api:
        browser = api.browsers.create(timeout=10)
        try:
            yield browser.cdp_url or ""
        finally:
            api.browsers.stop(browser.id or "")


def actions(page: Page, url: str, count: int) -> Callable[[], float]:
    def run() -> float:
        start = time.perf_counter()
        for _ in range(count):
            page.goto(url)
            page.click("button")
            assert page.title() == "clicked"
        return time.perf_counter() - start

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--actions", type=int, default=5, help="goto + click per round")
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()

    print(load_line("before"))
    with (
        page_server({"/": PAGE}) as base,
        serve_embedded() as embedded,
        serve_thread() as thread,
        browser_on(embedded) as embedded_cdp,
        browser_on(thread) as thread_cdp,
        sync_playwright() as pw,
        direct_chromium() as direct_url,
        page_of(pw, direct_url) as direct_page,
        page_of(pw, embedded_cdp) as embedded_page,
        page_of(pw, thread_cdp) as thread_page,
    ):
        url = base + "/"
        sides = {
            "direct": actions(direct_page, url, args.actions),
            "embedded": actions(embedded_page, url, args.actions),
            "thread": actions(thread_page, url, args.actions),
        }
        for run in sides.values():
            run()  # warm up each side
        print(f"page_actions: {args.actions} x (goto + click) per round, {args.rounds} rounds")
        results = interleave(sides, args.rounds)
    print(load_line("after"))
    for name, values in results.items():
        print(f"  {name}: median {median_ms(values):.0f} ms per round")
    print(ratio_line("embedded / direct", results["embedded"], results["direct"], TARGET))
    ratio = median_ms(results["thread"]) / median_ms(results["direct"])
    print(f"thread / direct: {ratio:.3f}x (the embedded default before, for comparison)")


if __name__ == "__main__":
    main()
