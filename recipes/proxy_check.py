"""Which address does a website see? Direct, and through a proxy.

    python recipes/proxy_check.py [--country CODE | --proxy http://user:pass@host:port] [URL]

Opens a browser without a proxy and one with it, and prints what an "address" page reports
for each. The proxy's password goes to the API in the request body, never on a command line
Chromium can see: the local server hands it to a private forwarder (see docs/proxies.md).
Without a URL it asks a page of the demo site served from this machine (offline); when the
browsers run elsewhere (the hosted API), https://api.ipify.org.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import Any
from urllib.parse import unquote, urlsplit

from _args import load, page_url
from _demo_site import demo_urls

from bu_cdp import remote_browser


def custom_proxy(url: str) -> dict[str, Any]:
    """``http://user:pass@host:port`` as the API's custom_proxy object."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname or not parts.port:
        raise SystemExit(f"--proxy must look like http://[user:password@]host:port, not {url!r}")
    proxy: dict[str, Any] = {"host": parts.hostname, "port": parts.port}
    if parts.username is not None:
        proxy["username"] = unquote(parts.username)
    if parts.password is not None:
        proxy["password"] = unquote(parts.password)
    return proxy


def seen_address(url: str, **proxy_options: Any) -> str:
    with remote_browser(**proxy_options) as page:
        load(page, url)
        return page.locator("body").inner_text().strip()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--country", help="a country code the server has a proxy for")
    which.add_argument("--proxy", help="your own proxy, http://user:password@host:port")
    parser.add_argument("url", nargs="?", type=page_url, help="an address page (default: local)")
    args = parser.parse_args(argv[1:])

    options: dict[str, Any] = {}
    if args.country:
        options["proxy_country_code"] = args.country
    elif args.proxy:
        options["custom_proxy"] = custom_proxy(args.proxy)

    with contextlib.ExitStack() as stack:
        url = args.url or stack.enter_context(demo_urls()).ip
        print(f"direct:        {seen_address(url)}")
        if options:
            print(f"through proxy: {seen_address(url, **options)}")
        else:
            print("(give --country or --proxy to compare with a proxy)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
