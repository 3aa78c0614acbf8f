"""An upstream proxy that accepts connections and never answers fails the page, not hangs it."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import sync_playwright

from bu_cdp.server.thread import ServerThread
from tests.support.local_api import client_for
from tests.support.pages import PageServer


class SilentProxy:
    """A TCP server on 127.0.0.1 that accepts every connection, reads, and says nothing."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self.accepted = 0

    @property
    def port(self) -> int:
        port: int = self._listener.getsockname()[1]
        return port

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            self._held.append(connection)  # kept open, never written to
            self.accepted += 1

    def __enter__(self) -> SilentProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(5)
        for connection in self._held:
            connection.close()
        self._listener.close()


@pytest.fixture
def silent() -> Iterator[SilentProxy]:
    with SilentProxy() as proxy:
        yield proxy


def test_a_proxy_that_never_answers_fails_a_plain_http_page_with_a_proxy_error(
    make_server: Callable[..., ServerThread], pages: PageServer, silent: SilentProxy
) -> None:
    # The forwarder waits three times the connect timeout for an answer to start.
    server = make_server(proxy_connect_timeout=0.5)
    with client_for(server) as client:
        browser = client.browsers.create(
            custom_proxy={"host": "127.0.0.1", "port": silent.port}, timeout=5
        )
        try:
            with sync_playwright() as pw:
                remote = pw.chromium.connect_over_cdp(browser.cdp_url or "")
                page = remote.contexts[0].pages[0]
                response = page.goto(pages.url + "/", timeout=30_000)
                assert response is not None and response.status == 504
                assert page.title().startswith("bu-cdp proxy error")
                assert "did not answer within 1.5s" in page.content()
                remote.close()
        finally:
            client.browsers.stop(browser.id or "")
    assert silent.accepted >= 1  # it did reach the silent proxy
