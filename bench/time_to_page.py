"""From a create request to a page that has loaded a local URL, cold and warm, against
Playwright launching the same Chromium itself.

    python bench/time_to_page.py [--rounds 9]

Three sides, interleaved round by round (who goes first rotates):
- playwright: ``chromium.launch()`` + ``new_page()`` + ``goto`` on the Chromium the server
  uses, with the server's flags;
- cold: ``POST /browsers`` on ``bu-cdp serve`` (no pool), ``connect_over_cdp``, the first
  page, ``goto``;
- warm: the same on ``bu-cdp serve --warm 1``; between rounds the pool is given time to
  refill, as it would between a user's creates;
- embedded: cold, on the embedded default (a child process, ``BU_CDP_WARM=0``);
- thread: cold, on a server in this process, as the embedded default ran before.
Closing and stopping are not timed. Targets: cold / playwright at most 1.15, warm /
playwright at most 0.25.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Callable

from _harness import (
    RunningServer,
    interleave,
    load_line,
    median_ms,
    page_server,
    ratio_line,
    serve_embedded,
    serve_subprocess,
    serve_thread,
)
from playwright.sync_api import Playwright, sync_playwright

from bu_cdp import BrowserUse
from bu_cdp.server.chromium.launch import BASE_FLAGS, find_chromium
from tests.support.waiting import wait_until

PAGE = b"<!doctype html><title>ready</title><h1>Hello</h1>"
COLD_TARGET = 1.15
WARM_TARGET = 0.25


def playwright_side(pw: Playwright, url: str) -> Callable[[], float]:
    executable = find_chromium()
    # The server's own flags, less the ones Playwright sets itself.
    flags = [f for f in BASE_FLAGS if not f.startswith(("--headless", "--remote-debugging"))]

    def run() -> float:
        start = time.perf_counter()
        browser = pw.chromium.launch(executable_path=executable, args=flags, headless=True)
        page = browser.new_page()
        page.goto(url)
        seconds = time.perf_counter() - start
        assert page.title() == "ready"
        browser.close()
        return seconds

    return run


def server_side(pw: Playwright, server: RunningServer, url: str) -> Callable[[], float]:
    api = BrowserUse(base_url=server.base_url, api_key=server.api_key)

    def run() -> float:
        start = time.perf_counter()
        created = api.browsers.create(timeout=5)
        browser = pw.chromium.connect_over_cdp(created.cdp_url or "")
        page = browser.contexts[0].pages[0]
        page.goto(url)
        seconds = time.perf_counter() - start
        assert page.title() == "ready"
        with contextlib.suppress(Exception):
            browser.close()
        api.browsers.stop(created.id or "")
        _settle(server)
        return seconds

    return run


def _settle(server: RunningServer) -> None:
    """Wait until the server's pool is full again, so no launch overlaps the next timing (a
    pool that does not refill ends the run rather than skewing it); then a second more, for
    the new Chromium's own work after it first answers (measured: the side timed next took
    0.73 s instead of 0.40 s without it)."""

    def full() -> bool:
        metrics = server.metrics()
        return bool(metrics["pool_ready"] == metrics["pool_target"])

    wait_until(full, 30, "the warm pool to refill")
    if server.metrics()["pool_target"]:
        time.sleep(1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()

    print(load_line("before"))
    with (
        page_server({"/": PAGE}) as base,
        serve_subprocess() as cold,
        serve_subprocess("--warm", "1") as warm,
        serve_embedded() as embedded,
        serve_thread() as thread,
        sync_playwright() as pw,
    ):
        url = base + "/"
        _settle(warm)
        sides = {
            "playwright": playwright_side(pw, url),
            "cold": server_side(pw, cold, url),
            "warm": server_side(pw, warm, url),
            "embedded": server_side(pw, embedded, url),
            "thread": server_side(pw, thread, url),
        }
        for run in sides.values():
            run()  # warm up the disk cache and the imports of each side
        print(f"time_to_page: create -> page loaded a local URL, {args.rounds} rounds")
        results = interleave(sides, args.rounds)
    print(load_line("after"))
    for name, values in results.items():
        print(f"  {name}: median {median_ms(values):.0f} ms")
    print(ratio_line("cold / playwright", results["cold"], results["playwright"], COLD_TARGET))
    print(ratio_line("warm / playwright", results["warm"], results["playwright"], WARM_TARGET))
    print(
        ratio_line("embedded / playwright", results["embedded"], results["playwright"], COLD_TARGET)
    )
    ratio = median_ms(results["embedded"]) / median_ms(results["thread"])
    print(f"embedded / thread (the embedded default before): {ratio:.3f}x (informative)")


if __name__ == "__main__":
    main()
