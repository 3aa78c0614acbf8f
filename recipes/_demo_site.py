"""A tiny website served from this machine, so the recipes run offline.

A browser from the embedded local server (or a `bu-cdp serve` on this machine) can reach it
on 127.0.0.1. A browser in the cloud cannot: against the hosted API, pass the recipes a
public URL instead.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http import cookies
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

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
        headers = {}
        if url.path == "/login":  # a stand-in for a real login form: sets a session cookie
            user = parse_qs(url.query).get("user", ["ada"])[0]
            headers["Set-Cookie"] = f"user={user}; Max-Age=2592000; Path=/"
            body = f"<title>Welcome {user}</title><p>Logged in as {user}</p>"
        elif url.path == "/whoami":
            jar = cookies.SimpleCookie(self.headers.get("Cookie", ""))
            user = jar["user"].value if "user" in jar else "nobody (not logged in)"
            body = f"<title>Who am I</title><p id=user>{user}</p>"
        elif url.path == "/ip":  # what a "what is my IP" service reports: the caller's address
            address = self.client_address[0]
            body = f"<title>Your address</title><pre id=ip>{address}</pre>"
        elif url.path in PAGES:
            body = PAGES[url.path]
        else:
            self.send_error(404)
            return
        data = f"<!doctype html><meta charset=utf-8>{body}".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


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
