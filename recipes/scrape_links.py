"""Collect every link of a page as JSON.

    python recipes/scrape_links.py [URL] [OUT.json]

Without a URL it scrapes a small demo site served from this machine (offline); when the
browsers run elsewhere (the hosted API), https://example.com, since they cannot reach yours.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

from _demo_site import demo_urls

from bu_cdp import remote_browser


def scrape(url: str) -> dict[str, object]:
    with remote_browser() as page:
        page.goto(url)
        # One round trip: the page builds the list itself, absolute URLs included.
        links = page.eval_on_selector_all(
            "a[href]", "els => els.map(a => ({text: a.innerText.trim(), href: a.href}))"
        )
        return {"url": page.url, "title": page.title(), "links": links}


def main(argv: list[str]) -> int:
    out = Path(argv[2] if len(argv) > 2 else "out/links.json").resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        url = argv[1] if len(argv) > 1 else stack.enter_context(demo_urls()).home
        result = scrape(url)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{len(result['links'])} links from {result['title']!r} saved to {out}")  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
