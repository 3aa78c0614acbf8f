"""Save a page as a PDF, rendered by a remote Chromium.

    python recipes/pdf.py [URL] [OUT.pdf]

Without a URL it prints a small built-in invoice. Offline by default (embedded local server);
with BROWSER_USE_API_KEY set, the same script uses the hosted API.
"""

from __future__ import annotations

import argparse
import sys
import urllib.parse
from pathlib import Path

from _args import load, page_url

from bu_cdp import remote_browser

INVOICE = """<!doctype html><meta charset=utf-8><title>Invoice 42</title>
<style>body{font:14px sans-serif;margin:2cm}
td,th{padding:4px 12px;border-bottom:1px solid #ccc}</style>
<h1>Invoice 42</h1>
<table><tr><th>Item</th><th>Price</th></tr>
<tr><td>Teapot</td><td>18.00</td></tr><tr><td>Mug</td><td>6.50</td></tr></table>
<p><b>Total: 24.50</b></p>"""


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "url",
        nargs="?",
        type=page_url,
        default="data:text/html," + urllib.parse.quote(INVOICE),
        help="the page (example.com means https://example.com; default: a built-in invoice)",
    )
    parser.add_argument("out", nargs="?", type=Path, default=Path("out/page.pdf"))
    args = parser.parse_args(argv[1:])
    out = args.out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)

    with remote_browser() as page:
        load(page, args.url)
        page.emulate_media(media="print")  # print styles, as a user's "Save as PDF" would
        page.pdf(path=str(out), format="A4", print_background=True)

    print(f"PDF saved to {out} ({out.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
