"""Take a screenshot of a page in a remote browser.

    python recipes/screenshot.py [URL] [OUT.png]

With no BROWSER_USE_API_KEY set, the browser comes from bu-cdp's embedded local server, so
this works offline. Without a URL it renders a small built-in page.
"""

from __future__ import annotations

import argparse
import sys
import urllib.parse
from pathlib import Path

from _args import load, page_url

from bu_cdp import remote_browser

DEMO_PAGE = """<!doctype html>
<title>bu-cdp demo</title>
<style>body{font:20px sans-serif;margin:40px} h1{color:#3451b2}</style>
<h1>Hello from a remote browser</h1>
<p>Rendered by Chromium, driven by Playwright over CDP.</p>
<p id="ua"></p>
<script>document.getElementById('ua').textContent = navigator.userAgent</script>
"""


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "url",
        nargs="?",
        type=page_url,
        default="data:text/html," + urllib.parse.quote(DEMO_PAGE),
        help="the page (example.com means https://example.com; default: a built-in page)",
    )
    parser.add_argument("out", nargs="?", type=Path, default=Path("out/screenshot.png"))
    args = parser.parse_args(argv[1:])
    out = args.out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)

    with remote_browser(screen=(1280, 720)) as page:
        load(page, args.url)
        page.screenshot(path=str(out), full_page=True)
        title = page.title()

    print(f"Page title: {title!r}")
    print(f"Screenshot saved to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
