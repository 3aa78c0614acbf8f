"""CDP through the server's relay against a direct connection to the same Chromium.

    python bench/cdp_relay.py [--calls 500] [--rounds 9] [--server subprocess|thread]
                              [--relay splice|asgi]

One browser is created on a real server; Playwright connects to it twice, once through the
relay (its ``cdp_url``) and once straight to Chromium's DevTools port (read from the
browser's profile: a baseline only a benchmark may use). A round is ``--calls``
``page.evaluate`` round trips on each connection, switching sides every ``--block`` calls so
that both meet the same noise from the rest of the machine. The ratio is relay / direct of
the medians of the rounds' totals. Target: at most 1.10.
"""

from __future__ import annotations

import argparse
import contextlib
import time

from _harness import median_ms, ratio_line, serve_subprocess, serve_thread
from playwright.sync_api import Page, sync_playwright

from bu_cdp import BrowserUse

TARGET = 1.10


def round_trips(page: Page, calls: int, latencies: list[float]) -> None:
    for index in range(calls):
        start = time.perf_counter()
        page.evaluate("n => n + 1", index)
        latencies.append(time.perf_counter() - start)


def one_round(pages: dict[str, Page], calls: int, block: int) -> dict[str, list[float]]:
    """``calls`` round trips per side, in alternating blocks; each call's seconds."""
    latencies: dict[str, list[float]] = {name: [] for name in pages}
    names = list(pages)
    for start in range(0, calls, block):
        order = names if (start // block) % 2 == 0 else names[::-1]
        for name in order:
            round_trips(pages[name], min(block, calls - start), latencies[name])
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--block", type=int, default=25, help="calls per side before switching")
    parser.add_argument("--server", choices=("subprocess", "thread"), default="subprocess")
    parser.add_argument(
        "--relay",
        choices=("splice", "asgi"),
        default="splice",
        help="the server's relay: sockets joined after the token check, or frame by frame",
    )
    args = parser.parse_args()

    serving = (
        serve_subprocess("--cdp-relay", args.relay)
        if args.server == "subprocess"
        else serve_thread(cdp_relay=args.relay)
    )
    totals: dict[str, list[float]] = {"relay": [], "direct": []}
    calls: dict[str, list[float]] = {"relay": [], "direct": []}
    with serving as server, BrowserUse(base_url=server.base_url, api_key=server.api_key) as api:
        browser = api.browsers.create(timeout=10)
        try:
            with sync_playwright() as pw:
                relayed = pw.chromium.connect_over_cdp(browser.cdp_url or "")
                direct = pw.chromium.connect_over_cdp(server.direct_ws_url())
                pages = {
                    "relay": relayed.contexts[0].pages[0],
                    "direct": direct.contexts[0].pages[0],
                }
                for page in pages.values():
                    round_trips(page, 50, [])  # warm up both paths
                print(
                    f"cdp_relay: {args.calls} page.evaluate per side and round,"
                    f" server={args.server}, relay={args.relay}"
                )
                for index in range(args.rounds):
                    latencies = one_round(pages, args.calls, args.block)
                    for name, values in latencies.items():
                        totals[name].append(sum(values))
                        calls[name].extend(values)
                    shown = "  ".join(f"{n}={sum(v) * 1000:.0f}ms" for n, v in latencies.items())
                    print(f"  round {index + 1}/{args.rounds}: {shown}")
                with contextlib.suppress(Exception):
                    relayed.close()
                    direct.close()
        finally:
            api.browsers.stop(browser.id or "")
    for name in totals:
        print(
            f"  {name}: median {median_ms(totals[name]):.0f} ms per {args.calls} calls,"
            f" median call {median_ms(calls[name]) * 1000:.0f} us"
        )
    extra_us = (median_ms(calls["relay"]) - median_ms(calls["direct"])) * 1000
    per_call = median_ms(calls["relay"]) / median_ms(calls["direct"])
    print(f"  the relay adds {extra_us:.0f} us to the median round trip ({per_call:.3f}x)")
    print(ratio_line("relay / direct", totals["relay"], totals["direct"], TARGET))


if __name__ == "__main__":
    main()
