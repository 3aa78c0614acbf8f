"""Crawl several pages at once, one remote browser each, never more than N at a time.

    python recipes/parallel_crawl.py [--concurrency N] [URL ...]

Without URLs it crawls the pages of a small demo site served from this machine (offline).
Each URL gets a fresh browser (clean cookies and cache); a semaphore bounds how many run at
once, which is also how you stay under a server's browser limit. One Playwright driver and
one API client are shared by all browsers: starting a driver per browser costs more than
the browser itself.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time

from _demo_site import PRODUCTS, demo_site
from playwright.async_api import Playwright, async_playwright

from bu_cdp import AsyncBrowserUse, AsyncRemoteBrowser


async def visit(
    url: str, slots: asyncio.Semaphore, pw: Playwright, client: AsyncBrowserUse
) -> dict[str, object]:
    async with slots:  # wait for a free slot before creating a browser
        started = time.monotonic()
        async with AsyncRemoteBrowser(playwright=pw, client=client) as rb:
            await rb.page.goto(url)
            title = await rb.page.title()
            heading = await rb.page.locator("h1").first.inner_text()
        return {
            "url": url,
            "title": title,
            "h1": heading,
            "browser": rb.id,
            "seconds": round(time.monotonic() - started, 2),
        }


async def crawl(urls: list[str], concurrency: int) -> list[dict[str, object]]:
    slots = asyncio.Semaphore(concurrency)
    async with async_playwright() as pw, AsyncBrowserUse() as client:
        return await asyncio.gather(*(visit(url, slots, pw, client) for url in urls))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=3)
    parser.add_argument("urls", nargs="*")
    args = parser.parse_args(argv[1:])
    with contextlib.ExitStack() as stack:
        urls = args.urls
        if not urls:
            base = stack.enter_context(demo_site())
            urls = [f"{base}/product/{i}" for i in range(len(PRODUCTS))] + [f"{base}/about"]
        started = time.monotonic()
        results = asyncio.run(crawl(urls, args.concurrency))
    print(json.dumps(results, indent=2))
    print(
        f"crawled {len(results)} pages with at most {args.concurrency} browsers at once "
        f"in {time.monotonic() - started:.1f}s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
