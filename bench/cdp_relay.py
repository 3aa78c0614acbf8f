"""CDP through the server's relay against a direct connection to the same Chromium.

    python bench/cdp_relay.py [--calls 500] [--rounds 9] [--server embedded|subprocess|thread]
                              [--client playwright|raw]

One browser is created on a real server (by default the embedded default, a child process;
``subprocess`` is ``bu-cdp serve``; ``thread``, a server in this process, as the embedded
default ran before it had a process of its own), and Playwright connects to it through the
relay (its ``cdp_url``: a websocket to the server, then Chromium's DevTools pipe). The baseline
is a Chromium the benchmark starts itself, with the same flags but a DevTools port, which
Playwright connects to straight (the server's Chromiums have no port). A round is ``--calls``
``page.evaluate`` round trips on each connection, switching sides every ``--block`` calls so
that both meet the same noise from the rest of the machine. The ratio is relay / direct of
the medians of the rounds' totals. Target: at most 1.10.

``--client raw`` sends ``Browser.getVersion`` over a plain websocket instead: no Playwright
in the way, so the relay's own cost shows more plainly. With a server of its own process,
the server's CPU time per relayed round trip is printed too.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import time
from collections.abc import Callable, Iterator

from _harness import (
    direct_chromium,
    load_line,
    median_ms,
    ratio_line,
    serve_embedded,
    serve_subprocess,
    serve_thread,
)
from playwright.sync_api import sync_playwright
from websockets.sync.client import ClientConnection, connect

from bu_cdp import BrowserUse

TARGET = 1.10


RoundTrip = Callable[[], object]


def round_trips(call: RoundTrip, calls: int, latencies: list[float]) -> None:
    for _ in range(calls):
        start = time.perf_counter()
        call()
        latencies.append(time.perf_counter() - start)


def one_round(sides: dict[str, RoundTrip], calls: int, block: int) -> dict[str, list[float]]:
    """``calls`` round trips per side, in alternating blocks; each call's seconds."""
    latencies: dict[str, list[float]] = {name: [] for name in sides}
    names = list(sides)
    for start in range(0, calls, block):
        order = names if (start // block) % 2 == 0 else names[::-1]
        for name in order:
            round_trips(sides[name], min(block, calls - start), latencies[name])
    return latencies


@contextlib.contextmanager
def playwright_sides(relay_url: str, direct_url: str) -> Iterator[dict[str, RoundTrip]]:
    with sync_playwright() as pw:
        browsers = [pw.chromium.connect_over_cdp(url) for url in (relay_url, direct_url)]
        pages = [browser.contexts[0].pages[0] for browser in browsers]
        yield {
            name: (lambda page=page: page.evaluate("n => n + 1", 1))
            for name, page in zip(("relay", "direct"), pages, strict=True)
        }
        for browser in browsers:
            with contextlib.suppress(Exception):
                browser.close()


@contextlib.contextmanager
def raw_sides(relay_url: str, direct_url: str) -> Iterator[dict[str, RoundTrip]]:
    ids = itertools.count(1)

    def get_version(ws: ClientConnection) -> object:
        ws.send(json.dumps({"id": next(ids), "method": "Browser.getVersion"}))
        return ws.recv()

    with connect(relay_url, max_size=None) as relay, connect(direct_url, max_size=None) as direct:
        yield {"relay": lambda: get_version(relay), "direct": lambda: get_version(direct)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--block", type=int, default=25, help="calls per side before switching")
    parser.add_argument(
        "--server", choices=("embedded", "subprocess", "thread"), default="embedded"
    )
    parser.add_argument("--client", choices=("playwright", "raw"), default="playwright")
    args = parser.parse_args()

    servers = {"embedded": serve_embedded, "subprocess": serve_subprocess, "thread": serve_thread}
    serving = servers[args.server]()
    print(load_line("before"))
    totals: dict[str, list[float]] = {"relay": [], "direct": []}
    calls: dict[str, list[float]] = {"relay": [], "direct": []}
    what = "page.evaluate" if args.client == "playwright" else "Browser.getVersion (raw)"
    with (
        serving as server,
        BrowserUse(base_url=server.base_url, api_key=server.api_key) as api,
        direct_chromium() as direct_url,
    ):
        browser = api.browsers.create(timeout=10)
        making = playwright_sides if args.client == "playwright" else raw_sides
        try:
            with making(browser.cdp_url or "", direct_url) as sides:
                for call in sides.values():
                    round_trips(call, 50, [])  # warm up both paths
                print(
                    f"cdp_relay: {args.calls} {what} per side and round,"
                    f" server={args.server}, relay=pipe"
                )
                cpu_before = server.cpu_seconds()
                for index in range(args.rounds):
                    latencies = one_round(sides, args.calls, args.block)
                    for name, values in latencies.items():
                        totals[name].append(sum(values))
                        calls[name].extend(values)
                    shown = "  ".join(f"{n}={sum(v) * 1000:.0f}ms" for n, v in latencies.items())
                    print(f"  round {index + 1}/{args.rounds}: {shown}")
                cpu_after = server.cpu_seconds()
        finally:
            api.browsers.stop(browser.id or "")
    print(load_line("after"))
    for name in totals:
        print(
            f"  {name}: median {median_ms(totals[name]):.0f} ms per {args.calls} calls,"
            f" median call {median_ms(calls[name]) * 1000:.0f} us"
        )
    extra_us = (median_ms(calls["relay"]) - median_ms(calls["direct"])) * 1000
    per_call = median_ms(calls["relay"]) / median_ms(calls["direct"])
    print(f"  the relay adds {extra_us:.0f} us to the median round trip ({per_call:.3f}x)")
    if cpu_before is not None and cpu_after is not None:
        per_trip = (cpu_after - cpu_before) / len(calls["relay"]) * 1e6
        print(f"  server CPU per relayed round trip: {per_trip:.0f} us")
    if args.client == "playwright":
        print(ratio_line("relay / direct", totals["relay"], totals["direct"], TARGET))
    else:  # the target is about page.evaluate; raw calls only show the relay's own cost
        ratio = median_ms(totals["relay"]) / median_ms(totals["direct"])
        print(f"relay / direct, raw CDP: {ratio:.3f}x (informative, no target)")


if __name__ == "__main__":
    main()
