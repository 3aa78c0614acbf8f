"""Proxies: country codes and custom proxies with credentials, through a real proxy.

The upstream is ``tests.support.proxy.AuthProxy``: a real HTTP proxy on 127.0.0.1 that
requires Basic auth and records what it saw. Browsers are real Chromium behind the real
server; pages come from local http and https servers.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import secrets
import struct
import time
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from bu_cdp import cli
from bu_cdp.cli import serve as serve_command
from bu_cdp.errors import ConfigurationError
from bu_cdp.server.app import create_app
from bu_cdp.server.config import ServerConfig
from bu_cdp.server.proxies.forwarder import ProxyForwarder
from bu_cdp.server.proxies.upstream import Upstream
from bu_cdp.server.thread import ServerThread
from tests.support.local_api import create_browser, key_header
from tests.support.pages import PageServer
from tests.support.processes import group_of
from tests.support.proxy import AuthProxy
from tests.support.tls import TlsPageServer

USER = "proxy-user-7f3a"
PASSWORD = "s3cret:Pa55/w0rd%9d"  # a colon, a slash and a percent sign: all must survive
ENCODED = quote(PASSWORD, safe="")
SECRETS = [
    USER,
    PASSWORD,
    base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode(),
    ENCODED,
    "s3cret",  # or any part of it
]


# -- the parts: an authenticating proxy, https pages, a server with a country map ----------


@pytest.fixture(scope="module")
def upstream() -> Iterator[AuthProxy]:
    with AuthProxy(USER, PASSWORD) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def tls_pages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsPageServer]:
    with TlsPageServer(tmp_path_factory.mktemp("tls")) as server:
        yield server


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture(scope="module")
def server_log() -> Iterator[list[str]]:
    """Every log line of this module's servers, at every level (bu-cdp logs under "bu_cdp")."""
    handler, root, ours = _Lines(), logging.getLogger(), logging.getLogger("bu_cdp")
    level = ours.level
    root.addHandler(handler)
    ours.setLevel(logging.DEBUG)
    yield handler.lines
    root.removeHandler(handler)
    ours.setLevel(level)


@pytest.fixture(scope="module")
def proxied(upstream: AuthProxy, closed_port: int, server_log: list[str]) -> Iterator[ServerThread]:
    """A server whose country map has a good proxy, one with a wrong password, one down."""
    proxies = {
        "US": upstream.url(),  # codes are case-insensitive
        "de": upstream.url(password="not-the-password"),
        "fr": upstream.url().replace(f":{upstream.port}", f":{closed_port}"),
    }
    config = ServerConfig(api_key=secrets.token_urlsafe(16), port=0, proxies=proxies)
    with ServerThread(config) as running:
        yield running


_connected: list[Browser] = []  # what _page connected, closed before Playwright stops


@pytest.fixture(scope="module")
def pw() -> Iterator[Playwright]:
    with sync_playwright() as playwright:
        yield playwright
        # Closed, not dropped: Playwright removes its artifacts folder of each connection then.
        while _connected:
            with contextlib.suppress(PlaywrightError):
                _connected.pop().close()


def _stop(server: ServerThread, browser_id: str) -> None:
    url = f"{server.base_url}/browsers/{browser_id}/stop"
    httpx.post(url, headers=key_header(server), timeout=60).raise_for_status()


@pytest.fixture
def browser_of(proxied: ServerThread) -> Iterator[Any]:
    """``browser_of(body)`` creates a browser (the raw answer), stopped after the test."""
    made: list[str] = []

    def create(body: dict[str, Any]) -> httpx.Response:
        answer = create_browser(proxied, body)
        assert answer.status_code == 200, answer.text
        made.append(answer.json()["id"])
        return answer

    yield create
    for browser_id in made:
        _stop(proxied, browser_id)


def _page(pw: Playwright, answer: httpx.Response, *, https: bool = False) -> Page:
    remote = pw.chromium.connect_over_cdp(answer.json()["cdp_url"])
    _connected.append(remote)
    if https:  # the test certificate is self-signed: trust it in a context of its own
        return remote.new_context(ignore_https_errors=True).new_page()
    return remote.contexts[0].pages[0]


def _authorized(upstream: AuthProxy, method: str, target: str) -> bool:
    return any(seen.authorized for seen in upstream.saw(method, target))


def _assert_no_secret(text: str | bytes, where: str) -> None:
    data = text if isinstance(text, str) else text.decode(errors="replace")
    for secret in SECRETS:
        assert secret not in data, f"{secret!r} appears in {where}"


# -- a custom proxy with credentials --------------------------------------------------------


