"""Chromium's DevTools on a pipe only the server holds: no port, one session per client.

Real Chromium behind the real server (ServerThread); clients are Playwright and plain
websockets, as users connect.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import sync_playwright
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from bu_cdp.models import Browser
from bu_cdp.server.relay.cdp_socket import MAX_CLIENTS_PER_BROWSER
from bu_cdp.server.thread import ServerThread
from tests.support.local_api import client_for, key_header
from tests.support.processes import group_of
from tests.support.waiting import wait_until


class RawCdp:
    """A plain websocket CDP client: commands by id, events kept in order."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.events: list[dict[str, Any]] = []
        self._ids = itertools.count(1)

    def answer(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> dict[str, Any]:
        """The whole answer (``result`` or ``error``) to one command."""
        message_id = next(self._ids)
        message: dict[str, Any] = {"id": message_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        self.ws.send(json.dumps(message))
        while True:
            received = json.loads(self.ws.recv(timeout=30))
            if received.get("id") == message_id:
                return dict(received)
            self.events.append(received)

    def call(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> dict[str, Any]:
        answer = self.answer(method, params, session)
        assert "error" not in answer, answer
        if session is None:  # the client's own (browser) session stays unseen
            assert "sessionId" not in answer, answer
        result: dict[str, Any] = answer["result"]
        return result

    def wait_event(self, method: str) -> dict[str, Any]:
        for event in self.events:
            if event.get("method") == method:
                self.events.remove(event)
                return event
        while True:
            received = json.loads(self.ws.recv(timeout=30))
            if received.get("method") == method:
                return dict(received)
            self.events.append(received)


@pytest.fixture
def raw_cdp(browser: Browser) -> Iterator[RawCdp]:
    with connect(browser.cdp_url or "", max_size=None, open_timeout=10) as ws:
        yield RawCdp(ws)


@pytest.fixture
def browser(server: ServerThread) -> Iterator[Browser]:
    with client_for(server) as client:
        created = client.browsers.create(timeout=5)
        yield created
        client.browsers.stop(created.id or "")


def _listening_inodes() -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A":  # TCP_LISTEN
                inodes.add(fields[9])
    return inodes


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            target = os.readlink(f"/proc/{pid}/fd/{fd}") if fd else ""
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    except FileNotFoundError:  # a helper that ended meanwhile
        pass
    return inodes


def test_no_chromium_process_owns_a_listening_tcp_socket(
    server: ServerThread, browser: Browser
) -> None:
    process = server.manager.get(browser.id or "").process
    assert process is not None
    chromiums = group_of(process.pid)
    assert any("--remote-debugging-pipe" in p.command for p in chromiums), chromiums
    owned = set().union(*(_socket_inodes(p.pid) for p in chromiums))
    assert owned, "Chromium's processes hold no sockets at all: the scan read nothing"
    assert not owned & _listening_inodes(), "a Chromium process listens on a TCP port"
    assert not (
        Path(server.manager.get(browser.id or "").user_data_dir) / "DevToolsActivePort"
    ).exists()


def test_two_playwright_clients_at_once_and_one_leaving_spares_the_other(
    browser: Browser, raw_cdp: RawCdp
) -> None:
    url = browser.cdp_url or ""
    contexts_before = len(raw_cdp.call("Target.getBrowserContexts")["browserContextIds"])
    with sync_playwright() as pw:
        first = pw.chromium.connect_over_cdp(url)
        second = pw.chromium.connect_over_cdp(url)
        first_page = first.new_context().new_page()
        second_page = second.new_context().new_page()
        first_page.set_content("<title>first</title>")
        second_page.set_content("<title>second</title>")
        assert (first_page.title(), second_page.title()) == ("first", "second")
        contexts = raw_cdp.call("Target.getBrowserContexts")["browserContextIds"]
        assert len(contexts) == contexts_before + 2
        first.close()
        # What the first client created went with it; the second is untouched.
        wait_until(
            lambda: (
                len(raw_cdp.call("Target.getBrowserContexts")["browserContextIds"])
                == contexts_before + 1
            ),
            30,
            "the first client's context to be disposed of",
        )
        assert second_page.evaluate("document.title") == "second"
        second_page.set_content("<title>still here</title>")
        assert second_page.title() == "still here"
        second.close()


def test_a_client_cannot_use_another_clients_session(browser: Browser, raw_cdp: RawCdp) -> None:
    raw_cdp.call(
        "Target.setAutoAttach",
        {"autoAttach": True, "waitForDebuggerOnStart": False, "flatten": True},
    )
    attached = raw_cdp.wait_event("Target.attachedToTarget")
    while attached["params"]["targetInfo"]["type"] != "page":
        attached = raw_cdp.wait_event("Target.attachedToTarget")
    page_session = attached["params"]["sessionId"]
    assert "sessionId" not in attached  # on the client's own (browser) session, as Chromium's
    assert (
        raw_cdp.call("Runtime.evaluate", {"expression": "6 * 7"}, page_session)["result"]["value"]
        == 42
    )
    with connect(browser.cdp_url or "", open_timeout=10) as other_ws:
        other = RawCdp(other_ws)
        refused = other.answer("Runtime.evaluate", {"expression": "1"}, page_session)
        assert refused["error"]["message"] == "Session with given id not found."
        # Its own auto-attach is its own: the first client's stays as it was.
        other.call(
            "Target.setAutoAttach",
            {"autoAttach": False, "waitForDebuggerOnStart": False, "flatten": True},
        )
    assert (
        raw_cdp.call("Runtime.evaluate", {"expression": "1 + 1"}, page_session)["result"]["value"]
        == 2
    )


def test_browser_close_from_a_client_stops_the_browser(
    server: ServerThread, raw_cdp: RawCdp, browser: Browser
) -> None:
    crashes_before = server.manager.snapshot()["crashes"]
    assert raw_cdp.call("Browser.close") == {}

    def ended() -> dict[str, Any] | None:
        url = f"{server.base_url}/browsers/{browser.id}"
        answer: dict[str, Any] = httpx.get(url, headers=key_header(server)).json()
        return answer if answer["status"] != "active" else None

    wait_until(ended, 30, "the browser to end")
    stopped = ended()
    assert stopped is not None
    assert stopped["status"] == "stopped", stopped
    assert "Browser.close" in (server.manager.get(browser.id or "").reason or "")
    assert server.manager.snapshot()["crashes"] == crashes_before


DOWNLOAD = (
    "const a = document.createElement('a');"
    "a.href = 'data:text/plain,kept%20inside'; a.download = 'note.txt';"
    "document.body.appendChild(a); a.click();"
)


def test_downloads_outside_the_browsers_folder_are_kept_inside_it(
    server: ServerThread, browser: Browser, raw_cdp: RawCdp, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    raw_cdp.call(
        "Browser.setDownloadBehavior",
        {"behavior": "allow", "downloadPath": str(elsewhere), "eventsEnabled": True},
    )
    page = raw_cdp.call("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = raw_cdp.call("Target.attachToTarget", {"targetId": page, "flatten": True})[
        "sessionId"
    ]
    raw_cdp.call("Runtime.evaluate", {"expression": DOWNLOAD}, session)
    while raw_cdp.wait_event("Browser.downloadProgress")["params"]["state"] != "completed":
        pass
    workdir = server.manager.get(browser.id or "").workdir
    assert list(elsewhere.iterdir()) == []
    assert (workdir / "downloads" / "note.txt").read_text() == "kept inside"


def test_one_browser_takes_a_bounded_number_of_cdp_connections(browser: Browser) -> None:
    url = browser.cdp_url or ""
    opened = [connect(url, open_timeout=10) for _ in range(MAX_CLIENTS_PER_BROWSER)]
    try:
        with pytest.raises(InvalidStatus) as refused:
            connect(url, open_timeout=10)
        assert refused.value.response.status_code == 429
        assert b"close one first" in refused.value.response.body
        opened.pop().close()  # one leaves: its place is free again
        found: list[ClientConnection] = []
        wait_until(lambda: _connected(url, found), 10, "a free place for a CDP connection")
        opened.extend(found)
        assert RawCdp(found[0]).call("Browser.getVersion")["product"]
    finally:
        for ws in opened:
            ws.close()


def _connected(url: str, found: list[ClientConnection]) -> bool:
    try:
        found.append(connect(url, open_timeout=10))
    except InvalidStatus:
        return False
    return True
