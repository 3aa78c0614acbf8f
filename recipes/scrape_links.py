"""Collect every link of a page as JSON.

    python recipes/scrape_links.py [URL] [OUT.json]

Without a URL it scrapes a small demo site served from this machine (offline); when the
browsers run elsewhere (the hosted API), https://example.com, since they cannot reach yours.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path

from _args import load, page_url
from _demo_site import demo_urls

from bu_cdp import remote_browser


def scrape(url: str) -> dict[str, object]:
    with remote_browser() as page:
        load(page, url)
        # One round trip: the page builds the list itself, absolute URLs included.
        links = page.eval_on_selector_all(
            "a[href]", "els => els.map(a => ({text: a.innerText.trim(), href: a.href}))"
        )
        return {"url": page.url, "title": page.title(), "links": links}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "url",
        nargs="?",
        type=page_url,
        help="the page (example.com means https://example.com; default: a demo site)",
    )
    parser.add_argument("out", nargs="?", type=Path, default=Path("out/links.json"))
    args = parser.parse_args(argv[1:])
    out = args.out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        url = args.url or stack.enter_context(demo_urls()).home
        result = scrape(url)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{len(result['links'])} links from {result['title']!r} saved to {out}")  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