@pytest.fixture(scope="module")
def custom(proxied: ServerThread, upstream: AuthProxy) -> Iterator[httpx.Response]:
    """One browser through ``custom_proxy`` with credentials, shared by the tests below."""
    proxy = {"host": "127.0.0.1", "port": upstream.port, "username": USER, "password": PASSWORD}
    answer = create_browser(proxied, {"custom_proxy": proxy})
    assert answer.status_code == 200, answer.text
    yield answer
    _stop(proxied, answer.json()["id"])


def test_http_page_goes_through_the_custom_proxy_with_its_credentials(
    custom: httpx.Response, upstream: AuthProxy, pages: PageServer, pw: Playwright
) -> None:
    page = _page(pw, custom)
    page.goto(pages.url + "/about")
    assert page.title() == "About us"
    assert _authorized(upstream, "GET", pages.url + "/about")


def test_https_page_is_tunnelled_through_the_custom_proxy(
    custom: httpx.Response, upstream: AuthProxy, tls_pages: TlsPageServer, pw: Playwright
) -> None:
    page = _page(pw, custom, https=True)
    page.goto(tls_pages.url + "/about")
    assert page.title() == "About us"
    assert _authorized(upstream, "CONNECT", tls_pages.url.removeprefix("https://"))


def test_credentials_appear_in_no_process_list_api_answer_or_log(
    custom: httpx.Response,
    proxied: ServerThread,
    server_log: list[str],
    pages: PageServer,
    pw: Playwright,
) -> None:
    browser_id = custom.json()["id"]
    page = _page(pw, custom)
    page.goto(pages.url + "/")  # some traffic, so the forwarder has had work to log about
    managed = proxied.manager.get(browser_id)
    assert managed.process is not None
    # The browser's processes (one process group), each read in one pass: helpers come and go.
    group = group_of(managed.process.pid, environ=True)
    assert len(group) > 1  # the browser process and its helpers
    for process in group:
        _assert_no_secret(process.cmdline, f"the command line of process {process.pid}")
        _assert_no_secret(process.environ, f"the environment of process {process.pid}")
    main_cmdline = (Path("/proc") / str(managed.process.pid) / "cmdline").read_bytes()
    # Its own forwarder: plain http over SOCKS5, the rest through CONNECT.
    assert b"--proxy-server=http=socks5://127.0.0.1:" in main_cmdline
    assert b";https=http://127.0.0.1:" in main_cmdline
    assert b"--proxy-bypass-list=<-loopback>" in main_cmdline

    _assert_no_secret(custom.text, "the create answer")
    got = httpx.get(f"{proxied.base_url}/browsers/{browser_id}", headers=key_header(proxied))
    _assert_no_secret(got.text, "the get answer")
    assert any("goes through upstream proxy" in line for line in server_log)
    _assert_no_secret("\n".join(server_log), "the server log")
    _assert_no_secret((managed.workdir / "chromium.log").read_bytes(), "Chromium's log")
    _assert_no_secret(repr(managed), "the browser's repr")


# -- country codes --------------------------------------------------------------------------


def test_country_code_routes_http_and_https_through_its_proxy(
    browser_of: Any,
    upstream: AuthProxy,
    pages: PageServer,
    tls_pages: TlsPageServer,
    pw: Playwright,
) -> None:
    answer = browser_of({"proxy_country_code": "uS"})
    page = _page(pw, answer)
    page.goto(pages.url + "/login?user=country")
    assert page.title() == "Logged in"
    assert _authorized(upstream, "GET", pages.url + "/login?user=country")

    secure = _page(pw, answer, https=True)
    secure.goto(tls_pages.url + "/whoami")
    assert secure.title() == "anonymous"
    assert _authorized(upstream, "CONNECT", tls_pages.url.removeprefix("https://"))


def test_without_a_proxy_the_browser_connects_directly(
    browser_of: Any, proxied: ServerThread, upstream: AuthProxy, pages: PageServer, pw: Playwright
) -> None:
    answer = browser_of({})
    page = _page(pw, answer)
    page.goto(pages.url + "/size")
    assert page.title()  # loaded
    assert not upstream.saw("GET", pages.url + "/size")
    process = proxied.manager.get(answer.json()["id"]).process
    assert process is not None
    assert b"--proxy-server" not in Path(f"/proc/{process.pid}/cmdline").read_bytes()


