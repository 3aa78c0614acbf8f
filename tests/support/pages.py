"""A local HTTP server with the pages the tests browse (there is no internet here)."""

from __future__ import annotations

import threading
from http import cookies
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

PAGES = {
    "/": "<!doctype html><title>Home</title><h1>Home</h1><a href='/about'>About</a>",
    "/about": "<!doctype html><title>About us</title><h1>About</h1>",
    # A shop whose price shows only after a click: for the agent sessions' tests.
    "/shop": "<!doctype html><title>Kettle shop</title><h1>Blue kettle</h1>"
    "<button onclick=\"document.getElementById('price').textContent = 'Price: 42.50 EUR'\">"
    "Show price</button><p id=price></p>",
    "/size": "<!doctype html><title>size</title><body style='margin:0'>"
    "<script>document.title = innerWidth + 'x' + innerHeight</script>",
}


class _Handler(BaseHTTPRequestHandler):
    server: PageServer

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        self.server.requests.append(url.path)
        if url.path == "/login":
            user = parse_qs(url.query).get("user", ["someone"])[0]
            self._send(
                200,
                f"<title>Logged in</title>{user}",
                {"Set-Cookie": f"user={user}; Max-Age=86400; Path=/"},
            )
        elif url.path == "/whoami":
            jar = cookies.SimpleCookie(self.headers.get("Cookie", ""))
            user = jar["user"].value if "user" in jar else "anonymous"
            self._send(200, f"<title>{user}</title><p id=user>{user}</p>")
        elif url.path in PAGES:
            self._send(200, PAGES[url.path])
        else:
            self._send(404, "<title>Not found</title>")

    def _send(self, status: int, body: str, headers: dict[str, str] | None = None) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


class PageServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[str] = []
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> PageServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()
        self.server_close()
