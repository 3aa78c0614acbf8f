"""Crawl several pages at once, one remote browser each, never more than N at a time.

    python recipes/parallel_crawl.py [--concurrency N] [URL ...]

Without URLs it crawls the pages of a small demo site served from this machine (offline), or
public pages when the browsers run elsewhere (the hosted API). Each URL gets a fresh browser
(clean cookies and cache); a semaphore bounds how many run at once, which is also how you
stay under a server's browser limit. One Playwright driver and one API client are shared by
all browsers: starting a driver per browser costs more than the browser itself.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from collections.abc import Iterator

from _args import page_url, positive_int
from _demo_site import demo_urls
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Playwright, async_playwright

from bu_cdp import AsyncBrowserUse, AsyncRemoteBrowser


class Gauge:
    """Browsers held right now and the most at once: what the semaphore is there to bound."""

    def __init__(self) -> None:
        self.now = self.peak = 0

    @contextlib.contextmanager
    def holding(self) -> Iterator[None]:
        self.now += 1
        self.peak = max(self.peak, self.now)
        try:
            yield
        finally:
            self.now -= 1


async def visit(
    url: str, slots: asyncio.Semaphore, pw: Playwright, client: AsyncBrowserUse, gauge: Gauge
) -> dict[str, object]:
    async with slots:  # wait for a free slot before creating a browser
        started = time.monotonic()
        with gauge.holding():  # from asking for the browser until it is stopped
            async with AsyncRemoteBrowser(playwright=pw, client=client) as rb:
                try:
                    await rb.page.goto(url)
                except PlaywrightError as exc:  # one page that fails does not end the crawl
                    found: dict[str, object] = {"error": exc.message.splitlines()[0]}
                else:
                    # evaluate, not a locator: a page without an <h1> answers None, not a wait.
                    found = {
                        "title": await rb.page.title(),
                        "h1": await rb.page.evaluate("document.querySelector('h1')?.innerText"),
                    }
        return {
            "url": url,
            **found,
            "browser": rb.id,
            "seconds": round(time.monotonic() - started, 2),
        }


async def crawl(urls: list[str], concurrency: int, gauge: Gauge) -> list[dict[str, object]]:
    slots = asyncio.Semaphore(concurrency)
    async with async_playwright() as pw, AsyncBrowserUse() as client:
        return await asyncio.gather(*(visit(url, slots, pw, client, gauge) for url in urls))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--concurrency", type=positive_int, default=3, help="browsers at once (default 3)"
    )
    parser.add_argument("urls", nargs="*", type=page_url, metavar="URL")
    args = parser.parse_args(argv[1:])
    gauge = Gauge()
    with contextlib.ExitStack() as stack:
        urls = args.urls or stack.enter_context(demo_urls()).pages
        started = time.monotonic()
        results = asyncio.run(crawl(urls, args.concurrency, gauge))
    print(json.dumps(results, indent=2))
    print(
        f"crawled {len(results)} pages in {time.monotonic() - started:.1f}s, "
        f"at most {gauge.peak} browsers at once (--concurrency {args.concurrency})",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