def test_code_without_a_proxy_gets_422_listing_the_configured_codes(proxied: ServerThread) -> None:
    answer = create_browser(proxied, {"proxy_country_code": "jp"})
    assert answer.status_code == 422
    error = answer.json()["detail"][0]
    assert error["loc"][-1] == "proxy_country_code"
    assert "'jp'" in error["msg"] and "de, fr, us" in error["msg"]
    assert "127.0.0.1" not in answer.text and "http://" not in answer.text
    _assert_no_secret(answer.text, "the 422 answer")


# -- failures are clear, and quick ----------------------------------------------------------


def _goto_fails_naming_the_proxy(page: Page, url: str) -> str:
    """``page.goto(url)`` raises at once, and its message says proxy; the message."""
    started = time.monotonic()
    with pytest.raises(PlaywrightError) as raised:
        page.goto(url, timeout=15_000)  # a hang would raise too, but say "Timeout"
    message = str(raised.value).splitlines()[0]
    assert "proxy" in message.lower(), message
    assert time.monotonic() - started < 10, message
    return message


def test_wrong_credentials_fail_navigations_with_a_proxy_error(
    browser_of: Any,
    upstream: AuthProxy,
    pages: PageServer,
    tls_pages: TlsPageServer,
    server_log: list[str],
    pw: Playwright,
) -> None:
    answer = browser_of({"proxy_country_code": "de"})  # the upstream refuses its password
    page = _page(pw, answer)
    # Chromium has no other proxy error for plain http (see docs/proxies.md).
    message = _goto_fails_naming_the_proxy(page, pages.url + "/about?wrong-password")
    assert "net::ERR_PROXY_CONNECTION_FAILED" in message
    assert not _authorized(upstream, "GET", pages.url + "/about?wrong-password")

    secure = _page(pw, answer, https=True)
    message = _goto_fails_naming_the_proxy(secure, tls_pages.url + "/about?wrong-password")
    assert "net::ERR_PROXY_AUTH_UNSUPPORTED" in message
    target = tls_pages.url.removeprefix("https://")
    assert any(not seen.authorized for seen in upstream.saw("CONNECT", target))  # it said no

    # The reason is in the server's log, without the password.
    assert any("refused the credentials (HTTP 407)" in line for line in server_log)
    assert not any("not-the-password" in line for line in server_log)


def test_unreachable_proxy_fails_navigations_at_once_with_a_proxy_error(
    browser_of: Any,
    pages: PageServer,
    tls_pages: TlsPageServer,
    closed_port: int,
    server_log: list[str],
    pw: Playwright,
) -> None:
    answer = browser_of({"proxy_country_code": "FR"})  # nothing listens at its port
    page = _page(pw, answer)
    message = _goto_fails_naming_the_proxy(page, pages.url + "/")
    assert "net::ERR_PROXY_CONNECTION_FAILED" in message

    secure = _page(pw, answer, https=True)
    message = _goto_fails_naming_the_proxy(secure, tls_pages.url + "/")
    assert "net::ERR_PROXY_CONNECTION_FAILED" in message

    reason = f"could not connect to the upstream proxy 127.0.0.1:{closed_port}: Connection refused"
    assert any(reason in line for line in server_log)


# -- checking what users send -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("custom_proxy", "field", "words"),
    [
        ({"port": 8080}, "host", "required"),
        ({"host": "proxy.example", "port": 0}, "port", "greater than"),
        ({"host": "proxy.example", "port": 70000}, "port", "less than"),
        ({"host": "proxy example", "port": 8080}, "host", "pattern"),
        ({"host": "proxy.example:8080", "port": 8080}, "host", "must not include a port"),
        ({"host": "h", "port": 1, "scheme": "socks5", "password": PASSWORD}, "scheme", "only http"),
        ({"host": "h", "port": 1, "username": "a:b", "password": PASSWORD}, "username", "pattern"),
        ({"host": "h", "port": 1, "pasword": PASSWORD}, "pasword", "not permitted"),
        ({"host": "h", "port": 1, "password": PASSWORD * 20}, "password", "at most 256"),
        (f"http://{USER}:{PASSWORD}@h:1", "custom_proxy", "valid dictionary"),
    ],
    ids=[
        "no-host",
        "port-0",
        "port-too-big",
        "host-with-space",
        "host-with-port",
        "socks5",
        "colon-in-username",
        "unknown-field",
        "long-password",
        "url-not-object",
    ],
)
def test_bad_custom_proxy_gets_422_naming_the_field_without_echoing_secrets(
    proxied: ServerThread, custom_proxy: Any, field: str, words: str
) -> None:
    answer = create_browser(proxied, {"custom_proxy": custom_proxy})
    assert answer.status_code == 422
    error = answer.json()["detail"][0]
    assert error["loc"][:2] == ["body", "custom_proxy"] and error["loc"][-1] == field
    assert words in error["msg"]
    _assert_no_secret(answer.text, "the 422 answer")


