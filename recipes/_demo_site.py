"""The pages the recipes visit when you give them none: local or public, chosen in one place.

A browser from the embedded local server (or a `bu-cdp serve` on this machine) reaches a tiny
demo site served here on 127.0.0.1, so the recipes run offline. A browser in the cloud (the
hosted API, or a server on another machine) cannot reach this machine: there the recipes
visit public pages that do the same jobs instead. `demo_urls()` picks; a URL you pass wins.
"""

from __future__ import annotations

import ipaddress
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http import cookies
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlsplit

from bu_cdp.settings import configured_target

PRODUCTS = [("Teapot", "18.00"), ("Mug", "6.50"), ("Kettle", "42.00"), ("Strainer", "3.20")]

PAGES = {
    "/": "<title>Demo shop</title><h1>Demo shop</h1>"
    + "".join(f"<p><a href='/product/{i}'>{name}</a></p>" for i, (name, _) in enumerate(PRODUCTS))
    + "<p><a href='/about'>About</a> · <a href='/whoami'>Who am I?</a></p>",
    "/about": "<title>About the demo shop</title><h1>About</h1><p>A page for the recipes.</p>"
    "<a href='/'>Home</a>",
}
for i, (name, price) in enumerate(PRODUCTS):
    PAGES[f"/product/{i}"] = (
        f"<title>{name}</title><h1>{name}</h1><p class=price>{price}</p><a href='/'>Home</a>"
    )


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # the stdlib names it so
        url = urlsplit(self.path)
        kind, headers = "text/html", {}
        if url.path == "/login":  # a stand-in for a real login form: sets a session cookie
            user = parse_qs(url.query).get("user", ["ada"])[0]
            headers["Set-Cookie"] = f"user={user}; Max-Age=2592000; Path=/"
            body = f"<title>Welcome {user}</title><p>Logged in as {user}</p>"
        elif url.path == "/whoami":  # the cookies it received, in httpbin.org/cookies's shape
            jar = cookies.SimpleCookie(self.headers.get("Cookie", ""))
            kind = "application/json"
            body = json.dumps({"cookies": {name: c.value for name, c in jar.items()}})
        elif url.path == "/ip":  # what a "what is my IP" service reports: the caller's address
            address = self.client_address[0]
            body = f"<title>Your address</title><pre id=ip>{address}</pre>"
        elif url.path in PAGES:
            body = PAGES[url.path]
        else:
            self.send_error(404)
            return
        if kind == "text/html":
            body = f"<!doctype html><meta charset=utf-8>{body}"
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", f"{kind}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass(frozen=True)
class DemoURLs:
    """The pages recipes visit by default, each standing for a kind of page."""

    home: str  # a page with links
    pages: list[str]  # pages with an <h1> each, more of them than the default concurrency
    login: str  # sets a cookie user=ada for 30 days, as a login form would
    whoami: str  # JSON {"cookies": {...}}: the cookies the site received
    ip: str  # the caller's address, as the site sees it

    @classmethod
    def local(cls, base: str) -> DemoURLs:
        return cls(
            home=base,
            pages=[f"{base}/product/{i}" for i in range(len(PRODUCTS))] + [f"{base}/about"],
            login=f"{base}/login?user=ada",
            whoami=f"{base}/whoami",
            ip=f"{base}/ip",
        )


PUBLIC = DemoURLs(
    home="https://example.com",
    pages=[
        "https://example.com",
        "https://example.org",
        "https://example.net",
        "https://www.iana.org/help/example-domains",
        "https://httpbin.org/html",
    ],
    # Not /cookies/set: its cookie has no expiry, and a browser keeps such "session" cookies
    # only until it quits, so no profile would carry the login to the next browser.
    login="https://httpbin.org/response-headers?Set-Cookie="
    + quote("user=ada; Max-Age=2592000; Path=/", safe=""),
    whoami="https://httpbin.org/cookies",
    ip="https://api.ipify.org",
)


def browsers_run_here() -> bool:
    """Whether the configured browsers run on this machine (and so can reach 127.0.0.1).

    The embedded default does; so does a server at a loopback address. Starts nothing.
    """
    target = configured_target()
    if target is None:  # no key, no base URL: the embedded local server
        return True
    host = urlsplit(target.base_url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:  # a DNS name: assume another machine, as the hosted API is
        return False
    return address.is_loopback or address.is_unspecified


@contextmanager
def demo_urls() -> Iterator[DemoURLs]:
    """The demo site's URLs while it is served here, or public ones for a faraway browser."""
    if not browsers_run_here():
        yield PUBLIC
        return
    with demo_site() as base:
        yield DemoURLs.local(base)


@contextmanager
def demo_site() -> Iterator[str]:
    """Serve the demo site on 127.0.0.1 for the duration of the block; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