def test_a_country_code_and_a_custom_proxy_together_get_422(proxied: ServerThread) -> None:
    proxy = {"host": "127.0.0.1", "port": 1, "username": USER, "password": PASSWORD}
    answer = create_browser(proxied, {"proxy_country_code": "us", "custom_proxy": proxy})
    assert answer.status_code == 422
    error = answer.json()["detail"][0]
    assert error["loc"][-1] == "custom_proxy" and "not both" in error["msg"]
    _assert_no_secret(answer.text, "the 422 answer")


# -- the country map: flags, environment, file ---------------------------------------------


def test_country_map_comes_from_file_then_environment_then_flags(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    toml = tmp_path / "proxies.toml"
    toml.write_text('US = "http://file:pw@us.example:1"\nde = "http://de.example:2"\n')
    monkeypatch.setenv("BU_CDP_PROXIES", "de=http://env@de.example:3, fr=http://fr.example:4")
    args = cli.build_parser().parse_args(
        ["serve", "--proxy-file", str(toml), "--proxy", "Us=http://flag:pw@us.example:5"]
    )
    assert serve_command._proxies(args) == {
        "us": "http://flag:pw@us.example:5",
        "de": "http://env@de.example:3",
        "fr": "http://fr.example:4",
    }

    json_file = tmp_path / "proxies.json"
    json_file.write_text('{"it": "http://it.example:6"}')
    monkeypatch.delenv("BU_CDP_PROXIES")
    args = cli.build_parser().parse_args(["serve", "--proxy-file", str(json_file)])
    assert serve_command._proxies(args) == {"it": "http://it.example:6"}


@pytest.mark.parametrize(
    ("url", "words"),
    [
        (f"socks5://{USER}:{ENCODED}@proxy.example:1080", "scheme 'socks5' is not supported"),
        (f"http://{USER}:{ENCODED}@proxy.example", "has no port"),
        (f"http://{USER}:{ENCODED}@proxy.example:8080/path", "must not have a path"),
        # Not percent-encoded: a piece of the password lands where the port should be.
        (f"http://{USER}:{PASSWORD}@proxy.example:8080", "percent-encoded"),
        (f"http://{USER}:s3cret/x@proxy.example:8080", "percent-encoded"),
    ],
    ids=["socks5", "no-port", "path", "raw-colon-in-password", "raw-slash-in-password"],
)
def test_bad_proxy_urls_stop_the_server_without_showing_the_password(
    url: str, words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["serve", "--port", "0", "--proxy", f"us={url}"]) == 1
    err = capsys.readouterr().err
    assert "country code 'us'" in err and words in err
    _assert_no_secret(err, "the error message")
    with pytest.raises(ConfigurationError, match=words) as raised:
        create_app(ServerConfig(api_key="k", proxies={"us": url}))
    _assert_no_secret(str(raised.value), "the error")


# -- the forwarder on its own ---------------------------------------------------------------


def _run(test: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run an asyncio test in a thread of its own: this module's Playwright holds the loop."""
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, test()).result()


def test_forwarder_adds_the_credentials_to_each_request_on_a_kept_alive_connection() -> None:
    _run(_credentials_on_each_request)


async def _credentials_on_each_request() -> None:
    seen: list[tuple[int, str | None]] = []  # (upstream connection number, authorization)

    async def upstream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        number = len({n for n, _ in seen}) + 1
        while head := await reader.readuntil(b"\r\n\r\n"):  # until the forwarder hangs up
            lines = head.decode().split("\r\n")
            auth = next((ln.split(": ", 1)[1] for ln in lines if ln.startswith("Proxy-Auth")), None)
            seen.append((number, auth))
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()

    server = await asyncio.start_server(upstream, "127.0.0.1", 0)
    forwarder = ProxyForwarder(Upstream("127.0.0.1", server.sockets[0].getsockname()[1], "u", "p"))
    await forwarder.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", forwarder.port)
        for path in ("/one", "/two"):
            writer.write(
                f"GET http://site.example{path} HTTP/1.1\r\nHost: site.example\r\n"
                "Proxy-Authorization: Basic Y2hyb21pdW06Z3Vlc3M=\r\n\r\n".encode()
            )
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200") and await reader.readexactly(2) == b"ok"
        writer.close()
    finally:
        await forwarder.close()
        server.close()
    expected = "Basic " + base64.b64encode(b"u:p").decode()
    assert seen == [(1, expected), (1, expected)]  # one upstream connection, ours replaced


def test_forwarder_answers_504_when_the_upstream_never_answers() -> None:
    _run(_silent_upstream)


async def _silent_upstream() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # accepts, reads, never answers

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    upstream = Upstream("127.0.0.1", server.sockets[0].getsockname()[1])
    forwarder = ProxyForwarder(upstream, connect_timeout=10, answer_timeout=0.2)
    await forwarder.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", forwarder.port)
        writer.write(b"CONNECT site.example:443 HTTP/1.1\r\nHost: site.example:443\r\n\r\n")
        answer = await asyncio.wait_for(reader.read(), 10)
        writer.close()
    finally:
        await forwarder.close()
        server.close()
    assert answer.startswith(b"HTTP/1.1 504")
    assert b"did not answer within 0.2s" in answer


# -- the forwarder on its own: what Chromium is told when the upstream fails -----------------


async def _socks_connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, int]:
    """A SOCKS5 CONNECT to site.example:8080 through the forwarder: streams and reply code."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    host = b"site.example"
    greeting, request = b"\x05\x01\x00", b"\x05\x01\x00\x03" + bytes([len(host)]) + host
    writer.write(greeting + request + struct.pack("!H", 8080))
    await writer.drain()
    assert await reader.readexactly(2) == b"\x05\x00"  # no authentication
    reply = await reader.readexactly(10)
    return reader, writer, reply[1]


def test_forwarder_fails_the_connection_itself_when_the_upstream_is_unreachable(
    closed_port: int,
) -> None:
    _run(lambda: _unreachable_upstream(closed_port))


async def _unreachable_upstream(closed_port: int) -> None:
    forwarder = ProxyForwarder(Upstream("127.0.0.1", closed_port))
    await forwarder.start()
    try:
        # Plain http: the SOCKS handshake fails, so Chromium tries its fallback, the dead port.
        _, writer, code = await _socks_connect(forwarder.port)
        assert code != 0
        writer.close()
        assert f"socks5://127.0.0.1:{forwarder.dead_port}" in forwarder.proxy_server

        # A tunnel: a reset, not an answer, so Chromium falls back the same way.
        reader, writer = await asyncio.open_connection("127.0.0.1", forwarder.port)
        writer.write(b"CONNECT site.example:443 HTTP/1.1\r\nHost: site.example:443\r\n\r\n")
        with pytest.raises(ConnectionResetError):
            await asyncio.wait_for(reader.read(), 10)
        writer.close()
    finally:
        await forwarder.close()


def test_forwarder_turns_a_407_into_errors_that_cannot_wait_for_credentials() -> None:
    _run(_refusing_upstream)


async def _refusing_upstream() -> None:
    seen: list[str] = []  # the request lines the upstream got

    async def refusing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while head := await reader.readuntil(b"\r\n\r\n"):
                seen.append(head.decode().split("\r\n")[0])
                writer.write(
                    b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                    b'Proxy-Authenticate: Basic realm="t"\r\nContent-Length: 0\r\n\r\n'
                )
                await writer.drain()

    server = await asyncio.start_server(refusing, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    forwarder = ProxyForwarder(Upstream("127.0.0.1", port, "u", "wrong"))
    await forwarder.start()
    try:
        # Plain http: the request goes upstream with the whole URL; the 407 becomes a 421,
        # which Chromium sends once more, on a new connection ...
        reader, writer, code = await _socks_connect(forwarder.port)
        assert code == 0
        writer.write(b"GET /page?q=1 HTTP/1.1\r\nHost: site.example:8080\r\n\r\n")
        answer = await asyncio.wait_for(reader.read(), 10)
        writer.close()
        assert answer.startswith(b"HTTP/1.1 421 ")
        assert b"refused the credentials (HTTP 407)" in answer
        assert seen == ["GET http://site.example:8080/page?q=1 HTTP/1.1"]
        # ... whose handshake now fails, without asking the upstream again.
        _, writer, code = await _socks_connect(forwarder.port)
        assert code != 0
        writer.close()
        assert len(seen) == 1

        # A tunnel: a 407 without Proxy-Authenticate, so Chromium has nothing to wait for.
        reader, writer = await asyncio.open_connection("127.0.0.1", forwarder.port)
        writer.write(b"CONNECT site.example:443 HTTP/1.1\r\nHost: site.example:443\r\n\r\n")
        answer = await asyncio.wait_for(reader.read(), 10)
        writer.close()
        assert answer.startswith(b"HTTP/1.1 407 ")
        assert b"proxy-authenticate" not in answer.lower()
    finally:
        await forwarder.close()
        server.close()
